package access

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRoots checks the file sandbox's answers on a real directory tree:
// paths and globs inside and outside the roots, the protected data
// directory below a root, a write above it, and a symbolic link that
// leaves the roots.
func TestRoots(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	data := filepath.Join(root, "sluice-data")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "in"), filepath.Join(data, "objects"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(root, "out")); err != nil {
		t.Fatal(err)
	}
	r := NewRoots(root, []string{"."}, []string{data})

	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"in/a.csv", true},
		{filepath.Join(root, "in", "*.csv"), true},
		{"in/../in/a.csv", true},
		{"file://" + filepath.Join(root, "in", "a.csv"), true},
		{"s3://bucket/x.parquet", true}, // not a local file: object storage decides
		{"/etc/passwd", false},
		{"../outside/a.csv", false},
		{"in/../../outside/a.csv", false},
		{"out/a.csv", false}, // the link leads outside
		{"sluice-data/warehouse.duckdb", false},
		{"sluice-data/objects/**/*.parquet", false},
		{"*/objects/*", false},    // may match the data directory
		{"**/*.parquet", false},   // reaches into it
		{"s*/*", false},           // sluice-data matches s*
		{"in/**/*.parquet", true}, // stays in in/
		{"x*/*", true},            // cannot match sluice-data
		{"/*/passwd", false},
	} {
		err := r.Check(c.path)
		if (err == nil) != c.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", c.path, err, c.ok)
		}
	}
	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"in/out.csv", true},
		{"exports", true},
		{".", false}, // holds the data directory: OVERWRITE would empty it
		{root, false},
		{"sluice-data/x.csv", false},
	} {
		err := r.CheckWrite(c.path)
		if (err == nil) != c.ok {
			t.Errorf("CheckWrite(%q) = %v, want ok=%v", c.path, err, c.ok)
		}
	}
	var nilRoots *Roots
	if err := nilRoots.Check("/etc/passwd"); err != nil {
		t.Errorf("no sandbox configured: %v", err)
	}
}
