package sql

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// at returns the Span of text within query (its first occurrence).
func at(t *testing.T, query, text string) Span {
	t.Helper()
	i := strings.Index(query, text)
	if i < 0 {
		t.Fatalf("%q not in %q", text, query)
	}
	return Span{SQL: text, Offset: i}
}

func str(s string) Value { return Value{Kind: ValueString, Text: s} }
func num(s string) Value { return Value{Kind: ValueNumber, Text: s} }
func boolean(b bool) Value {
	return Value{Kind: ValueBool, Text: map[bool]string{true: "true", false: "false"}[b]}
}
func ident(s string) Value { return Value{Kind: ValueIdent, Text: s} }

// parseOne parses query, which must hold exactly one statement.
func parseOne(t *testing.T, query string) Statement {
	t.Helper()
	stmts, err := Parse(query)
	if err != nil {
		t.Fatalf("Parse(%q): %v", query, err)
	}
	if len(stmts) != 1 {
		t.Fatalf("Parse(%q): %d statements, want 1", query, len(stmts))
	}
	return stmts[0]
}

func TestParseSluiceStatements(t *testing.T) {
	tests := []struct {
		query string
		want  func(q string) Statement
	}{
		{
			"CREATE SOURCE events FROM FILES 'data/*.csv'",
			func(q string) Statement {
				return &CreateSource{Span: Span{q, 0}, Name: Name{Name: "events"}, Connector: "files", Location: "data/*.csv"}
			},
		},
		{
			`create source if not exists Raw."Events" from files 's3://b/it''s/**' with (format = 'csv', header, delimiter = E'\t', hive_partitioning = on, union_by_name = off, columns = $$a int, b text$$)`,
			func(q string) Statement {
				return &CreateSource{
					Span: Span{q, 0}, Name: Name{Schema: "raw", Name: "Events"}, IfNotExists: true,
					Connector: "files", Location: "s3://b/it's/**",
					Options: []Option{
						{Key: "format", Value: str("csv"), Pos: 77},
						{Key: "header", Value: boolean(true), Pos: 93},
						{Key: "delimiter", Value: str("\t"), Pos: 101},
						{Key: "hive_partitioning", Value: boolean(true), Pos: 120},
						{Key: "union_by_name", Value: boolean(false), Pos: 144},
						{Key: "columns", Value: str("a int, b text"), Pos: 165},
					},
				}
			},
		},
		{
			"CREATE SOURCE k FROM KAFKA WITH (brokers = 'localhost:9092', topic = 'clicks', format = json, start_offset = earliest, \"Weird Key\" = 1)",
			func(q string) Statement {
				return &CreateSource{
					Span: Span{q, 0}, Name: Name{Name: "k"}, Connector: "kafka",
					Options: []Option{
						{Key: "brokers", Value: str("localhost:9092"), Pos: 34},
						{Key: "topic", Value: str("clicks"), Pos: 62},
						{Key: "format", Value: ident("json"), Pos: 80},
						{Key: "start_offset", Value: ident("earliest"), Pos: 95},
						{Key: "Weird Key", Value: num("1"), Pos: 120},
					},
				}
			},
		},
		{
			"CREATE SOURCE pg FROM POSTGRES WITH (dsn = 'postgres://x', table = 'orders', cursor_column = updated_at)",
			func(q string) Statement {
				return &CreateSource{
					Span: Span{q, 0}, Name: Name{Name: "pg"}, Connector: "postgres",
					Options: []Option{
						{Key: "dsn", Value: str("postgres://x"), Pos: 38},
						{Key: "table", Value: str("orders"), Pos: 60},
						{Key: "cursor_column", Value: ident("updated_at"), Pos: 78},
					},
				}
			},
		},
		{
			"CREATE SOURCE h FROM HTTP 'https://x/y.json' WITH (headers = 'A: b', timeout = -2.5e3, retries = +3, big = 1_000)",
			func(q string) Statement {
				return &CreateSource{
					Span: Span{q, 0}, Name: Name{Name: "h"}, Connector: "http", Location: "https://x/y.json",
					Options: []Option{
						{Key: "headers", Value: str("A: b"), Pos: 52},
						{Key: "timeout", Value: num("-2.5e3"), Pos: 70},
						{Key: "retries", Value: num("3"), Pos: 88},
						{Key: "big", Value: num("1000"), Pos: 102},
					},
				}
			},
		},
		{
			"ALTER SOURCE s SET (topic = 'other', TRUE_ISH = TRUE)",
			func(q string) Statement {
				return &AlterSource{Span: Span{q, 0}, Name: Name{Name: "s"}, Options: []Option{
					{Key: "topic", Value: str("other"), Pos: 21},
					{Key: "true_ish", Value: boolean(true), Pos: 38},
				}}
			},
		},
		{
			"CREATE MATERIALIZED VIEW daily AS SELECT day, count(*) FROM events GROUP BY day",
			func(q string) Statement {
				return &CreateMaterializedView{
					Span: Span{q, 0}, Name: Name{Name: "daily"},
					Query: "SELECT day, count(*) FROM events GROUP BY day", QueryOffset: 34, WithData: true,
				}
			},
		},
		{
			// Clauses in another order than the synopsis, a CTE query, WITH NO DATA.
			`CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.daily
  WITH (compression = 'zstd', keep_versions = 3)
  REFRESH CRON '0 * * * *' TIME ZONE 'Europe/Paris'
  PARTITION BY (day, "Region")
  (CONSTRAINT positive EXPECT (amount > 0 AND note <> ')'),
   CONSTRAINT "Has Day" EXPECT ((day IS NOT NULL)) ON VIOLATION DROP ROW,
   CONSTRAINT w EXPECT (true) ON VIOLATION WARN,
   CONSTRAINT f EXPECT (x) ON VIOLATION FAIL)
AS WITH x AS (SELECT 1 AS a) SELECT * FROM x
WITH NO DATA`,
			func(q string) Statement {
				return &CreateMaterializedView{
					Span: Span{q, 0}, Name: Name{Schema: "analytics", Name: "daily"}, IfNotExists: true,
					Options: []Option{
						{Key: "compression", Value: str("zstd"), Pos: 64},
						{Key: "keep_versions", Value: num("3"), Pos: 86},
					},
					Refresh:     &RefreshPolicy{Kind: RefreshCron, Cron: "0 * * * *", TimeZone: "Europe/Paris"},
					PartitionBy: []string{"day", "Region"},
					Constraints: []Constraint{
						{Name: "positive", Predicate: "amount > 0 AND note <> ')'", Action: ViolationFail},
						{Name: "Has Day", Predicate: "(day IS NOT NULL)", Action: ViolationDropRow},
						{Name: "w", Predicate: "true", Action: ViolationWarn},
						{Name: "f", Predicate: "x", Action: ViolationFail},
					},
					Query:       "WITH x AS (SELECT 1 AS a) SELECT * FROM x",
					QueryOffset: strings.Index(q, "WITH x"),
					WithData:    false,
				}
			},
		},
		{
			"create materialized view v refresh every '1 hour' aligned to '2024-01-01 00:00' as select 1 with data",
			func(q string) Statement {
				return &CreateMaterializedView{
					Span: Span{q, 0}, Name: Name{Name: "v"},
					Refresh: &RefreshPolicy{Kind: RefreshEvery, Interval: "1 hour", AlignedTo: "2024-01-01 00:00"},
					Query:   "select 1", QueryOffset: 83, WithData: true,
				}
			},
		},
		{
			"CREATE MATERIALIZED VIEW v REFRESH ON CHANGE WITH (min_interval = '5 min') AS (SELECT 1) WITH DATA",
			func(q string) Statement {
				return &CreateMaterializedView{
					Span: Span{q, 0}, Name: Name{Name: "v"},
					Refresh: &RefreshPolicy{Kind: RefreshOnChange},
					Options: []Option{{Key: "min_interval", Value: str("5 min"), Pos: 52}},
					Query:   "(SELECT 1)", QueryOffset: 78, WithData: true,
				}
			},
		},
		{
			"CREATE OR REPLACE MATERIALIZED VIEW s.v PARTITION BY (d) AS SELECT 1 AS d",
			func(q string) Statement {
				return &CreateMaterializedView{
					Span: Span{q, 0}, OrReplace: true, Name: Name{Schema: "s", Name: "v"}, PartitionBy: []string{"d"},
					Query: "SELECT 1 AS d", QueryOffset: 60, WithData: true,
				}
			},
		},
		{
			"CREATE OR REPLACE PIPELINE p AS SELECT * FROM k",
			func(q string) Statement {
				return &CreatePipeline{Span: Span{q, 0}, OrReplace: true, Name: Name{Name: "p"}, Query: "SELECT * FROM k", QueryOffset: 32}
			},
		},
		{
			"START DEPLOYMENT WITH (changes = 3) AS $plan$+ create source s$plan$",
			func(q string) Statement {
				return &StartDeployment{Span: Span{q, 0}, Changes: 3, Plan: "+ create source s"}
			},
		},
		{
			"start deployment as ''",
			func(q string) Statement { return &StartDeployment{Span: Span{q, 0}} },
		},
		{
			"FINISH DEPLOYMENT",
			func(q string) Statement { return &FinishDeployment{Span: Span{q, 0}} },
		},
		{
			"FINISH DEPLOYMENT FAILED 'boom'",
			func(q string) Statement { return &FinishDeployment{Span: Span{q, 0}, Failed: true, Error: "boom"} },
		},
		{
			"CREATE MATERIALIZED VIEW v REFRESH MANUAL AS SELECT * FROM t",
			func(q string) Statement {
				return &CreateMaterializedView{
					Span: Span{q, 0}, Name: Name{Name: "v"}, Refresh: &RefreshPolicy{Kind: RefreshManual},
					Query: "SELECT * FROM t", QueryOffset: 45, WithData: true,
				}
			},
		},
		{
			"CREATE PIPELINE IF NOT EXISTS p PARTITION BY (day) REFRESH EVERY '5 minutes' (CONSTRAINT c EXPECT (id IS NOT NULL) ON VIOLATION WARN) WITH (retries = 2) AS SELECT * FROM k",
			func(q string) Statement {
				return &CreatePipeline{
					Span: Span{q, 0}, Name: Name{Name: "p"}, IfNotExists: true,
					PartitionBy: []string{"day"},
					Refresh:     &RefreshPolicy{Kind: RefreshEvery, Interval: "5 minutes"},
					Constraints: []Constraint{{Name: "c", Predicate: "id IS NOT NULL", Action: ViolationWarn}},
					Options:     []Option{{Key: "retries", Value: num("2"), Pos: 141}},
					Query:       "SELECT * FROM k", QueryOffset: 156,
				}
			},
		},
		{
			"REFRESH MATERIALIZED VIEW daily",
			func(q string) Statement {
				return &Refresh{Span: Span{q, 0}, Kind: KindMaterializedView, Name: Name{Name: "daily"}}
			},
		},
		{
			"refresh materialized view concurrently s.daily partition (day = '2024-01-01', region = eu, n = -3)",
			func(q string) Statement {
				return &Refresh{
					Span: Span{q, 0}, Kind: KindMaterializedView, Name: Name{Schema: "s", Name: "daily"}, Concurrent: true,
					Partition: []PartitionValue{
						{Column: "day", Value: str("2024-01-01")},
						{Column: "region", Value: ident("eu")},
						{Column: "n", Value: num("-3")},
					},
				}
			},
		},
		{
			"REFRESH PIPELINE p",
			func(q string) Statement {
				return &Refresh{Span: Span{q, 0}, Kind: KindPipeline, Name: Name{Name: "p"}}
			},
		},
		{
			"ALTER MATERIALIZED VIEW v SET REFRESH EVERY '1 day'",
			func(q string) Statement {
				return &AlterObject{Span: Span{q, 0}, Kind: KindMaterializedView, Name: Name{Name: "v"},
					Action: AlterSetRefresh, Refresh: &RefreshPolicy{Kind: RefreshEvery, Interval: "1 day"}}
			},
		},
		{
			"ALTER PIPELINE p SET (retries = 5)",
			func(q string) Statement {
				return &AlterObject{Span: Span{q, 0}, Kind: KindPipeline, Name: Name{Name: "p"},
					Action: AlterSetOptions, Options: []Option{{Key: "retries", Value: num("5"), Pos: 23}}}
			},
		},
		{
			"ALTER PIPELINE p SUSPEND",
			func(q string) Statement {
				return &AlterObject{Span: Span{q, 0}, Kind: KindPipeline, Name: Name{Name: "p"}, Action: AlterSuspend}
			},
		},
		{
			"alter materialized view v resume",
			func(q string) Statement {
				return &AlterObject{Span: Span{q, 0}, Kind: KindMaterializedView, Name: Name{Name: "v"}, Action: AlterResume}
			},
		},
		{
			"DROP SOURCE s",
			func(q string) Statement {
				return &Drop{Span: Span{q, 0}, Kind: KindSource, Names: []Name{{Name: "s"}}}
			},
		},
		{
			`DROP MATERIALIZED VIEW IF EXISTS a, x."B" CASCADE`,
			func(q string) Statement {
				return &Drop{Span: Span{q, 0}, Kind: KindMaterializedView, IfExists: true, Cascade: true,
					Names: []Name{{Name: "a"}, {Schema: "x", Name: "B"}}}
			},
		},
		{
			"DROP PIPELINE p RESTRICT",
			func(q string) Statement {
				return &Drop{Span: Span{q, 0}, Kind: KindPipeline, Names: []Name{{Name: "p"}}}
			},
		},
		{"SHOW SOURCES", func(q string) Statement { return &Show{Span: Span{q, 0}, What: ShowSources} }},
		{"show materialized views", func(q string) Statement { return &Show{Span: Span{q, 0}, What: ShowMaterializedViews} }},
		{"SHOW PIPELINES", func(q string) Statement { return &Show{Span: Span{q, 0}, What: ShowPipelines} }},
		{"SHOW RUNS", func(q string) Statement { return &Show{Span: Span{q, 0}, What: ShowRuns} }},
		{
			"SHOW RUNS FOR s.daily",
			func(q string) Statement {
				return &Show{Span: Span{q, 0}, What: ShowRuns, For: &Name{Schema: "s", Name: "daily"}}
			},
		},
		{
			`EXPLAIN REFRESH "Daily"`,
			func(q string) Statement { return &ExplainRefresh{Span: Span{q, 0}, Name: Name{Name: "Daily"}} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := parseOne(t, tt.query)
			if want := tt.want(tt.query); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.query, got, want)
			}
		})
	}
}

