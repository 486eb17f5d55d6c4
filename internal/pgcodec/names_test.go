package pgcodec

import "testing"

func TestColumnName(t *testing.T) {
	for in, want := range map[string]string{
		"count_star()": "count",
		"pg_sluice.format_type(a.atttypid, a.atttypmod)": "format_type",
		"current_schema()":   "current_schema",
		"sum(fare)":          "sum",
		"f(a) + g(b)":        "f(a) + g(b)",
		"fares":              "fares",
		"x)":                 "x)",
		"CAST(1 AS INTEGER)": "CAST(1 AS INTEGER)",
		"upper('a)b')":       "upper",
		"(a + b)":            "(a + b)",
	} {
		if got := ColumnName(in); got != want {
			t.Errorf("ColumnName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestColumnNameQuoted(t *testing.T) {
	for in, want := range map[string]string{
		`pg_sluice."version"()`: "version",
		`"weird""name"(x)`:      `weird"name`,
		`"unterminated(`:        `"unterminated(`,
	} {
		if got := ColumnName(in); got != want {
			t.Errorf("ColumnName(%q) = %q, want %q", in, got, want)
		}
	}
}
