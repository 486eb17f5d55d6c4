package catalog

// Roles made with CREATE ROLE / CREATE USER. A role's password is stored
// only as a SCRAM-SHA-256 verifier (PostgreSQL's rolpassword format), never
// in clear. Users of the gateway's configuration file are not here.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// The roles table; schema.go's ddl lists both statements.
const (
	// Role OIDs live apart from relation OIDs, above PostgreSQL's
	// FirstNormalObjectId (16384, the database's OID here).
	roleIDsDDL = `CREATE SEQUENCE IF NOT EXISTS sluice_catalog.role_ids START 16385`
	rolesDDL   = `CREATE TABLE IF NOT EXISTS sluice_catalog.roles (
		oid         BIGINT NOT NULL,
		name        VARCHAR NOT NULL,
		login       BOOLEAN NOT NULL,
		verifier    VARCHAR,
		created_at  TIMESTAMPTZ NOT NULL,
		updated_at  TIMESTAMPTZ NOT NULL
	)`
)

// Role is a row of sluice.roles.
type Role struct {
	OID   int64
	Name  string
	Login bool
	// Verifier is the SCRAM-SHA-256 verifier of the role's password, ""
	// when it has none (it cannot log in with a password).
	Verifier string
	// Superuser, CreateRole and Inherit are PostgreSQL's role attributes
	// (rolsuper, rolcreaterole, rolinherit).
	Superuser  bool
	CreateRole bool
	Inherit    bool
}

func errRoleExists(name string) error {
	return pgerr.New(pgerrcode.DuplicateObject, "role \"%s\" already exists", name)
}

func errNoRole(name string) error {
	return pgerr.New(pgerrcode.UndefinedObject, "role \"%s\" does not exist", name)
}

// CreateRole records a new role; 42710 if one of that name exists.
func (s *Store) CreateRole(ctx context.Context, r Role) error {
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		if _, ok, err := getRole(ctx, tx, r.Name); err != nil || ok {
			if ok {
				err = errRoleExists(r.Name)
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.roles (oid, name, login, verifier, created_at, updated_at, superuser, createrole, inherit)
			VALUES (nextval('sluice_catalog.role_ids'), $1, $2, $3, now(), now(), $4, $5, $6)`,
			r.Name, r.Login, nullString(r.Verifier), r.Superuser, r.CreateRole, r.Inherit)
		return err
	})
}

// Role returns the role named name; ok is false when there is none.
func (s *Store) Role(ctx context.Context, name string) (r Role, ok bool, err error) {
	return getRole(ctx, s.db, name)
}

// AlterRole changes the role named name with change, in one transaction;
// 42704 if there is none, 42710 if change renames it to a taken name. A
// rename renames the role everywhere it is named: owners, ACL items,
// memberships, default privileges.
func (s *Store) AlterRole(ctx context.Context, name string, change func(*Role) error) error {
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		r, ok, err := getRole(ctx, tx, name)
		if err != nil {
			return err
		}
		if !ok {
			return errNoRole(name)
		}
		if err := change(&r); err != nil {
			return err
		}
		if r.Name != name {
			if _, taken, err := getRole(ctx, tx, r.Name); err != nil || taken {
				if taken {
					err = errRoleExists(r.Name)
				}
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE sluice_catalog.roles SET name = $2, login = $3, verifier = $4, superuser = $5,
			createrole = $6, inherit = $7, updated_at = now() WHERE oid = $1`,
			r.OID, r.Name, r.Login, nullString(r.Verifier), r.Superuser, r.CreateRole, r.Inherit)
		if err != nil || r.Name == name {
			return err
		}
		return renameRole(ctx, tx, name, r.Name)
	})
}

// renameRole changes a role's name in owners, ACL items, memberships and
// default privileges (ALTER ROLE ... RENAME TO).
func renameRole(ctx context.Context, tx *sql.Tx, from, to string) error {
	for _, q := range []string{
		`UPDATE sluice_catalog.acl SET owner = $2 WHERE owner = $1`,
		`UPDATE sluice_catalog.role_members SET role = $2 WHERE role = $1`,
		`UPDATE sluice_catalog.role_members SET member = $2 WHERE member = $1`,
		`UPDATE sluice_catalog.role_members SET grantor = $2 WHERE grantor = $1`,
		`UPDATE sluice_catalog.default_acl SET role = $2 WHERE role = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, from, to); err != nil {
			return err
		}
	}
	for _, table := range []string{"acl", "default_acl"} {
		type row struct {
			key []any
			acl []string
		}
		keys := "kind, schema, name"
		if table == "default_acl" {
			keys = "role, schema, kind"
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+keys+`, acl FROM sluice_catalog.`+table+` WHERE acl IS NOT NULL`)
		if err != nil {
			return err
		}
		var changed []row
		for rows.Next() {
			var a, b, c string
			var acl any
			if err := rows.Scan(&a, &b, &c, &acl); err != nil {
				rows.Close()
				return err
			}
			items, moved := RenameInACL(strs(acl), from, to)
			if moved {
				changed = append(changed, row{key: []any{a, b, c}, acl: items})
			}
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		k := strings.Split(keys, ", ")
		for _, r := range changed {
			q := fmt.Sprintf(`UPDATE sluice_catalog.%s SET acl = %s WHERE %s = $1 AND %s = $2 AND %s = $3`, table, aclLiteral(r.acl), k[0], k[1], k[2])
			if _, err := tx.ExecContext(ctx, q, r.key...); err != nil {
				return err
			}
		}
	}
	return nil
}

// DropRole removes the role named name, its memberships (both ways) and
// its default privileges; ok is false when there was none. The caller has
// checked that it owns nothing and holds no privilege (PostgreSQL's 2BP01).
func (s *Store) DropRole(ctx context.Context, name string) (ok bool, err error) {
	err = s.ddlTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.roles WHERE name = $1`, name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n > 0
		for _, q := range []string{
			`DELETE FROM sluice_catalog.role_members WHERE role = $1 OR member = $1`,
			`DELETE FROM sluice_catalog.default_acl WHERE role = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		return err
	})
	return ok, err
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getRole(ctx context.Context, q queryRower, name string) (Role, bool, error) {
	r := Role{Name: name}
	var v sql.NullString
	err := q.QueryRowContext(ctx, `SELECT oid, login, verifier, coalesce(superuser, false), coalesce(createrole, false),
		coalesce(inherit, true) FROM sluice_catalog.roles WHERE name = $1`, name).Scan(&r.OID, &r.Login, &v, &r.Superuser, &r.CreateRole, &r.Inherit)
	if errors.Is(err, sql.ErrNoRows) {
		return Role{}, false, nil
	}
	if err != nil {
		return Role{}, false, err
	}
	r.Verifier = v.String
	return r, true, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