// TestPassthrough checks which statements are not Sluice's and that their
// text is kept exactly.
func TestPassthrough(t *testing.T) {
	for _, q := range []string{
		"SELECT 1",
		"WITH x AS (SELECT 1) SELECT * FROM x",
		"INSERT INTO t VALUES (1, 'a')",
		"CREATE TABLE t (a int)",
		"CREATE VIEW v AS SELECT 1",
		"CREATE OR REPLACE VIEW v AS SELECT 1",
		"CREATE OR REPLACE TABLE t AS SELECT 1",
		`CREATE "source" x`, // quoted: not the keyword
		"DROP VIEW v",
		"DROP TABLE IF EXISTS t CASCADE",
		"SHOW ALL TABLES",
		"EXPLAIN SELECT 1",
		"EXPLAIN ANALYZE SELECT 1",
		"SET GLOBAL threads = 4",
		"BEGIN",
		"COPY t TO 'out.parquet' (FORMAT parquet)",
		"PRAGMA version",
		"ALTER TABLE t ADD COLUMN b int",
		"SELECT $1::int, $name",
		"SELECT \"a;b\" FROM \"T\"",
	} {
		got := parseOne(t, q)
		want := &Passthrough{Span{q, 0}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) = %#v, want Passthrough", q, got)
		}
	}
}

