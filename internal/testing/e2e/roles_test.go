package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRoles runs the binary with auth scram-sha-256 and one configured
// user, who creates roles in SQL; the roles then log in with psql and pgx.
func TestRoles(t *testing.T) {
	const adminPassword = "admin pass"
	const rolePassword = "r0le-s3cret"
	const newPassword = "n3w-s3cret"
	dir := t.TempDir()
	pw := exec.Command(gatewayBin, "password")
	pw.Stdin = strings.NewReader(adminPassword + "\n")
	out, err := pw.Output()
	if err != nil {
		t.Fatalf("gateway password: %v", err)
	}
	verifier := strings.TrimSpace(string(out))

	connString := func(port int, user, password string) string {
		return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/sluice?sslmode=disable&connect_timeout=5",
			url.PathEscape(user), url.PathEscape(password), port)
	}
	s := startSecureServer(t, dir, fmt.Sprintf(`
data_dir: %s
threads: 1
auth: scram-sha-256
users:
  - name: admin
    password: %s
`, filepath.Join(dir, "data"), verifier),
		func(port int) string { return connString(port, "admin", adminPassword) })

	admin, err := pgx.Connect(t.Context(), s.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	run := func(sql string) error {
		_, err := admin.Exec(t.Context(), sql)
		return err
	}
	wantState := func(t *testing.T, err error, code string) {
		t.Helper()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != code {
			t.Fatalf("got %v, want SQLSTATE %s", err, code)
		}
	}
	login := func(user, password string) (*pgx.Conn, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		return pgx.Connect(ctx, connString(s.Port, user, password))
	}

	// Both protocols: pgx sends CREATE ROLE in the extended protocol by
	// default, psql in the simple one.
	if err := run("CREATE ROLE app LOGIN PASSWORD '" + rolePassword + "'"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(t.Context(), "CREATE USER idle PASSWORD '"+rolePassword+"' NOLOGIN", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}

	t.Run("a configured user's name is taken", func(t *testing.T) {
		wantState(t, run("CREATE ROLE admin PASSWORD 'x'"), "42710")
		wantState(t, run("ALTER ROLE admin PASSWORD 'x'"), "0A000")
		if err := run("SELECT 1"); err != nil {
			t.Fatalf("the connection is unusable after the errors: %v", err)
		}
	})
	t.Run("pgx logs in as the role", func(t *testing.T) {
		c, err := login("app", rolePassword)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		var user string
		if err := c.QueryRow(t.Context(), "SELECT $1::text", "ok").Scan(&user); err != nil || user != "ok" {
			t.Fatalf("query as app: %q %v", user, err)
		}
	})
	t.Run("psql logs in as the role", func(t *testing.T) {
		stdout, stderr, err := rolePsql(t, s.Port, "app", rolePassword, "sslmode=disable", "-c", "SELECT 40 + 2")
		if err != nil || strings.TrimSpace(stdout) != "42" {
			t.Fatalf("psql: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := login("app", "wrong")
		wantState(t, err, "28P01")
		_, stderr, err := rolePsql(t, s.Port, "app", "wrong", "sslmode=disable", "-c", "SELECT 1")
		if err == nil || !strings.Contains(stderr, `password authentication failed for user "app"`) {
			t.Fatalf("psql with a wrong password: %v\n%s", err, stderr)
		}
	})
	t.Run("NOLOGIN", func(t *testing.T) {
		_, err := login("idle", rolePassword)
		wantState(t, err, "28000")
	})
	t.Run("ALTER ROLE changes the password", func(t *testing.T) {
		if err := run("ALTER ROLE app PASSWORD '" + newPassword + "'"); err != nil {
			t.Fatal(err)
		}
		_, err := login("app", rolePassword)
		wantState(t, err, "28P01")
		c, err := login("app", newPassword)
		if err != nil {
			t.Fatal(err)
		}
		c.Close(context.Background())
	})
	t.Run("a role may change its own password", func(t *testing.T) {
		c, err := login("app", newPassword)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(t.Context(), "ALTER USER CURRENT_USER PASSWORD '"+rolePassword+"'"); err != nil {
			t.Fatal(err)
		}
		_, err = c.Exec(t.Context(), "DROP ROLE app")
		wantState(t, err, "55006")
		c2, err := login("app", rolePassword)
		if err != nil {
			t.Fatal(err)
		}
		c2.Close(context.Background())
	})
	t.Run("DROP ROLE", func(t *testing.T) {
		if err := run("DROP ROLE app, idle"); err != nil {
			t.Fatal(err)
		}
		_, err := login("app", rolePassword)
		wantState(t, err, "28P01")
	})

	admin.Close(context.Background())
	s.Stop(t)
	logs := s.Log.String()
	if !strings.Contains(logs, "authentication failed") {
		t.Fatalf("the failed logins were not logged:\n%s", logs)
	}
	for _, secret := range []string{rolePassword, newPassword, adminPassword, "wrong", verifier} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the gateway's log holds %q:\n%s", secret, logs)
		}
	}
}

// rolePsql runs psql as user with password (PGPASSWORD) against the
// gateway on port.
func rolePsql(t *testing.T, port int, user, password, extra string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=sluice %s", port, user, extra)
	cmd := exec.CommandContext(ctx, psqlPath(t), append([]string{"-X", "-A", "-t", conninfo}, args...)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=10", "PAGER=", "PSQL_PAGER=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
