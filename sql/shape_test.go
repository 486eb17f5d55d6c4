package sql

import (
	"reflect"
	"testing"
)

func TestShapeOf(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Shape
	}{
		{`SELECT 1`, Shape{Verb: "SELECT", Query: "SELECT 1"}},
		{`explain analyze select * from t`, Shape{Verb: "SELECT", Explain: true, Query: "select * from t"}},
		{`INSERT INTO s.t (a, b) SELECT * FROM u ON CONFLICT DO NOTHING`, Shape{Verb: "INSERT", Names: []Name{{"s", "t"}}, Query: "SELECT * FROM u"}},
		{`insert into t values (1) returning *`, Shape{Verb: "INSERT", Names: []Name{{"", "t"}}, Query: "values (1)", Where: true}},
		{`UPDATE t SET a = 1`, Shape{Verb: "UPDATE", Names: []Name{{"", "t"}}}},
		{`UPDATE t SET a = 1 WHERE b = 2`, Shape{Verb: "UPDATE", Names: []Name{{"", "t"}}, Where: true}},
		{`DELETE FROM t`, Shape{Verb: "DELETE", Names: []Name{{"", "t"}}}},
		{`COPY t TO '/tmp/x.csv' (FORMAT csv)`, Shape{Verb: "COPY", Names: []Name{{"", "t"}}, Path: "/tmp/x.csv"}},
		{`COPY (SELECT 'pwned') TO '/tmp/x/p.txt'`, Shape{Verb: "COPY", Query: "SELECT 'pwned'", Path: "/tmp/x/p.txt"}},
		{`COPY t FROM 'in.csv'`, Shape{Verb: "COPY", Names: []Name{{"", "t"}}, Path: "in.csv", From: true}},
		{`ATTACH '/tmp/x/other.db' AS x`, Shape{Verb: "ATTACH", Path: "/tmp/x/other.db"}},
		{`INSTALL httpfs`, Shape{Verb: "INSTALL", Path: "httpfs"}},
		{`SET GLOBAL enable_external_access = true`, Shape{Verb: "SET", Setting: "enable_external_access"}},
		{`SET VARIABLE sluice_all = true`, Shape{Verb: "SET", Setting: "sluice_all", Variable: true}},
		{`PRAGMA threads = 4`, Shape{Verb: "PRAGMA", Setting: "threads", Assign: true}},
		{`PRAGMA table_info('t')`, Shape{Verb: "PRAGMA", Setting: "table_info", Args: []string{"t"}}},
		{`CREATE TEMP TABLE IF NOT EXISTS t AS SELECT 1`, Shape{Verb: "CREATE", Object: "TABLE", Temp: true, IfNotExists: true, Names: []Name{{"", "t"}}, Query: "SELECT 1"}},
		{`CREATE OR REPLACE VIEW s.v (a) AS SELECT 1 AS a`, Shape{Verb: "CREATE", Object: "VIEW", OrReplace: true, Names: []Name{{"s", "v"}}, Query: "SELECT 1 AS a"}},
		{`CREATE FUNCTION f(x) AS x + 1`, Shape{Verb: "CREATE", Object: "MACRO", Names: []Name{{"", "f"}}}},
		{`CREATE INDEX i ON s.t (a)`, Shape{Verb: "CREATE", Object: "INDEX", On: &Name{"s", "t"}}},
		{`DROP TABLE IF EXISTS a, b.c CASCADE`, Shape{Verb: "DROP", Object: "TABLE", IfExists: true, Cascade: true, Names: []Name{{"", "a"}, {"b", "c"}}}},
		{`ALTER TABLE t RENAME TO u`, Shape{Verb: "ALTER", Object: "TABLE", Names: []Name{{"", "t"}}, RenameTo: "u"}},
		{`COMMENT ON COLUMN s.t.c IS 'x'`, Shape{Verb: "COMMENT", Object: "COLUMN", On: &Name{"s", "t"}}},
		{`CALL pragma_version()`, Shape{Verb: "CALL", Query: "SELECT * FROM pragma_version()"}},
	} {
		got := ShapeOf(c.in)
		if got == nil || !reflect.DeepEqual(*got, c.want) {
			t.Errorf("ShapeOf(%q)\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

func TestNames(t *testing.T) {
	got := Names(`UPDATE t SET a = (SELECT max(x) FROM s.secret) FROM 'file.csv' f, read_csv('y.csv') WHERE t.id = f.id`)
	var flat []string
	for _, n := range got {
		s := ""
		for i, p := range n.Parts {
			if i > 0 {
				s += "."
			}
			s += p
		}
		if n.Call {
			s += "(" + n.Arg + ")"
		}
		if n.Literal {
			s = "'" + s + "'"
		}
		flat = append(flat, s)
	}
	want := []string{"t", "set", "a", "max()", "x", "s.secret", "'file.csv'", "f", "read_csv(y.csv)", "t.id", "f.id"}
	if !reflect.DeepEqual(flat, want) {
		t.Errorf("Names:\n got %q\nwant %q", flat, want)
	}
}

func TestHasTokens(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"", false},
		{"  -- only a comment\n", false},
		{"/* a */ /* b */", false},
		{"SELECT 1", true},
		{"'unterminated", true}, // cannot be lexed: judged, not waved through
	} {
		if got := HasTokens(c.text); got != c.want {
			t.Errorf("HasTokens(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}
