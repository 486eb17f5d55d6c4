package sql

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestParseGrant(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Statement
	}{
		{`GRANT SELECT ON trips TO bob`, &Grant{Privileges: []string{"SELECT"}, Kind: "TABLE", Objects: []Name{{"", "trips"}}, Grantees: []RoleSpec{{Name: "bob"}}}},
		{`GRANT select, refresh ON MATERIALIZED VIEW s.v, w TO bob, PUBLIC WITH GRANT OPTION`, &Grant{Privileges: []string{"SELECT", "REFRESH"},
			Kind: "MATERIALIZED VIEW", Objects: []Name{{"s", "v"}, {"", "w"}}, Grantees: []RoleSpec{{Name: "bob"}, {Public: true}}, GrantOption: true}},
		{`GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public, s TO etl`, &Grant{AllKind: "TABLES", AllIn: []string{"public", "s"}, Grantees: []RoleSpec{{Name: "etl"}}}},
		{`GRANT USAGE, CREATE ON SCHEMA analytics TO etl`, &Grant{Privileges: []string{"USAGE", "CREATE"}, Kind: "SCHEMA", Objects: []Name{{"", "analytics"}}, Grantees: []RoleSpec{{Name: "etl"}}}},
		{`GRANT SELECT ON source TO bob`, &Grant{Privileges: []string{"SELECT"}, Kind: "TABLE", Objects: []Name{{"", "source"}}, Grantees: []RoleSpec{{Name: "bob"}}}},
		{`REVOKE GRANT OPTION FOR SELECT ON TABLE t FROM bob CASCADE`, &Grant{Revoke: true, GrantOption: true, Privileges: []string{"SELECT"}, Kind: "TABLE",
			Objects: []Name{{"", "t"}}, Grantees: []RoleSpec{{Name: "bob"}}, Cascade: true}},
		{`GRANT SELECT (a) ON t TO bob`, &Grant{Privileges: []string{"SELECT"}, Columns: true, Kind: "TABLE", Objects: []Name{{"", "t"}}, Grantees: []RoleSpec{{Name: "bob"}}}},
		{`GRANT reader, writer TO alice, CURRENT_USER WITH ADMIN OPTION`, &GrantRole{Roles: []string{"reader", "writer"}, Members: []RoleSpec{{Name: "alice"}, {Current: true}}, AdminOption: true}},
		{`REVOKE ADMIN OPTION FOR reader FROM alice`, &GrantRole{Revoke: true, AdminOption: true, Roles: []string{"reader"}, Members: []RoleSpec{{Name: "alice"}}}},
		{`ALTER DEFAULT PRIVILEGES FOR ROLE etl IN SCHEMA public GRANT SELECT ON TABLES TO analyst`, &AlterDefaultPrivileges{Roles: []string{"etl"}, Schemas: []string{"public"},
			Action: &Grant{Privileges: []string{"SELECT"}, Kind: "TABLES", Grantees: []RoleSpec{{Name: "analyst"}}}}},
		{`ALTER TABLE s.t OWNER TO bob`, &AlterOwner{Kind: "TABLE", Name: Name{"s", "t"}, Owner: RoleSpec{Name: "bob"}}},
		{`ALTER MATERIALIZED VIEW v OWNER TO CURRENT_USER`, &AlterOwner{Kind: "MATERIALIZED VIEW", Name: Name{"", "v"}, Owner: RoleSpec{Current: true}}},
		{`REASSIGN OWNED BY a, b TO c`, &ReassignOwned{From: []RoleSpec{{Name: "a"}, {Name: "b"}}, To: RoleSpec{Name: "c"}}},
	} {
		stmts, err := Parse(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		got := stmts[0]
		zeroSpan(got)
		if ad, ok := got.(*AlterDefaultPrivileges); ok {
			ad.Action.Span = Span{}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s\n got %#v\nwant %#v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{`GRANT SELECT ON TO bob`, `GRANT ON t TO bob`, `REVOKE SELECT ON t TO bob`, `GRANT reader`} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
	var pe *pgerr.Error
	for _, q := range []string{`DROP OWNED BY bob CASCADE`, `GRANT SELECT ON LARGE OBJECT 1 TO bob`} {
		if _, err := Parse(q); !errors.As(err, &pe) || pe.Code != "0A000" {
			t.Errorf("%s: %v, want 0A000", q, err)
		}
	}
}

func zeroSpan(st Statement) {
	switch s := st.(type) {
	case *Grant:
		s.Span = Span{}
	case *GrantRole:
		s.Span = Span{}
	case *AlterDefaultPrivileges:
		s.Span = Span{}
	case *AlterOwner:
		s.Span = Span{}
	case *ReassignOwned:
		s.Span = Span{}
	}
}
