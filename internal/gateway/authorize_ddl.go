package gateway

// The checks of statements that are not queries, by their shape: COPY to
// and from server files, CREATE, ALTER, DROP and COMMENT of plain DuckDB
// objects (with the owners and privileges they record), and PRAGMA.

import (
	"context"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// authorizeCopyFile checks COPY to or from a server file.
func (s *session) authorizeCopyFile(ctx context.Context, c *access.Checker, sh *sql.Shape, super bool) error {
	if sh.From {
		for _, n := range sh.Names {
			if err := s.requireNamed(c, n, access.Insert); err != nil {
				return err
			}
		}
		return c.ReadFile(s.user, "COPY FROM a file", []string{sh.Path})
	}
	if sh.Query != "" {
		if err := s.checkQuery(ctx, c, sh.Query, nil); err != nil {
			return err
		}
	}
	for _, n := range sh.Names {
		if err := s.requireNamed(c, n, access.Select); err != nil {
			return err
		}
	}
	return c.WriteFile(s.user, "COPY TO a file", sh.Path)
}

// authorizeCreate checks CREATE of a plain DuckDB object: CREATE on its
// schema (temporary objects are the session's own), the query it is made
// from, and for CREATE OR REPLACE of an existing one, its ownership.
func (s *session) authorizeCreate(ctx context.Context, c *access.Checker, sh *sql.Shape, text string, super bool) error {
	snap := c.Snapshot()
	switch sh.Object {
	case "SCHEMA":
		if !snap.Has(s.user, catalog.Object{Kind: catalog.ObjectDatabase, Name: catalog.DatabaseName}, access.Create) {
			return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for database %s", catalog.DatabaseName)
		}
		return nil
	case "INDEX":
		if sh.On != nil {
			if ref, _, ok := c.Resolve(*sh.On, s.scope()); ok && !snap.Owns(s.user, catalog.RelationObject(ref)) {
				return pgerr.New(pgerrcode.InsufficientPrivilege, "must be owner of table %s", ref.Name)
			}
		}
		return nil
	case "SECRET":
		return nil // the dialect's CREATE SECRET, or DuckDB's, refused by it
	case "TABLE", "VIEW", "SEQUENCE", "MACRO", "TYPE":
	default:
		if super {
			return nil
		}
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied: only superusers may create %s objects", strings.ToLower(sh.Object))
	}
	temporary := func() error {
		if snap.Has(s.user, catalog.Object{Kind: catalog.ObjectDatabase, Name: catalog.DatabaseName}, access.Temporary) {
			return nil
		}
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to create temporary tables in database %q", catalog.DatabaseName)
	}
	if sh.Temp {
		if err := temporary(); err != nil {
			return err
		}
	} else {
		for _, n := range sh.Names {
			schema := n.Schema
			if schema == "" {
				schema = searchPath[0]
			}
			if strings.EqualFold(schema, "temp") {
				if err := temporary(); err != nil {
					return err
				}
				continue
			}
			if !super && !snap.Has(s.user, catalog.Object{Kind: catalog.ObjectSchema, Name: schema}, access.Create) {
				return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for schema %s", schema)
			}
			if ref, _, ok := c.Resolve(n, s.scope()); ok && sh.OrReplace && !snap.Owns(s.user, catalog.RelationObject(ref)) {
				return pgerr.New(pgerrcode.InsufficientPrivilege, "must be owner of %s %s", strings.ToLower(sh.Object), ref.Name)
			}
		}
	}
	switch {
	case sh.Object == "VIEW":
		return nil // a view is checked when read, with its owner's privileges
	case sh.Object == "MACRO":
		return nil // a macro is checked when called, as its caller's query
	case sh.Query != "":
		if super && !mayReachFiles(sh.Query) {
			return nil
		}
		return s.checkQuery(ctx, c, sh.Query, nil)
	}
	return s.checkNames(ctx, c, text, sh.Names, super)
}

// authorizeOwner checks DROP, ALTER and COMMENT ON of plain DuckDB
// objects: only their owners (and superusers) change them.
func (s *session) authorizeOwner(c *access.Checker, sh *sql.Shape, super bool) error {
	if super {
		return nil
	}
	snap := c.Snapshot()
	names := sh.Names
	if sh.On != nil {
		names = []sql.Name{*sh.On}
	}
	for _, n := range names {
		if sh.Object == "SCHEMA" {
			obj := catalog.Object{Kind: catalog.ObjectSchema, Name: n.Name}
			if snap.SchemaExists(n.Name) && !snap.Owns(s.user, obj) {
				return pgerr.New(pgerrcode.InsufficientPrivilege, "must be owner of schema %s", n.Name)
			}
			continue
		}
		ref, _, ok := c.Resolve(n, s.scope())
		if !ok {
			continue // a temporary object, or none: DuckDB judges
		}
		if !snap.Owns(s.user, catalog.RelationObject(ref)) {
			return pgerr.New(pgerrcode.InsufficientPrivilege, "must be owner of %s %s", strings.ToLower(sh.Object), ref.Name)
		}
	}
	return nil
}

// pragmas are the PRAGMA calls every role may make; table_info, show and
// storage_info read the relation they name.
var pragmas = map[string]bool{"version": true, "platform": true, "user_agent": true, "collations": true,
	"table_info": true, "show": true, "storage_info": true}

// authorizePragma checks PRAGMA: an assignment is SET (refused), a call of
// the few read-only pragmas is allowed, others are superusers', and
// add_parquet_key nobody's (encryption keys come from the configuration).
func (s *session) authorizePragma(ctx context.Context, c *access.Checker, sh *sql.Shape, super bool) error {
	switch {
	case sh.Assign:
		return s.g.engineSetting(sh.Setting)
	case sh.Setting == "add_parquet_key":
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to add encryption keys: they come from the gateway's configuration")
	case sh.Setting == "import_database":
		if !super {
			return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied: only superusers may import databases")
		}
		for _, a := range sh.Args {
			if err := c.Roots().Check(a); err != nil {
				return err
			}
		}
		return nil
	case super:
		return nil
	case !pragmas[sh.Setting]:
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for pragma %s: only superusers may call it", sh.Setting)
	case sh.Setting == "table_info" || sh.Setting == "show" || sh.Setting == "storage_info":
		for _, a := range sh.Args {
			if err := c.Query(ctx, s.user, &sqlplan.Analysis{TableFunctions: []sqlplan.FuncCall{{Name: "pragma_table_info", Args: []string{a}, ArgsConstant: true}}}, s.scope()); err != nil {
				return err
			}
		}
	}
	return nil
}

// ownershipOf returns the statements that keep the catalog's owners and
// privileges in step with a plain DuckDB DDL statement: a new relation or
// schema is its creator's, with the creator's default privileges; a
// dropped one leaves nothing behind (a later object of the same name
// starts afresh); a renamed one keeps its owner and grants.
func (s *session) ownershipOf(c *access.Checker, sh *sql.Shape) []string {
	if sh.Temp {
		return nil
	}
	snap := c.Snapshot()
	kinds := map[string]catalog.Kind{"TABLE": catalog.KindTable, "VIEW": catalog.KindView, "SEQUENCE": catalog.KindSequence}
	var out []string
	switch sh.Verb {
	case "CREATE":
		if sh.Object == "SCHEMA" {
			for _, n := range sh.Names {
				if snap.SchemaExists(n.Name) {
					continue // IF NOT EXISTS: it is not new
				}
				obj := catalog.Object{Kind: catalog.ObjectSchema, Name: n.Name}
				acl := snap.DefaultACLFor(s.user, catalog.ObjectSchema, "", access.Applicable(catalog.ObjectSchema, ""))
				out = append(out, catalog.ACLStatements(catalog.ObjectACL{Object: obj, Owner: s.user, ACL: acl})...)
			}
			return out
		}
		kind, ok := kinds[sh.Object]
		if !ok {
			return nil
		}
		for _, n := range sh.Names {
			if _, _, exists := c.Resolve(n, s.scope()); exists {
				continue // OR REPLACE keeps the owner and grants; IF NOT EXISTS changes nothing
			}
			ref := catalog.Ref{Schema: n.Schema, Name: n.Name}
			if ref.Schema == "" {
				ref.Schema = searchPath[0]
			}
			if strings.EqualFold(ref.Schema, "temp") {
				continue
			}
			acl := snap.DefaultACLFor(s.user, catalog.ObjectRelation, ref.Schema, access.Applicable(catalog.ObjectRelation, kind))
			out = append(out, catalog.ACLStatements(catalog.ObjectACL{Object: catalog.RelationObject(ref), Owner: s.user, ACL: acl})...)
		}
	case "DROP":
		for _, n := range sh.Names {
			if sh.Object == "SCHEMA" {
				out = append(out, catalog.DropSchemaACLStatements(n.Name)...)
				continue
			}
			if ref, _, ok := c.Resolve(n, s.scope()); ok {
				out = append(out, catalog.ACLStatements(catalog.ObjectACL{Object: catalog.RelationObject(ref)})...)
			}
		}
	case "ALTER":
		if sh.RenameTo == "" || len(sh.Names) == 0 {
			return nil
		}
		if ref, _, ok := c.Resolve(sh.Names[0], s.scope()); ok {
			to := catalog.Ref{Schema: ref.Schema, Name: sh.RenameTo}
			out = append(out, catalog.RenameACLStatements(catalog.RelationObject(ref), catalog.RelationObject(to))...)
		}
	}
	return out
}
