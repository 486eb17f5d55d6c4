package catalog

// Who owns what and who may do what, as PostgreSQL keeps it: an owner and
// an access control list per object (pg_class.relacl's aclitem text,
// "grantee=privileges/grantor"), role memberships (pg_auth_members), and
// default privileges (pg_default_acl). Package access reads them into a
// snapshot and decides; this file only stores them.

import (
	"context"
	"database/sql"
	"fmt"
)

// accessDDL creates the tables; schema.go's ddl lists it.
var accessDDL = []string{
	// kind is "relation" (tables, views, sequences, sources, materialized
	// views, pipelines: one namespace per schema, as pg_class), "schema",
	// "database" or "secret"; schema is "" for schemas and databases. acl
	// NULL means the kind's default privileges (the owner's only).
	`CREATE TABLE IF NOT EXISTS sluice_catalog.acl (
		kind    VARCHAR NOT NULL,
		schema  VARCHAR NOT NULL,
		name    VARCHAR NOT NULL,
		owner   VARCHAR NOT NULL,
		acl     VARCHAR[]
	)`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.role_members (
		role          VARCHAR NOT NULL,
		member        VARCHAR NOT NULL,
		admin_option  BOOLEAN NOT NULL,
		grantor       VARCHAR NOT NULL
	)`,
	// The privileges objects get when role creates them, in schema ("" =
	// any schema), of kind ("relation" or "schema").
	`CREATE TABLE IF NOT EXISTS sluice_catalog.default_acl (
		role    VARCHAR NOT NULL,
		schema  VARCHAR NOT NULL,
		kind    VARCHAR NOT NULL,
		acl     VARCHAR[] NOT NULL
	)`,
	// The roles that are not SQL roles (the built-in and predefined ones,
	// the configuration file's users), for pg_roles: rewritten at each
	// start (SetStaticRoles).
	`CREATE TABLE IF NOT EXISTS sluice_catalog.static_roles (
		oid         BIGINT NOT NULL,
		name        VARCHAR NOT NULL,
		superuser   BOOLEAN NOT NULL,
		createrole  BOOLEAN NOT NULL,
		inherit     BOOLEAN NOT NULL,
		login       BOOLEAN NOT NULL
	)`,
	`ALTER TABLE sluice_catalog.roles ADD COLUMN IF NOT EXISTS superuser BOOLEAN DEFAULT false`,
	`ALTER TABLE sluice_catalog.roles ADD COLUMN IF NOT EXISTS createrole BOOLEAN DEFAULT false`,
	`ALTER TABLE sluice_catalog.roles ADD COLUMN IF NOT EXISTS inherit BOOLEAN DEFAULT true`,
}

// ObjectKind is the kind of an object that has an owner and privileges.
type ObjectKind string

const (
	ObjectRelation ObjectKind = "relation"
	ObjectSchema   ObjectKind = "schema"
	ObjectDatabase ObjectKind = "database"
	ObjectSecret   ObjectKind = "secret"
)

// Object names an object that has an owner and privileges. For a schema or
// the database, Schema is "" and Name is its name.
type Object struct {
	Kind   ObjectKind
	Schema string
	Name   string
}

func (o Object) String() string {
	if o.Schema == "" {
		return string(o.Kind) + " " + o.Name
	}
	return string(o.Kind) + " " + o.Schema + "." + o.Name
}

// RelationObject is the object of a relation.
func RelationObject(r Ref) Object {
	return Object{Kind: ObjectRelation, Schema: r.Schema, Name: r.Name}
}

// ObjectACL is an object's owner and access control list (nil: the kind's
// default privileges).
type ObjectACL struct {
	Object Object
	Owner  string
	ACL    []string
}

// Membership is a row of pg_auth_members: Member is a member of Role.
type Membership struct {
	Role, Member string
	AdminOption  bool
	Grantor      string
}

// DefaultACL is a row of pg_default_acl: what objects of Kind that Role
// creates in Schema ("" = anywhere) are granted.
type DefaultACL struct {
	Role   string
	Schema string
	Kind   ObjectKind
	ACL    []string
}

// AccessRows is everything access decides from.
type AccessRows struct {
	Roles    []Role
	Objects  []ObjectACL
	Members  []Membership
	Defaults []DefaultACL
}

// AccessRows reads the roles, objects' owners and ACLs, memberships and
// default privileges, in one transaction.
func (s *Store) AccessRows(ctx context.Context) (AccessRows, error) {
	var out AccessRows
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT oid, name, login, coalesce(verifier, ''), coalesce(superuser, false),
			coalesce(createrole, false), coalesce(inherit, true) FROM sluice_catalog.roles ORDER BY oid`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r Role
			if err := rows.Scan(&r.OID, &r.Name, &r.Login, &r.Verifier, &r.Superuser, &r.CreateRole, &r.Inherit); err != nil {
				rows.Close()
				return err
			}
			out.Roles = append(out.Roles, r)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT kind, schema, name, owner, acl FROM sluice_catalog.acl`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var o ObjectACL
			var acl any
			if err := rows.Scan(&o.Object.Kind, &o.Object.Schema, &o.Object.Name, &o.Owner, &acl); err != nil {
				rows.Close()
				return err
			}
			o.ACL = strs(acl)
			out.Objects = append(out.Objects, o)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT role, member, admin_option, grantor FROM sluice_catalog.role_members`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var m Membership
			if err := rows.Scan(&m.Role, &m.Member, &m.AdminOption, &m.Grantor); err != nil {
				rows.Close()
				return err
			}
			out.Members = append(out.Members, m)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT role, schema, kind, acl FROM sluice_catalog.default_acl`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d DefaultACL
			var acl any
			if err := rows.Scan(&d.Role, &d.Schema, &d.Kind, &acl); err != nil {
				rows.Close()
				return err
			}
			d.ACL = strs(acl)
			out.Defaults = append(out.Defaults, d)
		}
		return closeRows(rows)
	})
	return out, err
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// strs is a scanned VARCHAR[] (nil for NULL).
func strs(v any) []string {
	l, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// aclLiteral is a DuckDB VARCHAR[] literal of an ACL (NULL for nil: the
// default privileges).
func aclLiteral(items []string) string {
	if items == nil {
		return "NULL::VARCHAR[]"
	}
	return listLiteral(items) + "::VARCHAR[]"
}

// execer runs statements in a transaction or on a connection.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// putACL records an object's owner and ACL, replacing what was recorded.
func putACL(ctx context.Context, ex execer, o ObjectACL) error {
	if err := deleteACL(ctx, ex, o.Object); err != nil {
		return err
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO sluice_catalog.acl VALUES ($1, $2, $3, $4, `+aclLiteral(o.ACL)+`)`,
		string(o.Object.Kind), o.Object.Schema, o.Object.Name, o.Owner)
	return err
}

