package sql

import (
	"fmt"
	"testing"
)

func TestRequalifySchema(t *testing.T) {
	names := map[string]bool{"pg_class": true, "pg_get_userbyid": true}
	cases := map[string]string{
		"SELECT 1":                                            "SELECT 1",
		"SELECT * FROM pg_catalog.pg_class c":                 "SELECT * FROM pg_sluice.pg_class c",
		"SELECT * FROM PG_CATALOG . \"pg_class\"":             "SELECT * FROM pg_sluice.\"pg_class\"",
		"SELECT pg_catalog.pg_get_userbyid(c.relowner)":       "SELECT pg_sluice.pg_get_userbyid(c.relowner)",
		"SELECT * FROM pg_catalog.pg_type":                    "SELECT * FROM pg_catalog.pg_type",
		"SELECT * FROM pg_catalog.generate_series(0, 3)":      "SELECT * FROM generate_series(0, 3)",
		"SELECT 'pg_catalog.pg_class' -- pg_catalog.pg_class": "SELECT 'pg_catalog.pg_class' -- pg_catalog.pg_class",
		"SELECT \"PG_CATALOG\".pg_class":                      "SELECT \"PG_CATALOG\".pg_class",
		"SELECT x.pg_catalog.pg_class":                        "SELECT x.pg_catalog.pg_class",
	}
	for in, want := range cases {
		if got := RequalifySchema(in, "pg_catalog", "pg_sluice", names); got != want {
			t.Errorf("RequalifySchema(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestDDLTargets(t *testing.T) {
	cases := map[string]string{
		"DROP VIEW trips":                           "DROP VIEW [trips] false",
		"drop table if exists a, s.b cascade":       "DROP TABLE [a s.b] true",
		"ALTER VIEW \"Odd\" RENAME TO x":            "ALTER VIEW [Odd] false",
		"CREATE OR REPLACE VIEW v AS SELECT 1":      "REPLACE VIEW [v] false [SELECT 1]",
		"CREATE OR REPLACE TEMP VIEW v AS SELECT 1": "<nil>",
		"DROP SCHEMA s":                             "<nil>",
		"SELECT 1":                                  "<nil>",
		"DROP VIEW":                                 "<nil>",
	}
	for in, want := range cases {
		got := "<nil>"
		if d := DDLTargets(in); d != nil {
			got = fmt.Sprintf("%s %s %v %v", d.Verb, d.Kind, d.Names, d.Cascade)
			if d.Query != "" {
				got += " [" + d.Query + "]"
			}
		}
		if got != want {
			t.Errorf("DDLTargets(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestTranslateSyntax(t *testing.T) {
	funcs := map[string]string{"regclass": "pg_sluice.regclass"}
	cases := map[string]string{
		"SELECT 1::int":                                     "SELECT 1::int",
		"SELECT json_build_object('a', 1)":                  "SELECT json_object('a', 1)",
		"SELECT s.json_build_object(1)":                     "SELECT s.json_build_object(1)",
		"SELECT 'pg_class'::regclass":                       "SELECT pg_sluice.regclass('pg_class')",
		"SELECT a.attrelid::regclass::text":                 "SELECT pg_sluice.regclass(a.attrelid)::text",
		"SELECT x::pg_catalog.regclass":                     "SELECT pg_sluice.regclass(x)",
		"SELECT f(a, b)::regclass, 2":                       "SELECT pg_sluice.regclass(f(a, b)), 2",
		"SELECT (a || b)::regclass":                         "SELECT pg_sluice.regclass((a || b))",
		"SELECT c.reloftype::pg_catalog.text":               "SELECT c.reloftype::text",
		"SELECT CAST(c.conname AS pg_catalog.text) AS name": "SELECT CAST(c.conname AS text) AS name",
		"WHERE a OPERATOR(pg_catalog.~) '^x$'":              "WHERE a ~ '(?s:.*)(?:^x$)(?s:.*)'",
		"WHERE a operator(pg_catalog.>) 0":                  "WHERE a > 0",
		"WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default AND x": "WHERE c.relname ~ '(?s:.*)(?:^(t)$)(?s:.*)'  AND x",
		"WHERE n.nspname !~ '^pg_' AND a ~* E'it''s'":                                     "WHERE n.nspname !~ '(?s:.*)(?:^pg_)(?s:.*)' AND a ~ '(?i)(?s:.*)(?:it''s)(?s:.*)'",
		"WHERE a OPERATOR(pg_catalog.!~*) 'x'":                                            "WHERE a !~ '(?i)(?s:.*)(?:x)(?s:.*)'",
		"WHERE a ~ b AND c ~~ 'x%'":                                                       "WHERE a ~ b AND c ~~ 'x%'",
		"SELECT '::regclass' -- x::regclass":                                              "SELECT '::regclass' -- x::regclass",
		"SELECT ::regclass":                                                               "SELECT ::regclass",
		"SELECT 0::regClAss ::regClAss":                                                   "SELECT pg_sluice.regclass(pg_sluice.regclass(0))", // found by FuzzRewrite: panicked
		"SELECT a[s] FROM pg_catalog.generate_series(0, 3) s, t":                          "SELECT a[s] FROM pg_catalog.generate_series(0, 3) s(s), t",
		"SELECT 1 FROM t JOIN generate_series(1, n) AS \"S\" ON true":                     "SELECT 1 FROM t JOIN generate_series(1, n) AS \"S\"(\"S\") ON true",
		"SELECT * FROM t, LATERAL unnest(t.a) u WHERE u > 1":                              "SELECT * FROM t, LATERAL unnest(t.a) u(u) WHERE u > 1",
		"SELECT x FROM (SELECT * FROM generate_series(1, 2) g) q":                         "SELECT x FROM (SELECT * FROM generate_series(1, 2) g(g)) q",
		"SELECT * FROM generate_series(1, 2) g(i)":                                        "SELECT * FROM generate_series(1, 2) g(i)",
		"SELECT * FROM generate_series(1, 2) WITH ORDINALITY g":                           "SELECT * FROM generate_series(1, 2) WITH ORDINALITY g",
		"SELECT * FROM generate_series(1, 2) WHERE true":                                  "SELECT * FROM generate_series(1, 2) WHERE true",
		"SELECT s[i] FROM generate_series(1, 2) AS i, string_to_array(x, ',') s":          "SELECT s[i] FROM generate_series(1, 2) AS i(i), string_to_array(x, ',') s(s)",
		"SELECT * FROM unnest(a, b) u":                                                    "SELECT * FROM unnest(a, b) u",
		"SELECT * FROM json_each(j) e":                                                    "SELECT * FROM json_each(j) e",
		"SELECT generate_series(1, 2) g":                                                  "SELECT generate_series(1, 2) g",
		"SELECT a IS DISTINCT FROM b, unnest(c) u FROM t":                                 "SELECT a IS DISTINCT FROM b, unnest(c) u FROM t",
		"SELECT (SELECT max(i) FROM generate_series(1, 3) i), unnest(c) u FROM t":         "SELECT (SELECT max(i) FROM generate_series(1, 3) i(i)), unnest(c) u FROM t",
	}
	for in, want := range cases {
		if got := TranslateSyntax(in, funcs); got != want {
			t.Errorf("TranslateSyntax(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestRenameCalls(t *testing.T) {
	names := map[string]string{"current_setting": "pg_sluice.current_setting_of"}
	cases := map[string]string{
		"SELECT current_setting('x')":                      "SELECT current_setting('x')",
		"SELECT current_setting('x', true)":                "SELECT current_setting('x', true)",
		"SELECT pg_catalog.current_setting(s.name) FROM s": "SELECT pg_sluice.current_setting_of(s.name) FROM s",
		"SELECT current_setting($1), current_setting('a')": "SELECT pg_sluice.current_setting_of($1), current_setting('a')",
		"SELECT current_setting('a' || 'b')":               "SELECT pg_sluice.current_setting_of('a' || 'b')",
		"SELECT other.current_setting(n)":                  "SELECT other.current_setting(n)",
		"SELECT 'current_setting(n)', \"current_setting\"": "SELECT 'current_setting(n)', \"current_setting\"",
	}
	for in, want := range cases {
		if got := RenameCalls(in, names); got != want {
			t.Errorf("RenameCalls(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
