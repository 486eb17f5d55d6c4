package sql

import (
	"strings"
	"testing"
)

func TestTruncateIdentifiers(t *testing.T) {
	long := strings.Repeat("a", 70)
	cut := long[:63]
	e := strings.Repeat("é", 40) // 80 bytes; 63 would split the 32nd
	cases := []struct {
		in, want string
		cuts     int
	}{
		{"SELECT 1", "SELECT 1", 0},
		{"SELECT " + long + " FROM t", "SELECT " + cut + " FROM t", 1},
		{"SELECT 1 AS \"" + strings.ToUpper(long) + "\"", "SELECT 1 AS \"" + strings.ToUpper(cut) + "\"", 1},
		{"CREATE TABLE " + strings.ToUpper(long) + " (x int)", "CREATE TABLE " + strings.ToUpper(cut) + " (x int)", 1},
		{"SELECT '" + long + "', $$" + long + "$$ -- " + long, "SELECT '" + long + "', $$" + long + "$$ -- " + long, 0},
		{"SELECT \"" + strings.Repeat("\"\"", 70) + "\"", "SELECT \"" + strings.Repeat("\"\"", 63) + "\"", 1},
		{"SELECT " + e, "SELECT " + strings.Repeat("é", 31), 1},
		{"SELECT s." + long + "." + long, "SELECT s." + cut + "." + cut, 2},
		{"SELECT '" + long, "SELECT '" + long, 0},
		{"SELECT " + cut, "SELECT " + cut, 0},
		// Stray continuation bytes are characters of their own (found by FuzzRewrite).
		{"SELECT \"0" + strings.Repeat("\x9a", 64) + "\"", "SELECT \"0" + strings.Repeat("\x9a", 62) + "\"", 1},
	}
	for _, c := range cases {
		got, cuts := TruncateIdentifiers(c.in)
		if got != c.want || len(cuts) != c.cuts {
			t.Errorf("TruncateIdentifiers(%q)\n got %q (%d)\nwant %q (%d)", c.in, got, len(cuts), c.want, c.cuts)
		}
	}
	_, cuts := TruncateIdentifiers("SELECT " + strings.ToUpper(long))
	if want := `identifier "` + long + `" will be truncated to "` + cut + `"`; len(cuts) != 1 || cuts[0].Notice() != want {
		t.Errorf("notice %v, want %q", cuts, want)
	}
}
