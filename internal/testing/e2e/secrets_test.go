package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/testing/testpg"
	"github.com/sluice-db/sluice/internal/testing/testserver"
)

// The secret values of TestSecrets: none of them may appear in what a
// client can read back, in an error, or in the gateway's log.
const (
	e2ePassword = "Pg-Pw-e2e-5b7d21"
	e2eToken    = "Api-Tok-e2e-9c44e0"
)

// startSecretsServer starts the binary with a config file naming the
// secrets key file, the test's environment variables added.
func startSecretsServer(t *testing.T, dir, keyFile string, env ...string) *server {
	t.Helper()
	file := filepath.Join(dir, "sluice.yaml")
	p := testserver.Start(t, testserver.Options{
		Bin: gatewayBin,
		Dir: repoRoot,
		Args: func(port int) []string {
			text := fmt.Sprintf("listen: 127.0.0.1:%d\nlog_level: debug\ndata_dir: %s\nthreads: 1\nsecrets:\n  key_file: %s\n",
				port, filepath.Join(dir, "data"), keyFile)
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"serve", "--config", file}
		},
		Ready: pingReady(trustConnString),
		Env:   env,
	})
	return &server{Process: p, DataDir: filepath.Join(dir, "data")}
}

func writeKey(t *testing.T, path string) {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantSQLState runs sql and checks that it fails with code (and a message
// holding msg), without showing a secret.
func wantSQLState(t *testing.T, conn *pgx.Conn, sql, code, msg string) {
	t.Helper()
	_, err := conn.Exec(t.Context(), sql)
	var pe *pgconn.PgError
	if !asPgError(err, &pe) || pe.Code != code || !strings.Contains(pe.Message, msg) {
		t.Fatalf("%s: got %v, want %s %q", sql, err, code, msg)
	}
	for _, s := range []string{e2ePassword, e2eToken} {
		if strings.Contains(pe.Message+pe.Detail+pe.Hint, s) {
			t.Fatalf("%s: the error shows a secret: %+v", sql, pe)
		}
	}
	if got := mustQueryText(t, conn, `SELECT 1`); got[0][0] != "1" {
		t.Fatal("session unusable")
	}
}

// wantScanError is wantSQLState for a query that reopens a source: the
// error crosses DuckDB's table function and keeps its SQLSTATE.
func wantScanError(t *testing.T, conn *pgx.Conn, sql, code, msg string) {
	t.Helper()
	wantSQLState(t, conn, sql, code, msg)
}

// noSecrets checks that nothing a client reads from the catalog holds a
// secret value.
func noSecrets(t *testing.T, conn *pgx.Conn, what string, queries ...string) {
	t.Helper()
	for _, q := range queries {
		got := fmt.Sprint(mustQueryText(t, conn, q))
		for _, s := range []string{e2ePassword, e2eToken} {
			if strings.Contains(got, s) {
				t.Fatalf("%s: %s shows a secret:\n%s", what, q, got)
			}
		}
	}
}

// TestSecrets reads a real PostgreSQL that checks passwords and an HTTP
// server that checks a bearer token, with the credentials given as a
// secret, the gateway's environment, a file and in clear: every source
// reads, no catalog relation, SHOW, EXPLAIN, error or log line shows a
// secret, the sources reopen after a restart, DROP SECRET respects its
// users and ALTER SECRET takes effect at the next open.
func TestSecrets(t *testing.T) {
	if msg := testpg.Missing(); msg != "" {
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "sluice-e2e-secrets-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // as root the cluster runs as user postgres
		t.Fatal(err)
	}
	pg, err := testpg.Start(filepath.Join(dir, "pg"))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	ctx := context.Background()
	up, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close(ctx)
	// Role reader must log in with its password; everyone else is trusted.
	hba := filepath.Join(pg.Dir, "data", "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hba, append([]byte("host all reader 127.0.0.1/32 scram-sha-256\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE ROLE reader LOGIN PASSWORD '` + e2ePassword + `'`,
		`CREATE TABLE items (id int PRIMARY KEY, name text)`,
		`INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 25) i`,
		`GRANT SELECT ON items TO reader`,
		`SELECT pg_reload_conf()`,
	} {
		if _, err := up.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	readerURL := fmt.Sprintf("postgres://reader@127.0.0.1:%d/postgres?sslmode=disable", pg.Port)
	if c, err := pgx.Connect(ctx, readerURL); err == nil { // the server really checks
		c.Close(ctx)
		t.Fatal("reader connected without a password")
	}

	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+e2eToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		for i := 1; i <= 7; i++ {
			fmt.Fprintf(w, `{"id": %d, "name": "row %d"}`+"\n", i, i)
		}
	}))
	defer api.Close()

	keyFile, otherKey := filepath.Join(dir, "secrets.key"), filepath.Join(dir, "other.key")
	writeKey(t, keyFile)
	writeKey(t, otherKey)
	pwFile := filepath.Join(dir, "pgpw")
	if err := os.WriteFile(pwFile, []byte(e2ePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"E2E_PGPW=" + e2ePassword}
	s := startSecretsServer(t, dir, keyFile, env...)
	conn := s.Connect(t)

	mustExec(t, conn, `CREATE SECRET pgpw AS '`+e2ePassword+`'`)
	mustExec(t, conn, `CREATE SCHEMA ops`)
	mustExec(t, conn, `CREATE SECRET ops.api_token AS '`+e2eToken+`'`)
	mustExec(t, conn, `CREATE SECRET IF NOT EXISTS pgpw AS 'ignored'`)
	wantSQLState(t, conn, `CREATE SECRET pgpw AS 'x'`, "42710", `secret "pgpw" already exists`)
	sources := map[string]string{
		"pg_secret": `CREATE SOURCE pg_secret FROM POSTGRES WITH (dsn = '` + readerURL + `', password = SECRET pgpw, table = 'items')`,
		"pg_env":    `CREATE SOURCE pg_env FROM POSTGRES WITH (dsn = '` + readerURL + `', password_env = 'E2E_PGPW', table = 'items')`,
		"pg_file":   `CREATE SOURCE pg_file FROM POSTGRES WITH (dsn = '` + readerURL + `', password_file = '` + pwFile + `', table = 'items')`,
		"pg_plain": fmt.Sprintf(`CREATE SOURCE pg_plain FROM POSTGRES WITH (dsn = 'postgres://reader:%s@127.0.0.1:%d/postgres?sslmode=disable', table = 'items')`,
			e2ePassword, pg.Port),
		"pg_plainpw": `CREATE SOURCE pg_plainpw FROM POSTGRES WITH (dsn = '` + readerURL + `', password = '` + e2ePassword + `', table = 'items')`,
		"api":        `CREATE SOURCE api FROM HTTP '` + api.URL + `/items.json' WITH (bearer_token = SECRET ops.api_token)`,
	}
	for _, q := range sources {
		mustExec(t, conn, q)
	}
	counts := func(t *testing.T, conn *pgx.Conn) {
		t.Helper()
		for name, want := range map[string]string{"pg_secret": "25", "pg_env": "25", "pg_file": "25", "pg_plain": "25", "pg_plainpw": "25", "api": "7"} {
			if got := mustQueryText(t, conn, `SELECT count(*) FROM `+name); got[0][0] != want {
				t.Errorf("%s: %s rows, want %s", name, got[0][0], want)
			}
		}
	}
	counts(t, conn)

	// What the catalog shows: references and masks only.
	got := mustQueryText(t, conn, `SELECT name, k, v FROM (SELECT name, unnest(map_keys(options)) AS k, unnest(map_values(options)) AS v FROM sluice.sources)
		WHERE k IN ('password', 'dsn', 'bearer_token') ORDER BY name, k`)
	want := [][]string{
		{"api", "bearer_token", "SECRET ops.api_token"},
		{"pg_env", "dsn", readerURL}, {"pg_env", "password", "env:E2E_PGPW"},
		{"pg_file", "dsn", readerURL}, {"pg_file", "password", "file:" + pwFile},
		{"pg_plain", "dsn", fmt.Sprintf("postgres://reader:********@127.0.0.1:%d/postgres?sslmode=disable", pg.Port)},
		{"pg_plainpw", "dsn", readerURL}, {"pg_plainpw", "password", "********"},
		{"pg_secret", "dsn", readerURL}, {"pg_secret", "password", "SECRET pgpw"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sluice.sources options:\n got %v\nwant %v", got, want)
	}
	mustExec(t, conn, `CREATE MATERIALIZED VIEW item_names AS SELECT s.id, s.name, a.name AS api_name FROM pg_secret s LEFT JOIN api a USING (id)`)
	shown := func(what string) {
		noSecrets(t, conn, what,
			`SELECT * FROM sluice.sources`, `SHOW SOURCES`, `EXPLAIN REFRESH item_names`,
			`SELECT * FROM sluice_catalog.source_credentials`, `SELECT schema, name, owner, key_id, ciphertext::VARCHAR FROM sluice_catalog.secrets`,
			`SELECT * FROM sluice.runs`, `SELECT * FROM sluice.dependencies`,
			`SELECT sql FROM duckdb_views()`, `SELECT * FROM information_schema.views`)
	}
	shown("after CREATE")
	if got := mustQueryText(t, conn, `SELECT schema, name, owner FROM sluice.secrets ORDER BY 1, 2`); fmt.Sprint(got) != "[[ops api_token sluice] [public pgpw sluice]]" {
		t.Errorf("sluice.secrets: %v", got)
	}

	// Error paths: a clear SQLSTATE, the session usable, nothing stored.
	before := mustQueryText(t, conn, `SELECT (SELECT count(*) FROM sluice.sources), (SELECT count(*) FROM sluice_catalog.source_credentials)`)
	wantSQLState(t, conn, `CREATE SOURCE bad FROM POSTGRES WITH (dsn = '`+readerURL+`', password = SECRET nope, table = 'items')`, "42704", `secret "nope" does not exist`)
	wantSQLState(t, conn, `CREATE SOURCE bad FROM POSTGRES WITH (dsn = '`+readerURL+`', password = SECRET pgpw, password_env = 'E2E_PGPW', table = 'items')`, "42601", "conflicting or redundant options")
	wantSQLState(t, conn, `CREATE SOURCE bad FROM POSTGRES WITH (dsn = '`+readerURL+`', password = 'wrong-`+e2ePassword+`', table = 'items')`, "28P01", "password authentication failed")
	wantSQLState(t, conn, `CREATE SOURCE bad FROM POSTGRES WITH (dsn = '`+readerURL+`', password_env = 'E2E_UNSET', table = 'items')`, "22023", `"E2E_UNSET" is not set`)
	wantSQLState(t, conn, `CREATE SOURCE bad FROM POSTGRES WITH (dsn = '`+readerURL+`', password_env = 'SLUICE_CONFIG', table = 'items')`, "42501", "gateway's own configuration")
	wantSQLState(t, conn, `CREATE SOURCE bad FROM POSTGRES WITH (dsn = '`+readerURL+`', password_file = 'pgpw', table = 'items')`, "22023", "not an absolute path")
	wantSQLState(t, conn, `CREATE SOURCE bad FROM POSTGRES WITH (dsn = '`+readerURL+`', password_file = '`+keyFile+`', table = 'items')`, "42501", "the gateway's own secret files")
	wantSQLState(t, conn, `CREATE SOURCE bad FROM POSTGRES WITH (dsn = '`+readerURL+`', table = SECRET pgpw)`, "22023", `option "table" does not take a secret reference`)
	wantSQLState(t, conn, `CREATE SOURCE bad FROM HTTP '`+api.URL+`/items.json' WITH (bearer_token = SECRET pgpw)`, "28000", "401")
	wantSQLState(t, conn, `CREATE SECRET s3 (TYPE s3, KEY_ID 'k', SECRET 'v')`, "0A000", "DuckDB's CREATE SECRET")
	wantSQLState(t, conn, `CREATE SECRET x AS`, "42601", "syntax error")
	wantSQLState(t, conn, `CREATE SECRET nosuch.x AS 'v'`, "3F000", `schema "nosuch" does not exist`)
	if after := mustQueryText(t, conn, `SELECT (SELECT count(*) FROM sluice.sources), (SELECT count(*) FROM sluice_catalog.source_credentials)`); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("failed statements stored something: %v, before %v", after, before)
	}

	// A secret in use cannot be dropped; IF EXISTS skips what is missing.
	wantSQLState(t, conn, `DROP SECRET pgpw`, "2BP01", "cannot drop secret pgpw because other objects depend on it")
	wantSQLState(t, conn, `DROP SECRET nope`, "42704", `secret "nope" does not exist`)
	mustExec(t, conn, `DROP SECRET IF EXISTS nope`)

	// ALTER SECRET: the sources using it reopen with the new value.
	mustExec(t, conn, `ALTER SECRET pgpw AS 'wrong-`+e2ePassword+`'`)
	wantScanError(t, conn, `SELECT count(*) FROM pg_secret`, "28P01", `password authentication failed for user "reader"`)
	mustExec(t, conn, `ALTER SECRET pgpw AS '`+e2ePassword+`'`)
	if got := mustQueryText(t, conn, `SELECT count(*) FROM pg_secret`); got[0][0] != "25" {
		t.Errorf("after ALTER SECRET back: %v", got)
	}
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW item_names`)
	shown("after ALTER and REFRESH")
	conn.Close(ctx)

	// A restart reopens every source with its credentials resolved again.
	s.Stop(t)
	checkLog(t, s, keyFile, otherKey)
	s = startSecretsServer(t, dir, keyFile, env...)
	conn = s.Connect(t)
	counts(t, conn)
	shown("after a restart")
	conn.Close(ctx)
	s.Stop(t)
	checkLog(t, s, keyFile, otherKey)

	// Another key: the sources whose credentials it sealed fail clearly;
	// the others still read.
	s = startSecretsServer(t, dir, otherKey, env...)
	conn = s.Connect(t)
	wantScanError(t, conn, `SELECT count(*) FROM pg_secret`, "55000", `secret "pgpw" was encrypted with another secrets key`)
	wantScanError(t, conn, `SELECT count(*) FROM pg_plain`, "55000", `the stored value of option "dsn" of source`)
	if got := mustQueryText(t, conn, `SELECT count(*) FROM pg_env`); got[0][0] != "25" {
		t.Errorf("pg_env with another key: %v", got)
	}
	conn.Close(ctx)
	s.Stop(t)
	checkLog(t, s, keyFile, otherKey)

	s = startSecretsServer(t, dir, keyFile, env...)
	conn = s.Connect(t)
	// DROP SECRET ... CASCADE drops the sources using it, and what reads them.
	mustExec(t, conn, `DROP SECRET ops.api_token CASCADE`)
	if got := mustQueryText(t, conn, `SELECT name FROM sluice.sources WHERE name = 'api' UNION ALL SELECT name FROM sluice.materialized_views UNION ALL SELECT name FROM sluice.secrets`); fmt.Sprint(got) != "[[pgpw]]" {
		t.Errorf("after DROP SECRET ... CASCADE: %v", got)
	}
	mustExec(t, conn, `DROP SOURCE pg_secret`)
	mustExec(t, conn, `DROP SECRET pgpw`)
	left := mustQueryText(t, conn, `SELECT (SELECT count(*) FROM sluice.secrets), (SELECT count(*) FROM sluice_catalog.source_credentials)`)
	if fmt.Sprint(left) != "[[0 4]]" { // pg_env, pg_file, pg_plain, pg_plainpw
		t.Errorf("secrets and credentials left: %v", left)
	}
	conn.Close(ctx)
	s.Stop(t)
	checkLog(t, s, keyFile, otherKey)
}

// checkLog fails when the gateway's log shows a secret or key material.
func checkLog(t *testing.T, s *server, keyFiles ...string) {
	t.Helper()
	log := s.Log.String()
	for _, f := range keyFiles {
		key, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(log, strings.TrimSpace(string(key))) {
			t.Fatalf("the gateway's log shows the secrets key:\n%s", log)
		}
	}
	if !strings.Contains(log, "secrets_key=true") {
		t.Errorf("the gateway's log does not say it has a secrets key:\n%s", log)
	}
	for _, secret := range []string{e2ePassword, e2eToken} {
		if strings.Contains(log, secret) {
			t.Fatalf("the gateway's log shows a secret:\n%s", log)
		}
	}
}