// TestSplit checks statement boundaries in tricky input: a ';' inside any
// quote or comment does not split.
func TestSplit(t *testing.T) {
	tests := []struct {
		query string
		want  []string // statement texts, in order
	}{
		{"", nil},
		{"   \n\t ", nil},
		{";;; ;", nil},
		{"-- only a comment", nil},
		{"/* a */ ; -- b\n;", nil},
		{"SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}},
		{"  SELECT 1  ;\n\n  SELECT 2  ", []string{"SELECT 1", "SELECT 2"}},
		{"SELECT 'a;b', 'it''s;'; SELECT 2", []string{"SELECT 'a;b', 'it''s;'", "SELECT 2"}},
		{`SELECT E'\';' ; SELECT 2`, []string{`SELECT E'\';'`, "SELECT 2"}},
		{`SELECT e'\\'; SELECT 2`, []string{`SELECT e'\\'`, "SELECT 2"}},
		{`SELECT 'a\'; SELECT 2`, []string{`SELECT 'a\'`, "SELECT 2"}}, // standard strings: backslash is plain
		{"SELECT $$a;b$$; SELECT 2", []string{"SELECT $$a;b$$", "SELECT 2"}},
		{"SELECT $fn$ ; $$ ; $fn$; SELECT 2", []string{"SELECT $fn$ ; $$ ; $fn$", "SELECT 2"}},
		{"CREATE FUNCTION f() RETURNS int AS $body$ BEGIN; RETURN 1; END; $body$ LANGUAGE plpgsql; SELECT f()",
			[]string{"CREATE FUNCTION f() RETURNS int AS $body$ BEGIN; RETURN 1; END; $body$ LANGUAGE plpgsql", "SELECT f()"}},
		{`SELECT "a;""b" FROM t; SELECT 2`, []string{`SELECT "a;""b" FROM t`, "SELECT 2"}},
		{"SELECT 1 /* outer /* inner ; */ still ; comment */ ; SELECT 2", []string{"SELECT 1", "SELECT 2"}},
		{"SELECT 1 -- trailing ; comment\n; SELECT 2", []string{"SELECT 1", "SELECT 2"}},
		{"SELECT 1 -- no newline ;", []string{"SELECT 1"}},
		{"/* lead */ SELECT 1 /* tail */", []string{"SELECT 1"}},
		{"SELECT a$b$c FROM t; SELECT 2", []string{"SELECT a$b$c FROM t", "SELECT 2"}}, // $ inside an identifier is no quote
		{"SELECT 1--2;\n;SELECT 3", []string{"SELECT 1", "SELECT 3"}},
		{"SELECT 'é;ü'; SELECT '日本;語'", []string{"SELECT 'é;ü'", "SELECT '日本;語'"}},
		{"CREATE MATERIALIZED VIEW v AS SELECT ';' WITH DATA; SELECT 2", []string{"CREATE MATERIALIZED VIEW v AS SELECT ';' WITH DATA", "SELECT 2"}},
	}
	for _, tt := range tests {
		stmts, err := Parse(tt.query)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.query, err)
			continue
		}
		var got []string
		for _, s := range stmts {
			got = append(got, s.Text())
			if tt.query[s.Start():s.Start()+len(s.Text())] != s.Text() {
				t.Errorf("Parse(%q): span %d %q does not locate its text", tt.query, s.Start(), s.Text())
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q)\n got %q\nwant %q", tt.query, got, tt.want)
		}
		if stmts == nil {
			t.Errorf("Parse(%q) returned a nil slice, want empty", tt.query)
		}
	}
}

