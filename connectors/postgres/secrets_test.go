package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestDisplayDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw%21x@h:5432/db?sslmode=require":         "postgres://u:********@h:5432/db?sslmode=require",
		"postgres://u@h/db":                                     "postgres://u@h/db",
		"postgres://h/db?sslmode=disable":                       "postgres://h/db?sslmode=disable",
		"postgresql://u@h/db?password=s3cret&sslmode=none":      "postgresql://u@h/db?password=********&sslmode=none",
		"postgres://u:a@b@h1:5432,h2:5432/db?sslpassword=k&x=1": "postgres://u:********@h1:5432,h2:5432/db?sslpassword=********&x=1",
		"postgres://u:p@h/db?application_name=a@b":              "postgres://u:********@b", // an '@' in the query masks more, never less
		"host=h user=u password=s3cret dbname=d":                "host=h user=u password=******** dbname=d",
		"host=h password = 'a b\\' c'   dbname='my db'":         "host=h password=******** dbname='my db'",
		"  host=h  ":                    "host=h",
		"host=h password='unterminated": "********",
		"not a dsn at all":              "********",
		"host=h PassWord=x":             "host=h PassWord=********",
	} {
		if got := DisplayDSN(in); got != want {
			t.Errorf("DisplayDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

var hbaOnce sync.Once

// passwordRole makes a role that must log in over TCP with its SCRAM
// password (the cluster trusts everyone else), and returns the URL of the
// cluster without a password.
func passwordRole(t *testing.T, role, password string) string {
	t.Helper()
	url := server(t)
	hbaOnce.Do(func() {
		hba := filepath.Join(pgDir, "data", "pg_hba.conf")
		old, err := os.ReadFile(hba)
		if err != nil {
			t.Fatal(err)
		}
		rule := fmt.Sprintf("host all %s 127.0.0.1/32 scram-sha-256\n", role)
		if err := os.WriteFile(hba, append([]byte(rule), old...), 0o600); err != nil {
			t.Fatal(err)
		}
		exec(t, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, password),
			"CREATE TABLE pw_rows (id int PRIMARY KEY, v text)",
			"INSERT INTO pw_rows VALUES (1, 'one'), (2, 'two')",
			"GRANT SELECT ON pw_rows TO "+role,
			"SELECT pg_reload_conf()")
	})
	return strings.Replace(url, "postgres@", role+"@", 1)
}

// TestPasswordOption reads with option password, set on the connection
// configuration, against a server that checks it.
func TestPasswordOption(t *testing.T) {
	const secret = "Opt-S3cret-Pw-93b1"
	url := passwordRole(t, "pw_reader", secret)
	var logs bytes.Buffer
	cfg := func(opts map[string]string) connectors.Config {
		c := config(opts)
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		return c
	}
	ctx := context.Background()

	src, err := Connector{}.Open(ctx, cfg(map[string]string{"dsn": url, "password": secret, "table": "pw_rows", "cursor_column": "id"}))
	if err != nil {
		t.Fatal(err)
	}
	if n := rows(readAll(t, src, "", "")); n != 2 {
		t.Fatalf("read %d rows, want 2", n)
	}
	src.Close()

	// Without it, or with a wrong one: the server refuses (28P01), and no
	// error nor log line shows what was sent.
	for _, pw := range []string{"", "wrong-" + secret} {
		opts := map[string]string{"dsn": url, "table": "pw_rows"}
		if pw != "" {
			opts["password"] = pw
		}
		_, err := Connector{}.Open(ctx, cfg(opts))
		if err == nil {
			t.Fatalf("password %q: no error", pw)
		}
		if code := pgerr.Code(err); code != pgerrcode.InvalidPassword && code != pgerrcode.SQLClientUnableToEstablishSQLConnection {
			t.Errorf("password %q: %v (%s)", pw, err, code)
		}
		pe := pgerr.As(err)
		if strings.Contains(pe.Message+pe.Detail+pe.Hint, secret) {
			t.Errorf("the error shows the password: %v", err)
		}
	}

	// A server message that quotes it, and a server that is not there.
	for _, opts := range []map[string]string{
		{"dsn": url, "password": secret, "query": "SELECT '" + secret + "'::int"},
		{"dsn": fmt.Sprintf("postgres://pw_reader@127.0.0.1:%d/postgres?sslmode=disable", closedPort(t)), "password": secret, "table": "pw_rows"},
	} {
		src, err := Connector{}.Open(ctx, cfg(opts))
		if err == nil {
			err = readErr(src)
			src.Close()
		}
		if err == nil || strings.Contains(err.Error(), secret) || pgerr.Code(err) == pgerrcode.InternalError {
			t.Errorf("%v: want an error with a SQLSTATE that does not show the password", err)
		}
	}

	// The password in one place only.
	_, err = Connector{}.Open(ctx, cfg(map[string]string{"dsn": strings.Replace(url, "pw_reader@", "pw_reader:"+secret+"@", 1), "password": secret, "table": "pw_rows"}))
	if pgerr.Code(err) != pgerrcode.InvalidParameterValue || strings.Contains(err.Error(), secret) {
		t.Errorf("dsn with a password and option password: %v", err)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log shows the password:\n%s", logs.String())
	}
}
