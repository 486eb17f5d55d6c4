package catalog

// Roles made with CREATE ROLE / CREATE USER. A role's password is stored
// only as a SCRAM-SHA-256 verifier (PostgreSQL's rolpassword format), never
// in clear. Users of the gateway's configuration file are not here.

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// The roles table; schema.go's ddl lists both statements.
const (
	// Role OIDs live apart from relation OIDs, above PostgreSQL's
	// FirstNormalObjectId (16384, the database's OID here).
	roleIDsDDL = `CREATE SEQUENCE IF NOT EXISTS sluice.role_ids START 16385`
	rolesDDL   = `CREATE TABLE IF NOT EXISTS sluice.roles (
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
}

func errRoleExists(name string) error {
	return pgerr.New(pgerrcode.DuplicateObject, "role \"%s\" already exists", name)
}

func errNoRole(name string) error {
	return pgerr.New(pgerrcode.UndefinedObject, "role \"%s\" does not exist", name)
}

// CreateRole records a new role; 42710 if one of that name exists.
func (s *Store) CreateRole(ctx context.Context, r Role) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, ok, err := getRole(ctx, tx, r.Name); err != nil || ok {
			if ok {
				err = errRoleExists(r.Name)
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sluice.roles VALUES (nextval('sluice.role_ids'), $1, $2, $3, now(), now())`,
			r.Name, r.Login, nullString(r.Verifier))
		return err
	})
}

// Role returns the role named name; ok is false when there is none.
func (s *Store) Role(ctx context.Context, name string) (r Role, ok bool, err error) {
	return getRole(ctx, s.db, name)
}

// AlterRole changes the role named name with change, in one transaction;
// 42704 if there is none, 42710 if change renames it to a taken name.
func (s *Store) AlterRole(ctx context.Context, name string, change func(*Role) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
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
		_, err = tx.ExecContext(ctx, `UPDATE sluice.roles SET name = $2, login = $3, verifier = $4, updated_at = now() WHERE oid = $1`,
			r.OID, r.Name, r.Login, nullString(r.Verifier))
		return err
	})
}

// DropRole removes the role named name; ok is false when there was none.
func (s *Store) DropRole(ctx context.Context, name string) (ok bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sluice.roles WHERE name = $1`, name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n > 0
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
	err := q.QueryRowContext(ctx, `SELECT oid, login, verifier FROM sluice.roles WHERE name = $1`, name).Scan(&r.OID, &r.Login, &v)
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
