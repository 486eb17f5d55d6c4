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
		"SELECT 1::int":                        "SELECT 1::int",
		"SELECT json_build_object('a', 1)":     "SELECT json_object('a', 1)",
		"SELECT s.json_build_object(1)":        "SELECT s.json_build_object(1)",
		"SELECT 'pg_class'::regclass":          "SELECT pg_sluice.regclass('pg_class')",
		"SELECT a.attrelid::regclass::text":    "SELECT pg_sluice.regclass(a.attrelid)::text",
		"SELECT x::pg_catalog.regclass":        "SELECT pg_sluice.regclass(x)",
		"SELECT f(a, b)::regclass, 2":          "SELECT pg_sluice.regclass(f(a, b)), 2",
		"SELECT (a || b)::regclass":            "SELECT pg_sluice.regclass((a || b))",
		"SELECT c.reloftype::pg_catalog.text":  "SELECT c.reloftype::text",
		"WHERE a OPERATOR(pg_catalog.~) '^x$'": "WHERE a ~ '^x$'",
		"WHERE a operator(pg_catalog.>) 0":     "WHERE a > 0",
		"WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default AND x": "WHERE c.relname ~ '^(t)$'  AND x",
		"SELECT '::regclass' -- x::regclass":                                              "SELECT '::regclass' -- x::regclass",
		"SELECT ::regclass":                                                               "SELECT ::regclass",
	}
	for in, want := range cases {
		if got := TranslateSyntax(in, funcs); got != want {
			t.Errorf("TranslateSyntax(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
