package sql

import (
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// roleOpts strips positions and spans so options compare by meaning.
func roleOpts(opts []RoleOption) []RoleOption {
	out := make([]RoleOption, len(opts))
	for i, o := range opts {
		out[i] = RoleOption{Name: o.Name, Value: o.Value, Null: o.Null}
	}
	return out
}

func TestParseRoles(t *testing.T) {
	st := parseOne(t, `CREATE ROLE "Ann" WITH LOGIN PASSWORD 'it''s' NOSUPERUSER CONNECTION LIMIT -1 VALID UNTIL 'infinity' IN ROLE a, b`)
	cr, ok := st.(*CreateRole)
	if !ok || cr.Name != "Ann" || cr.User {
		t.Fatalf("got %#v", st)
	}
	want := []RoleOption{{Name: "LOGIN"}, {Name: "PASSWORD", Value: "it's"}, {Name: "NOSUPERUSER"},
		{Name: "CONNECTION LIMIT", Value: "-1"}, {Name: "VALID UNTIL", Value: "infinity"}, {Name: "IN ROLE", Value: "a,b"}}
	if got := roleOpts(cr.Options); !equalOpts(got, want) {
		t.Fatalf("options %+v, want %+v", got, want)
	}

	cr = parseOne(t, "create user bob encrypted password NULL").(*CreateRole)
	if cr.Name != "bob" || !cr.User || len(cr.Options) != 1 || cr.Options[0].Name != "PASSWORD" || !cr.Options[0].Null {
		t.Fatalf("got %#v", cr)
	}
	if cr := parseOne(t, "CREATE ROLE r").(*CreateRole); cr.Name != "r" || len(cr.Options) != 0 {
		t.Fatalf("got %#v", cr)
	}

	ar := parseOne(t, "ALTER USER bob WITH PASSWORD 'x' NOLOGIN").(*AlterRole)
	if ar.Name != "bob" || !equalOpts(roleOpts(ar.Options), []RoleOption{{Name: "PASSWORD", Value: "x"}, {Name: "NOLOGIN"}}) {
		t.Fatalf("got %#v", ar)
	}
	if ar := parseOne(t, "ALTER ROLE current_user PASSWORD 'x'").(*AlterRole); !ar.Current || ar.Name != "" {
		t.Fatalf("got %#v", ar)
	}
	if ar := parseOne(t, "ALTER ROLE a RENAME TO b").(*AlterRole); ar.Name != "a" || ar.RenameTo != "b" {
		t.Fatalf("got %#v", ar)
	}
	for _, q := range []string{"ALTER ROLE a SET search_path = x", "ALTER ROLE a IN DATABASE sluice RESET ALL", "ALTER ROLE ALL SET work_mem = 1"} {
		if ar := parseOne(t, q).(*AlterRole); !ar.SetConfig {
			t.Fatalf("%s: got %#v", q, ar)
		}
	}

	dr := parseOne(t, `DROP USER IF EXISTS a, "B"`).(*DropRole)
	if !dr.IfExists || strings.Join(dr.Names, " ") != "a B" {
		t.Fatalf("got %#v", dr)
	}

	// USER MAPPING is not a user: passed through.
	if _, ok := parseOne(t, "CREATE USER MAPPING FOR u SERVER s").(*Passthrough); !ok {
		t.Fatal("CREATE USER MAPPING is not passed through")
	}
}

func equalOpts(a, b []RoleOption) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRoleErrors(t *testing.T) {
	tests := []struct{ query, code, msg string }{
		{"CREATE ROLE", pgerrcode.SyntaxError, "at end of input"},
		{"CREATE ROLE r LOGIN NOLOGIN", pgerrcode.SyntaxError, "conflicting or redundant options"},
		{"CREATE ROLE r PASSWORD 'a' ENCRYPTED PASSWORD 'b'", pgerrcode.SyntaxError, "conflicting or redundant options"},
		{"CREATE ROLE r FLY", pgerrcode.SyntaxError, `unrecognized role option "fly"`},
		{"CREATE ROLE r PASSWORD", pgerrcode.SyntaxError, "at end of input"},
		{"CREATE ROLE r PASSWORD 42", pgerrcode.SyntaxError, `at or near "42"`},
		{"CREATE ROLE r UNENCRYPTED PASSWORD 'x'", pgerrcode.FeatureNotSupported, "no longer supported"},
		{"CREATE ROLE current_user", pgerrcode.ReservedName, "reserved"},
		{"ALTER ROLE r SYSID 3", pgerrcode.SyntaxError, `unrecognized role option "sysid"`},
		{"CREATE ROLE r CONNECTION LIMIT 1.5", pgerrcode.SyntaxError, `"1.5"`},
		{"DROP ROLE", pgerrcode.SyntaxError, "at end of input"},
		{"DROP ROLE a b", pgerrcode.SyntaxError, `"b"`},
		{"ALTER ROLE a RENAME TO", pgerrcode.SyntaxError, "at end of input"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.query)
		pe := pgerr.As(err)
		if err == nil || pe.Code != tt.code || !strings.Contains(pe.Message, tt.msg) {
			t.Errorf("%s: got %v (%s), want %s %q", tt.query, err, pgerr.Code(err), tt.code, tt.msg)
		}
	}
}

func TestRedactedText(t *testing.T) {
	stmts, err := Parse("SELECT 1; CREATE ROLE a LOGIN PASSWORD 'top''secret' VALID UNTIL 'infinity'; ALTER ROLE a PASSWORD E'x\\'y'")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SELECT 1", "CREATE ROLE a LOGIN PASSWORD '********' VALID UNTIL 'infinity'", "ALTER ROLE a PASSWORD '********'"}
	for i, st := range stmts {
		if got := RedactedText(st); got != want[i] {
			t.Errorf("RedactedText = %q, want %q", got, want[i])
		}
	}
}