func TestSpansAndQueryOffset(t *testing.T) {
	q := "SELECT 'ü';\n  CREATE MATERIALIZED VIEW v AS\n  SELECT 'ß' AS x WITH DATA ;"
	stmts, err := Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	mv := stmts[1].(*CreateMaterializedView)
	if want := at(t, q, "CREATE MATERIALIZED VIEW v AS\n  SELECT 'ß' AS x WITH DATA"); mv.Span != want {
		t.Errorf("span = %+v, want %+v", mv.Span, want)
	}
	if got := q[mv.QueryOffset : mv.QueryOffset+len(mv.Query)]; got != "SELECT 'ß' AS x" || mv.Query != got {
		t.Errorf("query = %q at %d (%q)", mv.Query, mv.QueryOffset, got)
	}
}

// TestWithDataInsideParens: WITH DATA inside unclosed parentheses belongs to
// the query (DuckDB reports the syntax error).
func TestWithDataInsideParens(t *testing.T) {
	mv := parseOne(t, "CREATE MATERIALIZED VIEW v AS SELECT (1 WITH DATA").(*CreateMaterializedView)
	if mv.Query != "SELECT (1 WITH DATA" || !mv.WithData {
		t.Errorf("query %q, with data %v", mv.Query, mv.WithData)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		query   string
		code    string
		message string
		pos     int32
	}{
		// Lexer errors, in passthrough statements too.
		{"SELECT 'abc", pgerrcode.SyntaxError, `unterminated quoted string at or near "'abc"`, 8},
		{"SELECT 'é' ; SELECT 'abc", pgerrcode.SyntaxError, `unterminated quoted string at or near "'abc"`, 21},
		{"SELECT E'abc\\'", pgerrcode.SyntaxError, `unterminated quoted string at or near "E'abc\'"`, 8},
		{`SELECT "abc`, pgerrcode.SyntaxError, `unterminated quoted identifier at or near ""abc"`, 8},
		{`SELECT ""`, pgerrcode.SyntaxError, `zero-length delimited identifier at or near """"`, 8},
		{"SELECT $$abc", pgerrcode.SyntaxError, `unterminated dollar-quoted string at or near "$$abc"`, 8},
		{"SELECT $a$abc$b$", pgerrcode.SyntaxError, `unterminated dollar-quoted string at or near "$a$abc$b$"`, 8},
		{"SELECT 1 /* a /* b */", pgerrcode.SyntaxError, `unterminated /* comment at or near "/* a /* b */"`, 10},
		{`SELECT E'\u12'`, pgerrcode.InvalidEscapeSequence, `invalid Unicode escape`, 10},
		{`SELECT E'\uD800'`, pgerrcode.SyntaxError, `invalid Unicode escape value`, 10},
		// A later malformed token fails the whole string.
		{"CREATE SOURCE s FROM KAFKA; SELECT 'x", pgerrcode.SyntaxError, `unterminated quoted string at or near "'x"`, 36},

		// Grammar errors.
		{"CREATE SOURCE s FROM S3 'x'", pgerrcode.SyntaxError, `syntax error at or near "S3"`, 22},
		{"CREATE SOURCE s FROM FILES", pgerrcode.SyntaxError, `syntax error at end of input`, 27},
		{"CREATE SOURCE s FROM FILES   ", pgerrcode.SyntaxError, `syntax error at end of input`, 30},
		{"CREATE SOURCE s FROM FILES; SELECT 1", pgerrcode.SyntaxError, `syntax error at or near ";"`, 27},
		{"CREATE SOURCE s FROM FILES 'x' WITH (a = 1) EXTRA", pgerrcode.SyntaxError, `syntax error at or near "EXTRA"`, 45},
		{"CREATE SOURCE select FROM KAFKA", pgerrcode.SyntaxError, `syntax error at or near "select"`, 15},
		{"CREATE SOURCE a.b.c FROM KAFKA", pgerrcode.SyntaxError, `syntax error at or near "."`, 18},
		{"CREATE SOURCE s FROM KAFKA WITH ()", pgerrcode.SyntaxError, `syntax error at or near ")"`, 34},
		{"CREATE SOURCE s FROM KAFKA WITH (a = )", pgerrcode.SyntaxError, `syntax error at or near ")"`, 38},
		{"CREATE SOURCE s FROM KAFKA WITH (a = 12abc)", pgerrcode.SyntaxError, `syntax error at or near "12abc"`, 38},
		{"CREATE SOURCE s FROM KAFKA WITH (a 'x')", pgerrcode.SyntaxError, `syntax error at or near "'x'"`, 36},
		{"CREATE SOURCE s FROM KAFKA WITH (topic='a', Topic='b')", pgerrcode.SyntaxError, `option "topic" specified more than once`, 45},
		// Multi-byte characters before the error count once each.
		{"SELECT 'ü€😀'; CREATE SOURCE s FROM FTP", pgerrcode.SyntaxError, `syntax error at or near "FTP"`, 36},
		{"/* ñ */ DROP SOURCE s, ", pgerrcode.SyntaxError, `syntax error at end of input`, 24},
		{"CREATE MATERIALIZED VIEW v", pgerrcode.SyntaxError, `syntax error at end of input`, 27},
		{"CREATE MATERIALIZED TABLE v AS SELECT 1", pgerrcode.SyntaxError, `syntax error at or near "TABLE"`, 21},
		{"CREATE MATERIALIZED VIEW v AS", pgerrcode.SyntaxError, `syntax error at end of input`, 30},
		{"CREATE MATERIALIZED VIEW v AS WITH NO DATA", pgerrcode.SyntaxError, `syntax error at or near "WITH"`, 31},
		{"CREATE MATERIALIZED VIEW v TABLESPACE x AS SELECT 1", pgerrcode.SyntaxError, `syntax error at or near "TABLESPACE"`, 28},
		{"CREATE MATERIALIZED VIEW v REFRESH MANUAL REFRESH MANUAL AS SELECT 1", pgerrcode.SyntaxError, `syntax error at or near "REFRESH"`, 43},
		{"CREATE MATERIALIZED VIEW v REFRESH SOMETIMES AS SELECT 1", pgerrcode.SyntaxError, `syntax error at or near "SOMETIMES"`, 36},
		{"CREATE MATERIALIZED VIEW v REFRESH EVERY 5 AS SELECT 1", pgerrcode.SyntaxError, `syntax error at or near "5"`, 42},
		{"CREATE MATERIALIZED VIEW v (CONSTRAINT c EXPECT (a > 0) ON VIOLATION IGNORE) AS SELECT 1", pgerrcode.SyntaxError, `syntax error at or near "IGNORE"`, 70},
		{"CREATE MATERIALIZED VIEW v (CONSTRAINT c EXPECT () ) AS SELECT 1", pgerrcode.SyntaxError, `syntax error at or near ")"`, 50},
		{"CREATE MATERIALIZED VIEW v (CONSTRAINT c EXPECT (a > (0) AS SELECT 1", pgerrcode.SyntaxError, `syntax error at end of input`, 69},
		{"CREATE MATERIALIZED VIEW v (CONSTRAINT c EXPECT (a), CONSTRAINT c EXPECT (b)) AS SELECT 1", pgerrcode.DuplicateObject, `constraint "c" specified more than once`, 65},
		{"CREATE MATERIALIZED VIEW v PARTITION BY (a, A) AS SELECT 1", pgerrcode.DuplicateColumn, `column "a" specified more than once`, 45},
		{"CREATE PIPELINE p AS SELECT 1 WITH NO DATA", pgerrcode.SyntaxError, `syntax error at or near "WITH"`, 31},
		{"REFRESH", pgerrcode.SyntaxError, `syntax error at end of input`, 8},
		{"REFRESH TABLE t", pgerrcode.SyntaxError, `syntax error at or near "TABLE"`, 9},
		{"REFRESH MATERIALIZED VIEW v WITH NO DATA", pgerrcode.SyntaxError, `syntax error at or near "WITH"`, 29},
		{"REFRESH PIPELINE p PARTITION (a = 1)", pgerrcode.SyntaxError, `syntax error at or near "PARTITION"`, 20},
		{"REFRESH MATERIALIZED VIEW v PARTITION (a = 1, a = 2)", pgerrcode.DuplicateColumn, `column "a" specified more than once`, 47},
		{"ALTER PIPELINE p RENAME TO q", pgerrcode.SyntaxError, `syntax error at or near "RENAME"`, 18},
		{"ALTER SOURCE s SUSPEND", pgerrcode.SyntaxError, `syntax error at or near "SUSPEND"`, 16},
		{"DROP SOURCE IF EXISTS", pgerrcode.SyntaxError, `syntax error at end of input`, 22},
		{"DROP PIPELINE p, q CASCADE RESTRICT", pgerrcode.SyntaxError, `syntax error at or near "RESTRICT"`, 28},
		{"SHOW MATERIALIZED TABLES", pgerrcode.SyntaxError, `syntax error at or near "TABLES"`, 19},
		{"SHOW RUNS FOR", pgerrcode.SyntaxError, `syntax error at end of input`, 14},
		{"SHOW SOURCES LIKE 'x'", pgerrcode.SyntaxError, `syntax error at or near "LIKE"`, 14},
		{"EXPLAIN REFRESH", pgerrcode.SyntaxError, `syntax error at end of input`, 16},

		{"CREATE SOURCE s FROM KAFKA WITH (a=-1, b = 'x' 'y')", pgerrcode.SyntaxError, `syntax error at or near "'y'"`, 48},

		{"CREATE OR REPLACE MATERIALIZED VIEW IF NOT EXISTS v AS SELECT 1", pgerrcode.SyntaxError, `syntax error at or near "IF"`, 37},

		{"START DEPLOYMENT AS plan", pgerrcode.SyntaxError, `syntax error at or near "plan"`, 21},
		{"START DEPLOYMENT WITH (changes = -1) AS ''", pgerrcode.InvalidParameterValue, `invalid value for option "changes": "-1" (want a number of changes, 0 or more)`, 24},
		{"START DEPLOYMENT WITH (steps = 1) AS ''", pgerrcode.InvalidParameterValue, `unrecognized deployment option "steps"`, 24},
		{"FINISH DEPLOYMENT SUCCEEDED", pgerrcode.SyntaxError, `syntax error at or near "SUCCEEDED"`, 19},

		// Refused forms.
		{"CREATE OR REPLACE MATERIALIZED VIEW v AS SELECT 1 WITH NO DATA", pgerrcode.FeatureNotSupported,
			"CREATE OR REPLACE MATERIALIZED VIEW ... WITH NO DATA is not supported: the replacement is built before it replaces the view", 1},
		{"SELECT 1; create or replace pipeline if not exists p AS SELECT 1", pgerrcode.SyntaxError, `syntax error at or near "if"`, 38},
		{"CREATE OR REPLACE SOURCE s FROM KAFKA", pgerrcode.FeatureNotSupported,
			"CREATE OR REPLACE SOURCE is not supported; DROP and CREATE it", 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := Parse(tt.query)
			var pe *pgerr.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error = %v, want *pgerr.Error", tt.query, err)
			}
			if pe.Code != tt.code || pe.Message != tt.message || pe.Position != tt.pos {
				t.Errorf("Parse(%q)\n got %s %q at %d\nwant %s %q at %d",
					tt.query, pe.Code, pe.Message, pe.Position, tt.code, tt.message, tt.pos)
			}
		})
	}
}

