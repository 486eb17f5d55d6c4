package ddl

import (
	"context"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
)

// Who may run each object statement, as PostgreSQL decides for its own
// objects:
//
//	CREATE SOURCE / MATERIALIZED VIEW / PIPELINE   CREATE on the schema; the query's
//	                                               relations readable by the creator;
//	                                               FILES: pg_read_server_files and the
//	                                               file roots; KAFKA, POSTGRES, HTTP:
//	                                               sluice_external_access
//	REFRESH, backfill, ALTER ... SUSPEND | RESUME  REFRESH on the object
//	ALTER ... SET, DROP                            the owner
//	EXPLAIN REFRESH                                SELECT or REFRESH on the object
//	CREATE SECRET                                  CREATE on the schema
//	ALTER / DROP SECRET                            the secret's owner
//	a SECRET name in a source's options            USAGE on the secret
//
// Superusers pass every check. A refresh runs as the object's owner
// (materialize.Options.Authorize), whoever starts it.

// snap is the actor's snapshot, nil when the executor checks nothing (no
// actor: Sluice's own work).
func (x *Executor) snap() *access.Snapshot {
	if x.actor.Check == nil {
		return nil
	}
	return x.actor.Check.Snapshot()
}

func (x *Executor) superuser() bool {
	s := x.snap()
	return s == nil || s.Superuser(x.actor.Role)
}

// requireCreate checks CREATE on the schema a new object goes in.
func (x *Executor) requireCreate(schema string) error {
	s := x.snap()
	if s == nil || s.Has(x.actor.Role, catalog.Object{Kind: catalog.ObjectSchema, Name: schema}, access.Create) {
		return nil
	}
	return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for schema %s", schema)
}

// require checks a privilege on an object of the catalog.
func (x *Executor) require(ref catalog.Ref, kind catalog.Kind, p access.Priv) error {
	if x.snap() == nil {
		return nil
	}
	return x.actor.Check.Require(x.actor.Role, ref, p)
}

// requireOwner checks that the actor may act as the object's owner.
func (x *Executor) requireOwner(ref catalog.Ref, kind catalog.Kind) error {
	s := x.snap()
	if s == nil || s.Owns(x.actor.Role, catalog.RelationObject(ref)) {
		return nil
	}
	return pgerr.New(pgerrcode.InsufficientPrivilege, "must be owner of %s %s", kind, ref.Name)
}

// checkQuery checks that the actor may read what a query reads (a new
// materialized view's or pipeline's).
func (x *Executor) checkQuery(ctx context.Context, query string) error {
	if x.snap() == nil {
		return nil
	}
	a, err := x.actor.Check.Analyze(ctx, query)
	if err != nil {
		return nil // not a query DuckDB can serialise: DuckDB will judge it
	}
	return x.actor.Check.Query(ctx, x.actor.Role, a, x.actor.Scope)
}

// owned returns a new relation's owner and ACL: the actor, with the
// default privileges it set (ALTER DEFAULT PRIVILEGES).
func (x *Executor) owned(ref catalog.Ref, kind catalog.Kind) (string, []string) {
	s := x.snap()
	if s == nil {
		return "", nil
	}
	return x.actor.Role, s.DefaultACLFor(x.actor.Role, catalog.ObjectRelation, ref.Schema, access.Applicable(catalog.ObjectRelation, kind))
}

// requireConnector checks that the actor may create a source that reaches
// another server.
func (x *Executor) requireConnector(connector string) error {
	s := x.snap()
	if s == nil || s.HasPrivsOf(x.actor.Role, access.ExternalAccess) {
		return nil
	}
	e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to create %s sources", strings.ToUpper(connector))
	e.Detail = "A source that reaches another server needs superuser or the privileges of " + access.ExternalAccess + "."
	return e
}

// requireFiles checks that the actor may read the files a FILES source
// names (an absolute path or an s3:// URL).
func (x *Executor) requireFiles(location string) error {
	if x.snap() == nil {
		return nil
	}
	return x.actor.Check.ReadFile(x.actor.Role, "a FILES source", []string{location})
}

// secretObject is a secret's object for privileges.
func secretObject(ref catalog.Ref) catalog.Object {
	return catalog.Object{Kind: catalog.ObjectSecret, Schema: ref.Schema, Name: ref.Name}
}

// requireSecret checks a privilege on a secret; owner is the secret's
// recorded owner.
func (x *Executor) requireSecret(ref catalog.Ref, owner string, p access.Priv, what string) error {
	s := x.snap()
	if s == nil || s.HasPrivsOf(x.actor.Role, owner) {
		return nil
	}
	if p != 0 && s.Has(x.actor.Role, secretObject(ref), p) {
		return nil
	}
	if p == 0 {
		return pgerr.New(pgerrcode.InsufficientPrivilege, "must be owner of secret %s", ref.Name)
	}
	return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for secret %s (%s)", ref.Name, what)
}

// checkDefinition checks a new materialized view's or pipeline's CREATE on
// its schema and what its query and its EXPECT predicates read, before
// DuckDB binds them.
func (x *Executor) checkDefinition(ctx context.Context, schema, query string, constraints []sql.Constraint) error {
	if err := x.requireCreate(schema); err != nil {
		return err
	}
	if err := x.checkQuery(ctx, query); err != nil {
		return err
	}
	for _, c := range constraints {
		if err := x.checkQuery(ctx, "SELECT 1 WHERE "+c.Predicate); err != nil {
			return err
		}
	}
	return nil
}

// requireExplain checks SELECT or REFRESH on an object EXPLAIN REFRESH
// describes.
func (x *Executor) requireExplain(ref catalog.Ref, kind catalog.Kind) error {
	if err := x.require(ref, kind, access.Select); err == nil {
		return nil
	}
	return x.require(ref, kind, access.Refresh)
}
