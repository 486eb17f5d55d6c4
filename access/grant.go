package access

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
)

// GRANT and REVOKE of privileges, ALTER DEFAULT PRIVILEGES, ALTER ... OWNER
// TO and REASSIGN OWNED, as PostgreSQL runs them: the grantor of a
// privilege is the object's owner when the owner (or a superuser, or a
// member of the owning role) grants it, else the granting role, which must
// hold the grant option; REVOKE removes what that grantor granted, and
// with CASCADE what the grantee granted on from it. Every change is one
// catalog transaction and moves the catalog generation, so every session
// sees it at its next statement.

// target is an object a GRANT names, with its kind for messages.
type target struct {
	obj  catalog.Object
	kind catalog.Kind // a relation's kind
	noun string       // "table", "schema", ...
}

// grant runs GRANT or REVOKE of privileges.
func (s *Statements) grant(ctx context.Context, st *sql.Grant, a Actor) (string, []*pgerr.Error, error) {
	tag := "GRANT"
	if st.Revoke {
		tag = "REVOKE"
	}
	if st.Columns {
		return "", nil, pgerr.Unsupported("column privileges are not supported: grant on the whole relation, or on a view of the columns")
	}
	snap := a.Check.Snapshot()
	targets, err := s.targets(ctx, st, a)
	if err != nil {
		return "", nil, err
	}
	grantees, err := granteeNames(snap, st.Grantees, a.Role)
	if err != nil {
		return "", nil, err
	}
	if st.GrantedBy != nil && !(st.GrantedBy.Current || st.GrantedBy.Name == a.Role) {
		return "", nil, pgerr.Unsupported("GRANTED BY other than the current user is not supported")
	}
	var changes []catalog.ObjectACL
	for _, t := range targets {
		all := Applicable(t.obj.Kind, t.kind)
		privs, err := privileges(st.Privileges, all, t.noun)
		if err != nil {
			return "", nil, err
		}
		owner := snap.Owner(t.obj)
		grantor := a.Role
		if snap.Owns(a.Role, t.obj) {
			grantor = owner
		} else if opts := snap.GrantOptions(a.Role, t.obj); opts&privs != privs {
			if opts == 0 && snap.Privileges(a.Role, t.obj) == 0 {
				return "", nil, pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for %s %s", t.noun, t.obj.Name)
			}
			return "", nil, pgerr.New(pgerrcode.InsufficientPrivilege, "no grant option for %s on %s %s", (privs &^ opts).Names(), t.noun, t.obj.Name)
		}
		acl, _ := snap.ACL(t.obj)
		for _, g := range grantees {
			if st.Revoke {
				if acl, err = revoke(acl, g, grantor, privs, st.GrantOption, st.Cascade, t); err != nil {
					return "", nil, err
				}
			} else {
				acl = acl.Grant(g, grantor, privs, st.GrantOption)
			}
		}
		changes = append(changes, catalog.ObjectACL{Object: t.obj, Owner: owner, ACL: acl.Strings()})
	}
	if err := s.cat.SetACL(ctx, changes...); err != nil {
		return "", nil, err
	}
	return tag, nil, nil
}

// revoke removes privs that grantor granted grantee; the privileges the
// grantee granted on from that grant go too with cascade, else they are
// 2BP01.
func revoke(acl ACL, grantee, grantor string, privs Priv, grantOnly, cascade bool, t target) (ACL, error) {
	var had Priv
	for _, it := range acl {
		if it.Grantee == grantee && it.Grantor == grantor {
			had |= ParseLetters(it.Grantable)
		}
	}
	acl = acl.Revoke(grantee, grantor, privs, grantOnly)
	lost := had & privs
	if lost == 0 || grantee == "" {
		return acl, nil
	}
	// What grantee granted on with the grant option it loses, unless it
	// still holds that option from another grantor.
	var still Priv
	for _, it := range acl {
		if it.Grantee == grantee {
			still |= ParseLetters(it.Grantable)
		}
	}
	lost &^= still
	for _, it := range acl {
		if it.Grantor != grantee || ParseLetters(it.Privileges)&lost == 0 {
			continue
		}
		if !cascade {
			e := pgerr.New(pgerrcode.DependentObjectsStillExist, "dependent privileges exist")
			e.Hint = fmt.Sprintf("Use CASCADE to revoke them too (%s granted %s on %s %s to %s).",
				grantee, (ParseLetters(it.Privileges) & lost).Names(), t.noun, t.obj.Name, aclRole(it.Grantee))
			return nil, e
		}
		var err error
		if acl, err = revoke(acl, it.Grantee, grantee, lost, false, true, t); err != nil {
			return nil, err
		}
	}
	return acl, nil
}