// putOwner records a new relation's owner and ACL; none without an owner.
func putOwner(ctx context.Context, ex execer, ref Ref, owner string, acl []string) error {
	if owner == "" {
		return nil
	}
	return putACL(ctx, ex, ObjectACL{Object: RelationObject(ref), Owner: owner, ACL: acl})
}

func deleteACL(ctx context.Context, ex execer, o Object) error {
	_, err := ex.ExecContext(ctx, `DELETE FROM sluice_catalog.acl WHERE kind = $1 AND schema = $2 AND name = $3`,
		string(o.Kind), o.Schema, o.Name)
	return err
}

// SetACL records objects' owners and ACLs (GRANT, REVOKE, ALTER ... OWNER
// TO, a new object), each replacing what was recorded, in one
// transaction. It moves the generation: privileges decide how statements
// bind for a role.
func (s *Store) SetACL(ctx context.Context, objs ...ObjectACL) error {
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		for _, o := range objs {
			if err := putACL(ctx, tx, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// ACLStatements are the statements that record objects' owners and ACLs,
// for a session to run in its own transaction together with the DDL that
// created, renamed or dropped them (plain DuckDB relations and schemas).
// A nil ACL with an empty Owner deletes the object's row.
func ACLStatements(objs ...ObjectACL) []string {
	var out []string
	lit := quoteLiteral
	for _, o := range objs {
		out = append(out, fmt.Sprintf(`DELETE FROM sluice_catalog.acl WHERE kind = %s AND schema = %s AND name = %s`,
			lit(string(o.Object.Kind)), lit(o.Object.Schema), lit(o.Object.Name)))
		if o.Owner != "" {
			out = append(out, fmt.Sprintf(`INSERT INTO sluice_catalog.acl VALUES (%s, %s, %s, %s, %s)`,
				lit(string(o.Object.Kind)), lit(o.Object.Schema), lit(o.Object.Name), lit(o.Owner), aclLiteral(o.ACL)))
		}
	}
	return out
}

// RenameACLStatements moves an object's row to a new name, and for a
// schema every row of the objects in it.
func RenameACLStatements(from, to Object) []string {
	lit := quoteLiteral
	out := []string{fmt.Sprintf(`UPDATE sluice_catalog.acl SET schema = %s, name = %s WHERE kind = %s AND schema = %s AND name = %s`,
		lit(to.Schema), lit(to.Name), lit(string(from.Kind)), lit(from.Schema), lit(from.Name))}
	if from.Kind == ObjectSchema {
		out = append(out, fmt.Sprintf(`UPDATE sluice_catalog.acl SET schema = %s WHERE kind <> 'schema' AND schema = %s`,
			lit(to.Name), lit(from.Name)))
	}
	return out
}

// DropSchemaACLStatements delete the rows of a schema and of every object
// in it (DROP SCHEMA ... CASCADE).
func DropSchemaACLStatements(schema string) []string {
	lit := quoteLiteral(schema)
	return []string{
		`DELETE FROM sluice_catalog.acl WHERE kind = 'schema' AND name = ` + lit,
		`DELETE FROM sluice_catalog.acl WHERE kind <> 'schema' AND schema = ` + lit,
	}
}

// AddMember records that member is a member of role (GRANT role TO member),
// or changes its admin option.
func (s *Store) AddMember(ctx context.Context, m Membership) error {
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.role_members WHERE role = $1 AND member = $2`, m.Role, m.Member); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.role_members VALUES ($1, $2, $3, $4)`, m.Role, m.Member, m.AdminOption, m.Grantor)
		return err
	})
}

