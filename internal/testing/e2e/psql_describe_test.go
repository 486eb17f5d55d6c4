package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPsqlDescribe runs psql's catalog commands (\l, \dn, \dt, \dv, \dm, \d,
// \d name and \d+ name for a table, a view, a source, a materialized view and
// a system table, \x) from testdata/psql_describe.sql through the real psql
// and compares the output with testdata/psql_describe.golden. psql sends the
// same catalog queries it sends PostgreSQL 15; Sluice answers them with its
// pg_catalog relations, and psql prints what it prints for PostgreSQL.
//
//	go test -tags duckdb_arrow ./internal/testing/e2e -run TestPsqlDescribe -update
func TestPsqlDescribe(t *testing.T) {
	psqlPath(t)
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	stdout, stderr, err := s.psql(t, "--echo-all", "-f", filepath.Join("internal", "testing", "e2e", "testdata", "psql_describe.sql"))
	if err != nil || strings.Contains(stderr, "ERROR") {
		t.Fatalf("psql: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	got := normaliseDescribe(stdout, dataDir)
	golden := filepath.Join(repoRoot, "internal", "testing", "e2e", "testdata", "psql_describe.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", golden)
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -tags duckdb_arrow ./internal/testing/e2e -run TestPsqlDescribe -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("psql output differs from %s (rerun with -update if the change is intended)\n%s", golden, lineDiff(string(want), got))
	}
}

// normaliseDescribe makes psql's output of psql_describe.sql the same on
// every run and machine: the data directory and the repository's paths (a
// source's view reads files by absolute path) become <DATA_DIR> and <REPO>,
// and the spaces psql pads the last column with are cut. (The quickstart's
// normalise re-renders tables that end in a row count; \d's have none.)
func normaliseDescribe(out, dataDir string) string {
	out = strings.ReplaceAll(out, dataDir, "<DATA_DIR>")
	out = strings.ReplaceAll(out, repoRoot, "<REPO>")
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
