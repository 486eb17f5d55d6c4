package pgcatalog

import "testing"

func TestResolve(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT relname FROM pg_catalog.pg_class`, `SELECT relname FROM pg_sluice.pg_class`},
		{`SELECT * FROM pg_catalog.duckdb_tables()`, `SELECT * FROM duckdb_tables()`}, // DuckDB resolves it unqualified
		{`SELECT 'pg_catalog.pg_class'`, `SELECT 'pg_catalog.pg_class'`},
		{`SELECT pg_catalog.version()`, `SELECT pg_sluice.version()`},
	} {
		if got := Resolve(c.in); got != c.want {
			t.Errorf("Resolve(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
