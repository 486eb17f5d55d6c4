package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"CREATE VIEW v AS SELECT 1;\nINSERT INTO t VALUES (1);", "x.sql:2: INSERT INTO is not a definition"},
		{"CREATE VIEW v AS SELECT 1;\n\nCREATE VIEW V AS SELECT 2;", "x.sql:3: view public.v is defined twice (also at x.sql:1)"},
		{"CREATE MATERIALIZED VIEW m WITH (compression = 'best') AS SELECT 1", `x.sql:1: invalid value for option "compression"`},
		{"\n\nCREATE MATERIALIZED VIEW m PARTITION BY AS SELECT 1", "x.sql:3: syntax error at or near \"AS\" (SQLSTATE 42601)"},
		{"CREATE MATERIALIZED VIEW m AS SELECT 1 WITH NO DATA", "WITH NO DATA has no place in DIR"},
		{"REVOKE SELECT ON t FROM r", "REVOKE has no place in DIR"},
		{"GRANT SELECT ON ALL TABLES IN SCHEMA public TO r", "is not managed"},
		{"GRANT USAGE ON SCHEMA public TO r", "GRANT ... ON SCHEMA is not managed"},
		{"CREATE TEMP VIEW v AS SELECT 1", "CREATE TEMP is not a definition"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x.sql"), []byte(tt.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q) = %v, want %q", tt.text, err, tt.want)
		}
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no *.sql files") {
		t.Errorf("an empty DIR: %v", err)
	}
}

func TestConnString(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got, _ := (ConnFlags{}).ConnString(getenv); got != "host=127.0.0.1 port=5433 user=sluice dbname=sluice application_name=sluice-deploy" {
		t.Errorf("defaults: %q", got)
	}
	env["PGHOST"], env["PGUSER"] = "gw.example.com", "deploy"
	if got, _ := (ConnFlags{Port: "6000", SSLMode: "verify-full"}).ConnString(getenv); got != "port=6000 dbname=sluice sslmode=verify-full application_name=sluice-deploy" {
		t.Errorf("environment and flags: %q", got)
	}
	if got, _ := (ConnFlags{User: "it's me"}).ConnString(getenv); !strings.Contains(got, `user='it\'s me'`) {
		t.Errorf("quoting: %q", got)
	}
	if _, err := (ConnFlags{URL: "postgres://x@h/sluice", Port: "1"}).ConnString(getenv); err == nil {
		t.Error("--url with --port accepted")
	}
}

func TestParseACL(t *testing.T) {
	got := parseACL(`etl=rm/etl,analyst=r*m/etl,=r/etl,"Odd Role"=r/etl`, Ref{"public", "v"})
	want := []Grant{
		{Privilege: "SELECT", On: Ref{"public", "v"}, Grantee: "etl"},
		{Privilege: "REFRESH", On: Ref{"public", "v"}, Grantee: "etl"},
		{Privilege: "SELECT", On: Ref{"public", "v"}, Grantee: "analyst", GrantOption: true},
		{Privilege: "REFRESH", On: Ref{"public", "v"}, Grantee: "analyst"},
		{Privilege: "SELECT", On: Ref{"public", "v"}, Grantee: "PUBLIC"},
		{Privilege: "SELECT", On: Ref{"public", "v"}, Grantee: "Odd Role"},
	}
	if len(got) != len(want) {
		t.Fatalf("parseACL: %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestCompareColumns(t *testing.T) {
	old := []Column{{"a", "INTEGER"}, {"b", "VARCHAR"}, {"c", "DOUBLE"}}
	tests := []struct {
		new   []Column
		diff  string
		class Class
	}{
		{old, "unchanged", NonBreaking},
		{append(old[:3:3], Column{"d", "DATE"}), "+ d DATE", NonBreaking},
		{[]Column{{"c", "DOUBLE"}, {"a", "INTEGER"}, {"b", "VARCHAR"}}, "unchanged", NonBreaking},
		{[]Column{{"a", "BIGINT"}, {"b", "VARCHAR"}}, "~ a INTEGER -> BIGINT, - c DOUBLE", Breaking},
	}
	for _, tt := range tests {
		diff, class := compareColumns(old, tt.new)
		if diff != tt.diff || class != tt.class {
			t.Errorf("compareColumns(%v) = %q %s, want %q %s", tt.new, diff, class, tt.diff, tt.class)
		}
	}
}

func TestSameLocation(t *testing.T) {
	for _, tt := range []struct {
		desired, stored string
		same            bool
	}{
		{"testdata/trips/*.csv", "/srv/sluice/testdata/trips/*.csv", true},
		{"./testdata/trips/*.csv", "/srv/sluice/testdata/trips/*.csv", true},
		{"../data/*.csv", "/srv/data/*.csv", true},
		{"other/*.csv", "/srv/sluice/testdata/trips/*.csv", false},
		{"/abs/*.csv", "/abs/*.csv", true},
		{"/abs/*.csv", "/other/abs/*.csv", false},
		{"s3://b/x/*.parquet", "s3://b/x/*.parquet", true},
	} {
		if got := sameLocation(tt.desired, tt.stored); got != tt.same {
			t.Errorf("sameLocation(%q, %q) = %v", tt.desired, tt.stored, got)
		}
	}
}
