package sql

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/sluice-db/sluice/internal/pgerr"
)

var fuzzSeeds = []string{
	"",
	"SELECT 1; SELECT 2;",
	"SELECT 'a;b', 'it''s;'; SELECT E'\\';' ; SELECT e'\\\\'",
	"SELECT $$a;b$$; SELECT $fn$ ; $$ ; $fn$; SELECT $1, $name",
	`SELECT "a;""b" FROM t; SELECT ""`,
	"SELECT 1 /* outer /* inner ; */ still ; comment */ ; SELECT 2 -- end",
	"SELECT 'é' ; SELECT 'abc",
	"SELECT E'\\u12' ; SELECT E'\\uD83D\\uDE00'",
	"CREATE SOURCE s FROM FILES 'x' WITH (format = 'csv', header, n = -1.5e3, b = off, i = earliest)",
	"create source if not exists a.\"B\" from http 'u'; CREATE SOURCE k FROM KAFKA; CREATE SOURCE p FROM POSTGRES",
	"ALTER SOURCE s SET (topic = 'x', topic = 'y')",
	"CREATE MATERIALIZED VIEW IF NOT EXISTS s.v (CONSTRAINT c EXPECT (a > (0)) ON VIOLATION DROP ROW, CONSTRAINT d EXPECT (')') ON VIOLATION WARN) PARTITION BY (day, \"R\") REFRESH EVERY '1 hour' ALIGNED TO 't' WITH (retries = 3) AS WITH x AS (SELECT 1) SELECT * FROM x WITH NO DATA",
	"CREATE MATERIALIZED VIEW v REFRESH CRON '* * * * *' TIME ZONE 'UTC' AS SELECT 1 WITH DATA",
	"CREATE PIPELINE p REFRESH ON CHANGE AS SELECT * FROM k; CREATE PIPELINE q REFRESH MANUAL AS SELECT 1 WITH DATA",
	"CREATE OR REPLACE MATERIALIZED VIEW v AS SELECT 1",
	"REFRESH MATERIALIZED VIEW CONCURRENTLY v PARTITION (day = '2024-01-01', n = -3); REFRESH PIPELINE p",
	"ALTER MATERIALIZED VIEW v SET REFRESH EVERY '1 day'; ALTER PIPELINE p SET (a = 1); ALTER PIPELINE p SUSPEND; ALTER PIPELINE p RESUME",
	"DROP MATERIALIZED VIEW IF EXISTS a, b.c CASCADE; DROP SOURCE s RESTRICT; DROP PIPELINE p",
	"SHOW SOURCES; SHOW MATERIALIZED VIEWS; SHOW PIPELINES; SHOW RUNS FOR x; EXPLAIN REFRESH v; SHOW TABLES",
	"SELECT 'ü€😀'; CREATE SOURCE s FROM FTP",
	"CREATE MATERIALIZED VIEW v (CONSTRAINT c EXPECT (a > (0) AS SELECT 1",
	"\xff\xfe'\x00;\"",
}

// FuzzParse checks that Parse never panics, that every statement's span
// locates its text in the input, and that error positions fall within the
// input (1 to its length in characters + 1).
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		LeadingKeywords(query, 3)
		stmts, err := Parse(query)
		if err != nil {
			checkError(t, query, err)
			return
		}
		for _, st := range stmts {
			checkSpan(t, query, "statement", st.Text(), st.Start())
			if st.Text() == "" {
				t.Errorf("Parse(%q): empty statement", query)
			}
			switch st := st.(type) {
			case *CreateMaterializedView:
				checkSpan(t, query, "query", st.Query, st.QueryOffset)
			case *CreatePipeline:
				checkSpan(t, query, "query", st.Query, st.QueryOffset)
			}
		}
	})
}

func checkSpan(t *testing.T, query, what, text string, offset int) {
	t.Helper()
	if offset < 0 || offset+len(text) > len(query) || query[offset:offset+len(text)] != text {
		t.Errorf("Parse(%q): %s %q at %d does not match the input", query, what, text, offset)
	}
}

func checkError(t *testing.T, query string, err error) {
	t.Helper()
	var pe *pgerr.Error
	if !errors.As(err, &pe) || pe.Code == "" {
		t.Fatalf("Parse(%q): error %v is not a coded *pgerr.Error", query, err)
	}
	if n := int32(utf8.RuneCountInString(query)); pe.Position < 1 || pe.Position > n+1 {
		t.Errorf("Parse(%q): %s at position %d, outside 1..%d", query, pe.Message, pe.Position, n+1)
	}
}