func TestDuplicateClauseDetail(t *testing.T) {
	_, err := Parse("CREATE PIPELINE p WITH (a) PARTITION BY (x) WITH (b) AS SELECT 1")
	pe := pgerr.As(err)
	if pe.Code != pgerrcode.SyntaxError || pe.Position != 45 || pe.Detail != "WITH is specified more than once." {
		t.Errorf("got %s %q at %d, detail %q", pe.Code, pe.Message, pe.Position, pe.Detail)
	}
}

func TestStringValues(t *testing.T) {
	tests := []struct{ lit, want string }{
		{`'plain'`, "plain"},
		{`'it''s'`, "it's"},
		{`'back\slash'`, `back\slash`},
		{`E'a\nb\tc\\d\'e'`, "a\nb\tc\\d'e"},
		{`E'\x41\101\u00e9\U0001F600\uD83D\uDE00\q'`, "AAé😀😀q"},
		{`E'it''s'`, "it's"},
		{`$$a'b$$`, "a'b"},
		{`$x$ $$ $x$`, " $$ "},
		{`'日本'`, "日本"},
	}
	for _, tt := range tests {
		q := "ALTER SOURCE s SET (v = " + tt.lit + ")"
		st := parseOne(t, q).(*AlterSource)
		if got := st.Options[0].Value; got != str(tt.want) {
			t.Errorf("%s = %+v, want %q", tt.lit, got, tt.want)
		}
	}
}

