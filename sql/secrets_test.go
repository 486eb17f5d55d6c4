package sql

import (
	"reflect"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestParseSecrets(t *testing.T) {
	q := `CREATE SECRET IF NOT EXISTS ops."PgPw" AS 'it''s'`
	cs, ok := parseOne(t, q).(*CreateSecret)
	if !ok || !cs.IfNotExists || cs.Name != (Name{Schema: "ops", Name: "PgPw"}) || cs.Value != "it's" || cs.Span != at(t, q, q) {
		t.Fatalf("got %#v", parseOne(t, q))
	}
	if cs := parseOne(t, "create secret pgpw as $$a'b$$").(*CreateSecret); cs.IfNotExists || cs.Name != (Name{Name: "pgpw"}) || cs.Value != "a'b" {
		t.Fatalf("got %#v", cs)
	}
	// secret is no keyword: it names a secret too.
	if cs := parseOne(t, "CREATE SECRET secret AS E'x\\ny'").(*CreateSecret); cs.Name.Name != "secret" || cs.Value != "x\ny" {
		t.Fatalf("got %#v", cs)
	}

	as := parseOne(t, "ALTER SECRET IF EXISTS public.pgpw AS 'new'").(*AlterSecret)
	if !as.IfExists || as.Name != (Name{Schema: "public", Name: "pgpw"}) || as.Value != "new" {
		t.Fatalf("got %#v", as)
	}
	if as := parseOne(t, "ALTER SECRET pgpw AS ''").(*AlterSecret); as.IfExists || as.Value != "" {
		t.Fatalf("got %#v", as)
	}

	ds := parseOne(t, `DROP SECRET IF EXISTS a, s."B" CASCADE`).(*DropSecret)
	if !ds.IfExists || !ds.Cascade || !reflect.DeepEqual(ds.Names, []Name{{Name: "a"}, {Schema: "s", Name: "B"}}) {
		t.Fatalf("got %#v", ds)
	}
	if ds := parseOne(t, "DROP SECRET a RESTRICT").(*DropSecret); ds.IfExists || ds.Cascade || len(ds.Names) != 1 {
		t.Fatalf("got %#v", ds)
	}
}

func TestSecretReferences(t *testing.T) {
	q := `CREATE SOURCE s FROM POSTGRES WITH (password = SECRET pgpw, dsn = secret ops."Dsn", note = secret, other = 'secret')`
	cs := parseOne(t, q).(*CreateSource)
	want := []Value{
		{Kind: ValueSecret, Text: "pgpw", Secret: Name{Name: "pgpw"}},
		{Kind: ValueSecret, Text: "ops.Dsn", Secret: Name{Schema: "ops", Name: "Dsn"}},
		ident("secret"), // the bare word, as before
		str("secret"),
	}
	for i, o := range cs.Options {
		if o.Value != want[i] {
			t.Errorf("option %s = %#v, want %#v", o.Key, o.Value, want[i])
		}
	}
	// In every option list, also ALTER ... SET (...): ddl decides where a
	// reference is allowed.
	ao := parseOne(t, "ALTER PIPELINE p SET (x = SECRET y)").(*AlterObject)
	if ao.Options[0].Value.Kind != ValueSecret {
		t.Fatalf("got %#v", ao.Options[0])
	}
}

func TestSecretErrors(t *testing.T) {
	tests := []struct {
		query, code, message string
		pos                  int32
	}{
		{"CREATE SECRET", pgerrcode.SyntaxError, "syntax error at end of input", 14},
		{"CREATE SECRET s", pgerrcode.SyntaxError, "syntax error at end of input", 16},
		{"CREATE SECRET s 'x'", pgerrcode.SyntaxError, `syntax error at or near "'x'"`, 17},
		{"CREATE SECRET s AS", pgerrcode.SyntaxError, "syntax error at end of input", 19},
		{"CREATE SECRET s AS 42", pgerrcode.SyntaxError, `syntax error at or near "42"`, 20},
		{"CREATE SECRET s AS 'x' 'y'", pgerrcode.SyntaxError, `syntax error at or near "'y'"`, 24},
		{"CREATE SECRET a.b.c AS 'x'", pgerrcode.SyntaxError, `syntax error at or near "."`, 18},
		{"CREATE SECRET select AS 'x'", pgerrcode.SyntaxError, `syntax error at or near "select"`, 15},
		{"ALTER SECRET s RENAME TO t", pgerrcode.SyntaxError, `syntax error at or near "RENAME"`, 16},
		{"ALTER SECRET s AS", pgerrcode.SyntaxError, "syntax error at end of input", 18},
		{"DROP SECRET", pgerrcode.SyntaxError, "syntax error at end of input", 12},
		{"DROP SECRET a,", pgerrcode.SyntaxError, "syntax error at end of input", 15},
		{"DROP SECRET a CASCADE RESTRICT", pgerrcode.SyntaxError, `syntax error at or near "RESTRICT"`, 23},
		{"CREATE SOURCE s FROM POSTGRES WITH (password = SECRET 'x')", pgerrcode.SyntaxError, `syntax error at or near "'x'"`, 55},
		{"CREATE SOURCE s FROM POSTGRES WITH (password = SECRET a.)", pgerrcode.SyntaxError, `syntax error at or near ")"`, 57},
		{"CREATE SOURCE s FROM POSTGRES WITH (password = SECRET a b)", pgerrcode.SyntaxError, `syntax error at or near "b"`, 57},
		{"REFRESH MATERIALIZED VIEW v PARTITION (a = SECRET b)", pgerrcode.SyntaxError, `syntax error at or near "b"`, 51},

		// DuckDB's own secret statements never reach DuckDB.
		{"CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 'v')", pgerrcode.FeatureNotSupported, "DuckDB's CREATE SECRET is not available through Sluice", 1},
		{"SELECT 1; CREATE SECRET s3 (TYPE s3, KEY_ID 'k', SECRET 'v')", pgerrcode.FeatureNotSupported, "DuckDB's CREATE SECRET is not available through Sluice", 11},
		{"CREATE SECRET IF NOT EXISTS s3 (TYPE s3)", pgerrcode.FeatureNotSupported, "DuckDB's CREATE SECRET is not available through Sluice", 1},
		{"CREATE SECRET s3 IN motherduck (TYPE s3)", pgerrcode.FeatureNotSupported, "DuckDB's CREATE SECRET is not available through Sluice", 1},
		{"CREATE PERSISTENT SECRET s3 (TYPE s3)", pgerrcode.FeatureNotSupported, "DuckDB's CREATE SECRET is not available through Sluice", 1},
		{"create temporary secret s3 (type s3)", pgerrcode.FeatureNotSupported, "DuckDB's CREATE SECRET is not available through Sluice", 1},
		{"CREATE OR REPLACE SECRET s3 (TYPE s3)", pgerrcode.FeatureNotSupported, "DuckDB's CREATE SECRET is not available through Sluice", 1},
		{"CREATE OR REPLACE PERSISTENT SECRET s3 (TYPE s3)", pgerrcode.FeatureNotSupported, "DuckDB's CREATE SECRET is not available through Sluice", 1},
		{"DROP PERSISTENT SECRET s3", pgerrcode.FeatureNotSupported, "DuckDB's DROP SECRET is not available through Sluice", 1},
		{"DROP TEMPORARY SECRET s3", pgerrcode.FeatureNotSupported, "DuckDB's DROP SECRET is not available through Sluice", 1},
		{"DROP SECRET s3 FROM motherduck", pgerrcode.FeatureNotSupported, "DuckDB's DROP SECRET is not available through Sluice", 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := Parse(tt.query)
			pe := pgerr.As(err)
			if err == nil || pe.Code != tt.code || pe.Message != tt.message || pe.Position != tt.pos {
				t.Fatalf("got %v (%s at %d), want %s %q at %d", err, pgerr.Code(err), pe.Position, tt.code, tt.message, tt.pos)
			}
			if tt.code == pgerrcode.FeatureNotSupported && pe.Hint == "" {
				t.Errorf("no hint")
			}
		})
	}
	// Other statements about secrets are DuckDB's queries: passed through.
	for _, q := range []string{"SELECT * FROM duckdb_secrets()", "CREATE TABLE secret (a int)", "DROP TABLE secret"} {
		if _, ok := parseOne(t, q).(*Passthrough); !ok {
			t.Errorf("%s is not passed through", q)
		}
	}
}

func TestRedactedSecretText(t *testing.T) {
	stmts, err := Parse("CREATE SECRET s AS 'top''secret'; ALTER SECRET IF EXISTS s AS $$x$$; DROP SECRET s")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CREATE SECRET s AS '********'", "ALTER SECRET IF EXISTS s AS '********'", "DROP SECRET s"}
	for i, st := range stmts {
		if got := RedactedText(st); got != want[i] {
			t.Errorf("RedactedText = %q, want %q", got, want[i])
		}
	}
}
