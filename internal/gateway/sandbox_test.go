//go:build duckdb_arrow

package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

// TestSandboxWritesNothingOutside runs the escapes of the security issue as
// the superuser, a role with pg_read/write_server_files and a reader, with
// one file root, and checks the file system: each is 42501, the session
// goes on, and nothing appears outside the root or in the data directory.
func TestSandboxWritesNothingOutside(t *testing.T) {
	root, outside, dataDir := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.csv"), []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := gateway.Open(t.Context(), gateway.Options{DataDir: dataDir, Logger: slog.New(slog.DiscardHandler), FileRoots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, wire.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	connect := func(user string) *pgx.Conn {
		c, err := pgx.Connect(t.Context(), "postgres://"+user+"@"+l.Addr().String()+"/sluice?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	super := connect("sluice")
	for _, q := range []string{
		"CREATE ROLE etl LOGIN", "CREATE ROLE analyst LOGIN",
		"GRANT pg_read_server_files, pg_write_server_files TO etl",
	} {
		exec(t, super, q)
	}
	before := listFiles(t, outside, dataDir)
	escapes := []string{
		"SELECT * FROM read_csv('" + outside + "/secret.csv')",
		"SELECT * FROM '" + outside + "/secret.csv'",
		"SELECT * FROM glob('" + outside + "/*')",
		"SELECT * FROM read_text('/proc/self/environ')",
		"SELECT count(*) FROM read_csv('/etc/passwd', header = false, sep = ':')",
		"COPY (SELECT 'pwned') TO '" + outside + "/pwned.txt'",
		"COPY (SELECT 'pwned' AS x) TO '" + outside + "/dir' (FORMAT parquet, PARTITION_BY (x))",
		"COPY (SELECT 'pwned') TO '" + dataDir + "/pwned.txt'",
		"COPY (SELECT 'pwned') TO '" + root + "/../" + filepath.Base(outside) + "/pwned.txt'",
		"ATTACH '" + outside + "/other.db' AS x",
		"EXPORT DATABASE '" + outside + "/export'",
		"SELECT count(*) FROM read_blob('" + dataDir + "/warehouse.duckdb')",
		"INSTALL httpfs",
		"SET enable_external_access = true",
	}
	for _, user := range []string{"sluice", "etl", "analyst"} {
		c := connect(user)
		for _, q := range escapes {
			if _, err := c.Exec(t.Context(), q); code(err) != "42501" {
				t.Errorf("as %s: %s: %v, want 42501", user, q, err)
			}
		}
		var one int
		if err := c.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Errorf("as %s: the session is not usable after the refusals: %v", user, err)
		}
	}
	if after := listFiles(t, outside, dataDir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("files changed outside the root or in the data directory:\nbefore %q\nafter  %q", before, after)
	}
	// Inside the root, the roles that may write do.
	for _, user := range []string{"sluice", "etl"} {
		exec(t, connect(user), "COPY (SELECT 1 AS x) TO '"+root+"/"+user+".csv'")
		if _, err := os.Stat(filepath.Join(root, user+".csv")); err != nil {
			t.Errorf("as %s: COPY inside the root: %v", user, err)
		}
	}
	if _, err := connect("analyst").Exec(t.Context(), "COPY (SELECT 1) TO '"+root+"/analyst.csv'"); code(err) != "42501" {
		t.Errorf("analyst COPY TO a file: %v, want 42501", err)
	}
	if _, err := os.Stat(filepath.Join(root, "analyst.csv")); err == nil {
		t.Error("analyst wrote a file")
	}
}

// listFiles lists every file under the directories, except DuckDB's own
// in a data directory (the database file, its WAL, the spill directory),
// which it writes as it works.
func listFiles(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(filepath.Base(p), "warehouse.duckdb") || p == filepath.Join(d, "tmp") && e.IsDir() {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			out = append(out, p)
			return nil
		})
	}
	return out
}