func aclRole(n string) string {
	if n == "" {
		return "PUBLIC"
	}
	return n
}

// privileges turns a GRANT's privilege words into a set: every applicable
// one for ALL; a word that names no privilege is 42601, one the object
// cannot have 0LP01, as in PostgreSQL.
func privileges(words []string, all Priv, noun string) (Priv, error) {
	if words == nil {
		return all, nil
	}
	var p Priv
	for _, w := range words {
		q, ok := PrivByName(w)
		if !ok {
			return 0, pgerr.New(pgerrcode.SyntaxError, "unrecognized privilege type %q", strings.ToLower(w))
		}
		if q&all == 0 {
			return 0, pgerr.New(pgerrcode.InvalidGrantOperation, "invalid privilege type %s for %s", w, noun)
		}
		p |= q
	}
	return p, nil
}

// granteeNames resolves the roles a GRANT names ("" is PUBLIC).
func granteeNames(snap *Snapshot, specs []sql.RoleSpec, current string) ([]string, error) {
	out := make([]string, 0, len(specs))
	for _, r := range specs {
		switch {
		case r.Public:
			out = append(out, "")
		case r.Current:
			out = append(out, current)
		default:
			if _, ok := snap.Role(r.Name); !ok {
				return nil, pgerr.New(pgerrcode.UndefinedObject, "role %q does not exist", r.Name)
			}
			out = append(out, r.Name)
		}
	}
	return out, nil
}

// grantKinds are the relation kinds a GRANT's kind word accepts; TABLE
// takes any relation, as in PostgreSQL.
var grantKinds = map[string][]catalog.Kind{
	"VIEW":              {catalog.KindView},
	"MATERIALIZED VIEW": {catalog.KindMaterializedView},
	"SOURCE":            {catalog.KindSource},
	"PIPELINE":          {catalog.KindPipeline},
	"SEQUENCE":          {catalog.KindSequence},
}

// allKinds are the relation kinds of ALL ... IN SCHEMA.
var allKinds = map[string][]catalog.Kind{
	"TABLES":             {catalog.KindTable, catalog.KindView, catalog.KindMaterializedView, catalog.KindSource, catalog.KindPipeline},
	"VIEWS":              {catalog.KindView},
	"MATERIALIZED VIEWS": {catalog.KindMaterializedView},
	"SOURCES":            {catalog.KindSource},
	"PIPELINES":          {catalog.KindPipeline},
	"SEQUENCES":          {catalog.KindSequence},
}