// RemoveMember removes a membership (REVOKE role FROM member), or only its
// admin option; ok is false when there was none.
func (s *Store) RemoveMember(ctx context.Context, role, member string, adminOnly bool) (ok bool, err error) {
	err = s.ddlTx(ctx, func(tx *sql.Tx) error {
		q := `DELETE FROM sluice_catalog.role_members WHERE role = $1 AND member = $2`
		if adminOnly {
			q = `UPDATE sluice_catalog.role_members SET admin_option = false WHERE role = $1 AND member = $2`
		}
		res, err := tx.ExecContext(ctx, q, role, member)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n > 0
		return err
	})
	return ok, err
}

// SetDefaultACL replaces the default privileges of (role, schema, kind);
// an empty acl removes them.
func (s *Store) SetDefaultACL(ctx context.Context, d DefaultACL) error {
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.default_acl WHERE role = $1 AND schema = $2 AND kind = $3`,
			d.Role, d.Schema, string(d.Kind)); err != nil {
			return err
		}
		if len(d.ACL) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.default_acl VALUES ($1, $2, $3, `+aclLiteral(d.ACL)+`)`,
			d.Role, d.Schema, string(d.Kind))
		return err
	})
}

// SetStaticRoles replaces the rows of the roles that are not SQL roles.
func (s *Store) SetStaticRoles(ctx context.Context, roles []Role) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.static_roles`); err != nil {
			return err
		}
		for _, r := range roles {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.static_roles VALUES ($1, $2, $3, $4, $5, $6)`,
				r.OID, r.Name, r.Superuser, r.CreateRole, r.Inherit, r.Login); err != nil {
				return err
			}
		}
		return nil
	})
}
