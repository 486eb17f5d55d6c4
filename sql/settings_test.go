package sql

import (
	"reflect"
	"testing"
)

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want Statement
	}{
		{"SET search_path = public", &Set{Name: "search_path", Value: "public"}},
		{"SET search_path TO \"$user\", public", &Set{Name: "search_path", Value: "$user, public"}},
		{"set local statement_timeout = '5s'", &Set{Name: "statement_timeout", Value: "5s", Local: true}},
		{"SET extra_float_digits = 3", &Set{Name: "extra_float_digits", Value: "3"}},
		{"SET application_name TO DEFAULT", &Set{Name: "application_name", Reset: true}},
		{"SET TIME ZONE 'UTC'", &Set{Name: "timezone", Value: "UTC"}},
		{"SET myapp.user_id = 42", &Set{Name: "myapp.user_id", Value: "42"}},
		{"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED", &Set{Name: "session characteristics", Value: "AS TRANSACTION ISOLATION LEVEL READ COMMITTED"}},
		{"RESET ALL", &Set{Reset: true, All: true}},
		{"RESET statement_timeout", &Set{Name: "statement_timeout", Reset: true}},
		{"SHOW TRANSACTION ISOLATION LEVEL", &ShowSetting{Name: "transaction_isolation"}},
		{"SHOW search_path", &ShowSetting{Name: "search_path"}},
		{"SHOW TABLES", &ShowSetting{Name: "tables"}},
		{"SELECT pg_catalog.set_config('search_path', '', false)", &ShowSetting{SetConfig: []SetConfig{{Name: "search_path", Column: "set_config"}}}},
		{"select set_config('Application_Name', 'x', 'on') AS v, set_config('myapp.id', NULL, true) \"W\"", &ShowSetting{SetConfig: []SetConfig{
			{Name: "application_name", Value: "x", Local: true, Column: "v"}, {Name: "myapp.id", Reset: true, Local: true, Column: "W"}}}},
	} {
		got := parseOne(t, tc.q)
		reflect.ValueOf(tc.want).Elem().FieldByName("Span").Set(reflect.ValueOf(Span{tc.q, 0}))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tc.q, got, tc.want)
		}
	}
}

// TestSetConfigPassthrough: a SELECT that is not only set_config calls with
// constant arguments is DuckDB's.
func TestSetConfigPassthrough(t *testing.T) {
	for _, q := range []string{
		"SELECT set_config('a.b', $1, false)",
		"SELECT set_config('a.b', 'x', false) FROM t",
		"SELECT set_config('a.b', 'x', false), 1",
		"SELECT set_config('a.b', 'x')",
		"SELECT set_config('a.b', 'x', 'maybe')",
		"SELECT set_config_x('a', 'b', false)",
	} {
		if st := parseOne(t, q); !reflect.DeepEqual(st, &Passthrough{Span{q, 0}}) {
			t.Errorf("Parse(%q) = %#v, want a Passthrough", q, st)
		}
	}
}

func TestCopy(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want *Copy
	}{
		{"COPY t FROM STDIN", &Copy{Table: &Name{Name: "t"}, From: true}},
		{"COPY s.t (a, b) FROM STDIN WITH (FORMAT csv, HEADER)", &Copy{Table: &Name{Schema: "s", Name: "t"}, Columns: []string{"a", "b"}, From: true,
			Options: []Option{{Key: "format", Value: Value{Kind: ValueIdent, Text: "csv"}, Pos: 34}, {Key: "header", Value: Value{Kind: ValueBool, Text: "true"}, Pos: 46}}}},
		{"COPY  t from STDIN csv header", &Copy{Table: &Name{Name: "t"}, From: true,
			Options: []Option{{Key: "format", Value: Value{Kind: ValueIdent, Text: "csv"}, Pos: 20}, {Key: "header", Value: Value{Kind: ValueBool, Text: "true"}, Pos: 24}}}},
		{"COPY (SELECT 1) TO STDOUT", &Copy{Query: "SELECT 1"}},
	} {
		got := parseOne(t, tc.q)
		tc.want.Span = Span{tc.q, 0}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tc.q, got, tc.want)
		}
	}
	if st := parseOne(t, "COPY t TO 'x.csv'"); !reflect.DeepEqual(st, &Passthrough{Span{"COPY t TO 'x.csv'", 0}}) {
		t.Errorf("COPY to a file: %#v", st)
	}
}
