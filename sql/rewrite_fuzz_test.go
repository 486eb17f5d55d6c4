package sql

import (
	"strings"
	"testing"
)

// FuzzRewrite runs the token rewriters the gateway applies to every
// passthrough statement (pgcatalog.Resolve: TranslateSyntax, RenameCalls,
// RequalifySchema) and TruncateIdentifiers over arbitrary text. None may panic, and a statement
// that lexes must still lex after each rewrite (a rewrite never splits a
// string, a quoted identifier or a comment); text the lexer refuses is
// returned unchanged.
func FuzzRewrite(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, s := range []string{
		"SELECT 'pg_class'::regclass, a.attrelid::pg_catalog.regclass::text, CAST(x AS pg_catalog.text)",
		"SELECT f(a, b)::regclass, (a || b)::regclass, ::regclass, x::",
		"WHERE a OPERATOR(pg_catalog.~) '^x$' COLLATE pg_catalog.default AND b !~* E'it''s' AND c ~ d",
		"SELECT a[s] FROM pg_catalog.generate_series(0, 3) s, LATERAL unnest(t.a) AS \"U\", string_to_array(x, ',') q",
		"SELECT pg_catalog.current_setting(s.name), current_setting('x'), current_setting(",
		"SELECT * FROM pg_catalog.pg_class c JOIN PG_CATALOG . \"pg_class\" d ON true, x.pg_catalog.pg_class",
		"SELECT * FROM information_schema.tables, information_schema.columns",
		"SELECT json_build_object('a', 1), s.json_build_object(1)",
		"SELECT (((((x)))))::regclass, f(((::regclass",
		"SELECT 1 FROM generate_series(1, 2) g(i) WITH ORDINALITY o",
		"SELECT " + strings.Repeat("x", 64) + ", \"" + strings.Repeat("é\"\"", 30) + "\" FROM t",
		"SELECT (((generate_series(1,", "FROM unnest(", "x OPERATOR(pg_catalog.~*) 'y'",
	} {
		f.Add(s)
	}
	funcs := map[string]string{"regclass": "pg_sluice.regclass"}
	calls := map[string]string{"current_setting": "pg_sluice.current_setting_of"}
	overlaid := map[string]bool{"pg_class": true, "pg_get_userbyid": true, "current_setting": true}
	info := map[string]bool{"tables": true}
	f.Fuzz(func(t *testing.T, stmt string) {
		_, lexErr := lexAll(stmt)
		if !mayTranslate(stmt) && TranslateSyntax(stmt, funcs) != stmt {
			t.Errorf("TranslateSyntax changed %q", stmt)
		}
		steps := []struct {
			name string
			fn   func(string) string
		}{
			{"TranslateSyntax", func(s string) string { return TranslateSyntax(s, funcs) }},
			{"RenameCalls", func(s string) string { return RenameCalls(s, calls) }},
			{"RequalifySchema information_schema", func(s string) string {
				return RequalifySchema(s, "information_schema", "pg_sluice_info", info)
			}},
			{"RequalifySchema pg_catalog", func(s string) string { return RequalifySchema(s, "pg_catalog", "pg_sluice", overlaid) }},
			{"TruncateIdentifiers", func(s string) string {
				out, cuts := TruncateIdentifiers(s)
				toks, err := lexAll(out)
				for _, tk := range toks {
					if err == nil && (tk.kind == tokIdent || tk.kind == tokQuotedIdent) && len(tk.val) > MaxIdentifierLength {
						t.Fatalf("TruncateIdentifiers(%q) = %q keeps %q", s, out, tk.val)
					}
				}
				if (out == s) != (len(cuts) == 0) {
					t.Fatalf("TruncateIdentifiers(%q) = %q with %d cuts", s, out, len(cuts))
				}
				return out
			}},
		}
		cur := stmt
		for _, st := range steps {
			out := st.fn(cur)
			if lexErr != nil {
				if out != cur {
					t.Fatalf("%s changed %q, which does not lex, to %q", st.name, cur, out)
				}
				continue
			}
			if _, err := lexAll(out); err != nil {
				t.Fatalf("%s(%q) = %q, which no longer lexes: %v", st.name, cur, out, err)
			}
			cur = out
		}
	})
}
