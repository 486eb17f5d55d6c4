package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPsqlPrivileges runs testdata/psql_privileges.sql through the real
// psql: roles, memberships and grants, then \dp, \du and \dn+ as the
// superuser and \dp, \dt and \dm as a reader, who sees only what it was
// granted; the output must match testdata/psql_privileges.golden.
//
//	go test -tags duckdb_arrow ./internal/testing/e2e -run TestPsqlPrivileges -update
func TestPsqlPrivileges(t *testing.T) {
	psqlPath(t)
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	stdout, stderr, err := s.psql(t, "--echo-all", "-f", filepath.Join("internal", "testing", "e2e", "testdata", "psql_privileges.sql"))
	if err != nil || strings.Contains(stderr, "ERROR") {
		t.Fatalf("psql: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	got := normaliseDescribe(stdout, dataDir)
	golden := filepath.Join(repoRoot, "internal", "testing", "e2e", "testdata", "psql_privileges.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", golden)
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("psql output differs from %s (rerun with -update if the change is intended)\n%s", golden, lineDiff(string(want), got))
	}
}
