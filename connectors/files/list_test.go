package files

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestGlob(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"a.json", "b.json", "c.csv", "x/d.json", "x/y/e.json", "x/y/f.csv", "[1].json"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"*.json", []string{"[1].json", "a.json", "b.json"}},
		{"?.json", []string{"a.json", "b.json"}},
		{"[ab].json", []string{"a.json", "b.json"}},
		{"a.json", []string{"a.json"}},
		{"nope.json", nil},
		{"*/*.json", []string{"x/d.json"}},
		{"**/*.json", []string{"[1].json", "a.json", "b.json", "x/d.json", "x/y/e.json"}},
		{"x/**/*.csv", []string{"x/y/f.csv"}},
		{"x/**", []string{"x/d.json", "x/y/e.json", "x/y/f.csv"}},
		{"missing/**/*.json", nil},
	} {
		files, err := Glob(filepath.Join(root, tc.pattern))
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		var got []string
		for _, f := range files {
			rel, _ := filepath.Rel(root, f.Path)
			got = append(got, filepath.ToSlash(rel))
			if f.Size != 2 || f.MTime.IsZero() {
				t.Errorf("%s: %+v", tc.pattern, f)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Glob(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

func TestFilesSQL(t *testing.T) {
	s := &Scan{Path: "/l/*.csv", Options: map[string]string{"format": "csv", "header": "true"}}
	got := s.FilesSQL([]string{"/l/a.csv", "/l/it's.csv"})
	want := `SELECT * FROM read_csv(['/l/a.csv', '/l/it''s.csv'], header = true)`
	if got != want {
		t.Errorf("FilesSQL = %s, want %s", got, want)
	}
}

func TestParseColumns(t *testing.T) {
	cols, err := ParseColumns(`id BIGINT, "Fare Amount" DECIMAL(12, 2), Day date`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Column{{"id", "BIGINT"}, {"Fare Amount", "DECIMAL(12, 2)"}, {"day", "date"}}
	if len(cols) != len(want) {
		t.Fatalf("%v", cols)
	}
	for i := range want {
		if cols[i] != want[i] {
			t.Fatalf("column %d: %v, want %v", i, cols[i], want[i])
		}
	}
	if got := FormatColumns(cols); got != `"id" BIGINT, "Fare Amount" DECIMAL(12, 2), "day" date` {
		t.Fatalf("format: %s", got)
	}
	for _, bad := range []string{"id", "id int, id int", `"x int`, "a int); DROP TABLE t; --", ", a int"} {
		if _, err := ParseColumns(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