// targets resolves the objects a GRANT names.
func (s *Statements) targets(ctx context.Context, st *sql.Grant, a Actor) ([]target, error) {
	snap := a.Check.Snapshot()
	if st.AllKind != "" {
		kinds, ok := allKinds[st.AllKind]
		if !ok {
			return nil, pgerr.Unsupported("GRANT ON ALL %s is not supported", st.AllKind)
		}
		var out []target
		for _, schema := range st.AllIn {
			if !snap.SchemaExists(schema) {
				return nil, pgerr.New(pgerrcode.InvalidSchemaName, "schema %q does not exist", schema)
			}
			for _, rel := range snap.Relations() {
				if rel.Ref.Schema == schema && kindIn(rel.Kind, kinds) {
					out = append(out, target{obj: catalog.RelationObject(rel.Ref), kind: rel.Kind, noun: Noun(rel.Kind)})
				}
			}
		}
		return out, nil
	}
	var out []target
	for _, n := range st.Objects {
		switch st.Kind {
		case "SCHEMA":
			if !snap.SchemaExists(n.Name) {
				return nil, pgerr.New(pgerrcode.InvalidSchemaName, "schema %q does not exist", n.Name)
			}
			out = append(out, target{obj: catalog.Object{Kind: catalog.ObjectSchema, Name: n.Name}, noun: "schema"})
		case "DATABASE":
			if n.Name != catalog.DatabaseName {
				return nil, pgerr.New(pgerrcode.InvalidCatalogName, "database %q does not exist", n.Name)
			}
			out = append(out, target{obj: catalog.Object{Kind: catalog.ObjectDatabase, Name: n.Name}, noun: "database"})
		case "SECRET":
			ref := catalog.Ref{Schema: n.Schema, Name: n.Name}
			if ref.Schema == "" {
				ref.Schema = "public"
			}
			if _, err := s.cat.GetSecret(ctx, ref); err != nil {
				return nil, err
			}
			out = append(out, target{obj: catalog.Object{Kind: catalog.ObjectSecret, Schema: ref.Schema, Name: ref.Name}, noun: "secret"})
		case "TABLE", "VIEW", "MATERIALIZED VIEW", "SOURCE", "PIPELINE", "SEQUENCE":
			ref, rel, ok := a.Check.Resolve(n, a.Scope)
			if !ok {
				return nil, pgerr.New(pgerrcode.UndefinedTable, "relation %q does not exist", n.String())
			}
			if kinds, limited := grantKinds[st.Kind]; limited && !kindIn(rel.Kind, kinds) {
				return nil, pgerr.New(pgerrcode.WrongObjectType, "%q is not a %s", ref.Name, strings.ToLower(st.Kind))
			}
			out = append(out, target{obj: catalog.RelationObject(ref), kind: rel.Kind, noun: Noun(rel.Kind)})
		default:
			return nil, pgerr.Unsupported("privileges on %s objects are not supported", strings.ToLower(st.Kind))
		}
	}
	return out, nil
}