func TestLeadingKeywords(t *testing.T) {
	tests := []struct {
		stmt string
		n    int
		want []string
	}{
		{"create table t (a int)", 2, []string{"CREATE", "TABLE"}},
		{"  /* c */ -- x\n insert into t values (1)", 1, []string{"INSERT"}},
		{"begin", 3, []string{"BEGIN"}},
		{"SELECT 1", 2, []string{"SELECT"}},
		{"CREATE \"Table\" x", 3, []string{"CREATE", `"Table"`, "X"}},
		{"(SELECT 1)", 2, nil},
		{"", 2, nil},
		{"DROP TABLE 'unterminated", 5, []string{"DROP", "TABLE"}},
		{"select", 0, nil},
	}
	for _, tt := range tests {
		if got := LeadingKeywords(tt.stmt, tt.n); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("LeadingKeywords(%q, %d) = %q, want %q", tt.stmt, tt.n, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	idents := map[string]string{
		"abc":      "abc",
		"a_1":      "a_1",
		"_x":       "_x",
		"Abc":      `"Abc"`,
		"1a":       `"1a"`,
		"a b":      `"a b"`,
		`a"b`:      `"a""b"`,
		"":         `""`,
		"select":   `"select"`,
		"left":     `"left"`,
		"int":      `"int"`,
		"source":   "source",
		"ümlaut":   `"ümlaut"`,
		"name$":    `"name$"`,
		"refresh":  "refresh",
		"user":     `"user"`,
		"position": `"position"`,
	}
	for in, want := range idents {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
	literals := map[string]string{
		"":     "''",
		"abc":  "'abc'",
		"it's": "'it''s'",
		`a\b`:  `'a\b'`,
		"''":   "''''''",
		"日本;語": "'日本;語'",
	}
	for in, want := range literals {
		if got := QuoteLiteral(in); got != want {
			t.Errorf("QuoteLiteral(%q) = %s, want %s", in, got, want)
		}
	}
	// What QuoteIdent and QuoteLiteral produce lexes back to the input.
	for in := range idents {
		q := "ALTER SOURCE " + QuoteIdent(in+"x") + " SET (k = " + QuoteLiteral(in) + ")"
		st := parseOne(t, q).(*AlterSource)
		if st.Name.Name != in+"x" || st.Options[0].Value.Text != in {
			t.Errorf("round trip of %q: %+v", in, st)
		}
	}
}
