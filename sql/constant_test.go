package sql

import "testing"

func TestIsConstantQuery(t *testing.T) {
	for _, q := range []string{
		"SELECT 1", "select 1;", "SELECT 1 AS a", "SELECT -1", "SELECT +1.5e10", "SELECT 'x'", "SELECT 'x'::text",
		"SELECT 'x'::varchar(3)", "SELECT 1.25::numeric(10, 2)", "SELECT '1.5'::double precision",
		"SELECT 'a'::character varying", "SELECT true, false, null", "SELECT NULL::int AS n", "SELECT 1 x, 2 \"Y\"",
		"SELECT 'read committed' AS \"transaction_isolation\"", "SELECT E'a\\nb'", "SELECT $$d$$", "SELECT 1::int8::text",
		"  /* c */ SELECT 1 -- c\n",
	} {
		if !IsConstantQuery(q) {
			t.Errorf("IsConstantQuery(%q) = false, want true", q)
		}
	}
	for _, q := range []string{
		"", "SELECT", "SELECT 1 FROM t", "SELECT x", "SELECT now()", "SELECT $1", "SELECT 1 + 1", "SELECT - 'x'",
		"SELECT 1::regclass", "SELECT 'x'::timestamptz", "SELECT '1 day'::interval", "SELECT 1::int[]",
		"SELECT 1 LIMIT 0", "SELECT 1 WHERE false", "SELECT 1 limit", "SELECT 1;;", "SELECT 1; SELECT 2",
		"SELECT DATE '2020-01-01'", "SELECT 1 AS", "SELECT 1,", "SELECT 'a' 'b'", "SELECT 'a' COLLATE \"C\"",
		"SELECT 1::numeric(1, 2, 3)", "SELECT 1::varchar(x)", "VALUES (1)", "SELECT current_user",
		"SELECT 'unterminated", "SELECT 1 is null",
	} {
		if IsConstantQuery(q) {
			t.Errorf("IsConstantQuery(%q) = true, want false", q)
		}
	}
}