func kindIn(k catalog.Kind, ks []catalog.Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// Noun names a relation's kind as PostgreSQL's messages do.
func Noun(k catalog.Kind) string {
	switch k {
	case catalog.KindView, catalog.KindMaterializedView, catalog.KindPipeline, catalog.KindSource, catalog.KindSequence:
		return string(k)
	}
	return "table"
}

// grantRole runs GRANT role TO member and REVOKE role FROM member.
func (s *Statements) grantRole(ctx context.Context, st *sql.GrantRole, a Actor) (string, []*pgerr.Error, error) {
	snap := a.Check.Snapshot()
	members, err := granteeNames(snap, st.Members, a.Role)
	if err != nil {
		return "", nil, err
	}
	var notices []*pgerr.Error
	for _, role := range st.Roles {
		if _, ok := snap.Role(role); !ok {
			return "", nil, pgerr.New(pgerrcode.UndefinedObject, "role %q does not exist", role)
		}
		if !snap.HasAdmin(a.Role, role) {
			return "", nil, pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to grant role %q", role).
				WithDetail(fmt.Sprintf("Only roles with the ADMIN option on role %q may grant it.", role))
		}
		for _, m := range members {
			if m == "" {
				return "", nil, pgerr.New(pgerrcode.InvalidGrantOperation, "role \"public\" cannot be a member of role %q", role)
			}
			if st.Revoke {
				ok, err := s.cat.RemoveMember(ctx, role, m, st.AdminOption)
				if err != nil {
					return "", nil, err
				}
				if !ok {
					n := pgerr.New(pgerrcode.Warning, "role %q has not been granted membership in role %q", m, role)
					n.Severity = "WARNING"
					notices = append(notices, n)
				}
				continue
			}
			if m == role || snap.IsMember(role, m) {
				return "", nil, pgerr.New(pgerrcode.InvalidGrantOperation, "role %q is a member of role %q", role, m)
			}
			if err := s.cat.AddMember(ctx, catalog.Membership{Role: role, Member: m, AdminOption: st.AdminOption, Grantor: a.Role}); err != nil {
				return "", nil, err
			}
		}
	}
	if st.Revoke {
		return "REVOKE ROLE", notices, nil
	}
	return "GRANT ROLE", notices, nil
}

// alterDefaultPrivileges runs ALTER DEFAULT PRIVILEGES.
func (s *Statements) alterDefaultPrivileges(ctx context.Context, st *sql.AlterDefaultPrivileges, a Actor) (string, []*pgerr.Error, error) {
	snap := a.Check.Snapshot()
	roles := st.Roles
	if len(roles) == 0 {
		roles = []string{a.Role}
	}
	g := st.Action
	var kind catalog.ObjectKind
	switch g.Kind {
	case "TABLES", "VIEWS", "MATERIALIZED VIEWS", "SOURCES", "PIPELINES", "SEQUENCES":
		kind = catalog.ObjectRelation
	case "SCHEMAS":
		kind = catalog.ObjectSchema
		if len(st.Schemas) > 0 {
			return "", nil, pgerr.New(pgerrcode.InvalidGrantOperation, "cannot use IN SCHEMA clause when using GRANT/REVOKE ON SCHEMAS")
		}
	default:
		return "", nil, pgerr.Unsupported("default privileges on %s are not supported", strings.ToLower(g.Kind))
	}
	all := Applicable(kind, catalog.KindTable) | Refresh
	privs, err := privileges(g.Privileges, all, strings.ToLower(g.Kind))
	if err != nil {
		return "", nil, err
	}
	grantees, err := granteeNames(snap, g.Grantees, a.Role)
	if err != nil {
		return "", nil, err
	}
	schemas := st.Schemas
	if len(schemas) == 0 {
		schemas = []string{""}
	}
	for _, r := range roles {
		if _, ok := snap.Role(r); !ok {
			return "", nil, pgerr.New(pgerrcode.UndefinedObject, "role %q does not exist", r)
		}
		if !snap.HasPrivsOf(a.Role, r) {
			return "", nil, pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to change default privileges of role %q", r)
		}
		for _, schema := range schemas {
			if schema != "" && !snap.SchemaExists(schema) {
				return "", nil, pgerr.New(pgerrcode.InvalidSchemaName, "schema %q does not exist", schema)
			}
			var acl ACL
			for _, d := range snap.Defaults() {
				if d.Role == r && d.Schema == schema && d.Kind == kind {
					acl = ParseACL(d.ACL)
				}
			}
			for _, gr := range grantees {
				if g.Revoke {
					acl = acl.Revoke(gr, r, privs, g.GrantOption)
				} else {
					acl = acl.Grant(gr, r, privs, g.GrantOption)
				}
			}
			if err := s.cat.SetDefaultACL(ctx, catalog.DefaultACL{Role: r, Schema: schema, Kind: kind, ACL: acl.Strings()}); err != nil {
				return "", nil, err
			}
		}
	}
	return "ALTER DEFAULT PRIVILEGES", nil, nil
}

// alterOwner runs ALTER kind name OWNER TO role: the owner (or a
// superuser) gives the object to a role it is a member of, which must be
// allowed to create in the object's schema; grants the old owner made are
// the new owner's.
func (s *Statements) alterOwner(ctx context.Context, st *sql.AlterOwner, a Actor) (string, []*pgerr.Error, error) {
	snap := a.Check.Snapshot()
	newOwner := st.Owner.Name
	switch {
	case st.Owner.Current:
		newOwner = a.Role
	case st.Owner.Public:
		return "", nil, pgerr.New(pgerrcode.InvalidParameterValue, "role \"public\" cannot own objects")
	}
	if _, ok := snap.Role(newOwner); !ok {
		return "", nil, pgerr.New(pgerrcode.UndefinedObject, "role %q does not exist", newOwner)
	}
	g := &sql.Grant{Kind: st.Kind, Objects: []sql.Name{st.Name}}
	targets, err := s.targets(ctx, g, a)
	if err != nil {
		return "", nil, err
	}
	t := targets[0]
	if !snap.Superuser(a.Role) {
		if !snap.Owns(a.Role, t.obj) {
			return "", nil, pgerr.New(pgerrcode.InsufficientPrivilege, "must be owner of %s %s", t.noun, t.obj.Name)
		}
		if !snap.IsMember(a.Role, newOwner) && a.Role != newOwner {
			return "", nil, pgerr.New(pgerrcode.InsufficientPrivilege, "must be able to SET ROLE %q", newOwner)
		}
		if t.obj.Schema != "" && !snap.Has(newOwner, catalog.Object{Kind: catalog.ObjectSchema, Name: t.obj.Schema}, Create) {
			return "", nil, pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for schema %s", t.obj.Schema)
		}
	}
	old := snap.Owner(t.obj)
	acl, explicit := snap.ACL(t.obj)
	var items []string
	if explicit {
		items, _ = catalog.RenameInACL(acl.Strings(), old, newOwner)
	}
	if err := s.cat.SetACL(ctx, catalog.ObjectACL{Object: t.obj, Owner: newOwner, ACL: items}); err != nil {
		return "", nil, err
	}
	if t.obj.Kind == catalog.ObjectSecret {
		if err := s.cat.SetSecretOwner(ctx, catalog.Ref{Schema: t.obj.Schema, Name: t.obj.Name}, newOwner); err != nil {
			return "", nil, err
		}
	}
	return "ALTER " + st.Kind, nil, nil
}

// reassignOwned runs REASSIGN OWNED BY old TO new: every object old owns
// becomes new's (a superuser, or a role with the privileges of both).
func (s *Statements) reassignOwned(ctx context.Context, st *sql.ReassignOwned, a Actor) (string, []*pgerr.Error, error) {
	snap := a.Check.Snapshot()
	to := st.To.Name
	if st.To.Current {
		to = a.Role
	}
	if _, ok := snap.Role(to); !ok {
		return "", nil, pgerr.New(pgerrcode.UndefinedObject, "role %q does not exist", to)
	}
	var changes []catalog.ObjectACL
	for _, f := range st.From {
		from := f.Name
		if f.Current {
			from = a.Role
		}
		if _, ok := snap.Role(from); !ok {
			return "", nil, pgerr.New(pgerrcode.UndefinedObject, "role %q does not exist", from)
		}
		if from == Builtin {
			return "", nil, pgerr.New(pgerrcode.DependentObjectsStillExist,
				"cannot reassign ownership of objects owned by role %s because they are required by the database system", Builtin)
		}
		if !snap.Superuser(a.Role) && !(snap.HasPrivsOf(a.Role, from) && snap.HasPrivsOf(a.Role, to)) {
			return "", nil, pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to reassign objects")
		}
		for _, o := range snap.Objects() {
			if o.Owner != from {
				continue
			}
			acl := o.ACL
			if acl != nil {
				acl, _ = catalog.RenameInACL(acl, from, to)
			}
			changes = append(changes, catalog.ObjectACL{Object: o.Object, Owner: to, ACL: acl})
			if o.Object.Kind == catalog.ObjectSecret {
				if err := s.cat.SetSecretOwner(ctx, catalog.Ref{Schema: o.Object.Schema, Name: o.Object.Name}, to); err != nil {
					return "", nil, err
				}
			}
		}
	}
	if err := s.cat.SetACL(ctx, changes...); err != nil {
		return "", nil, err
	}
	return "REASSIGN OWNED", nil, nil
}
