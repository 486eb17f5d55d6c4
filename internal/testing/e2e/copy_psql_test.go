package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPsqlCopy runs psql's \copy in both directions through the gateway.
func TestPsqlCopy(t *testing.T) {
	psqlPath(t)
	s := startServer(t, t.TempDir())
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("id,name\n1,anvil\n2,\"a, b\"\n3,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	for _, cmd := range []string{
		"CREATE TABLE copied (id INTEGER, name TEXT)",
		`\copy copied from '` + in + `' csv header`,
		`\copy (select id, name from copied order by id) to '` + out + `' csv`,
	} {
		stdout, stderr, err := s.psql(t, "-v", "ON_ERROR_STOP=1", "-c", cmd)
		if err != nil {
			t.Fatalf("psql -c %q: %v\n%s%s", cmd, err, stdout, stderr)
		}
		if strings.HasPrefix(cmd, `\copy copied`) && !strings.Contains(stdout, "COPY 3") {
			t.Errorf("\\copy from: %q", stdout)
		}
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "1,anvil\n2,\"a, b\"\n3,\n"; string(got) != want {
		t.Errorf("out.csv = %q, want %q", got, want)
	}
}
