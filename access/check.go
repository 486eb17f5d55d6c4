package access

import (
	"context"
	"strings"
	"sync"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// Parser parses a query with DuckDB's own parser (json_serialize_sql).
type Parser func(ctx context.Context, query string) (*sqlplan.Analysis, error)

// Temp is one of a session's temporary objects.
type Temp struct {
	Kind string // "table", "view", "macro" or "table macro"
	Body string // a view's query (CREATE VIEW text), a macro's definition
}

// Scope is how a session's unqualified names resolve.
type Scope struct {
	// SearchPath are the schemas unqualified names are looked up in, after
	// the session's temporary objects (DuckDB's order).
	SearchPath []string
	// Temps returns the session's temporary objects by lower-case name;
	// nil when it has none.
	Temps func(ctx context.Context) (map[string]Temp, error)
}

// Checker decides whether a role may run a statement, from one snapshot
// of privileges. Privileges are checked when a statement starts, against
// DuckDB's own parse of it: every relation it names, directly or through
// views (as their owners, as PostgreSQL does), every function it calls
// (macros as the caller, PostgreSQL's SECURITY INVOKER) and every file.
type Checker struct {
	snap   *Snapshot
	roots  *Roots
	parse  Parser
	bodies *sync.Map // query text -> *sqlplan.Analysis (parsing is pure)
}

// Snapshot returns the checker's snapshot.
func (c *Checker) Snapshot() *Snapshot { return c.snap }

// Roots returns the file sandbox.
func (c *Checker) Roots() *Roots { return c.roots }

// maxDepth bounds views over views and macros calling macros.
const maxDepth = 32

// Query checks that role may run a query: SELECT on every relation it
// reads, the privileges of each view's owner on what the view reads, the
// files it names, and the functions it calls.
func (c *Checker) Query(ctx context.Context, role string, a *sqlplan.Analysis, sc Scope) error {
	return c.query(ctx, role, a, sc, "", 0)
}

func (c *Checker) query(ctx context.Context, role string, a *sqlplan.Analysis, sc Scope, viewSchema string, depth int) error {
	if depth > maxDepth {
		return pgerr.New(pgerrcode.ProgramLimitExceeded, "views and macros nest more than %d deep", maxDepth)
	}
	super := c.snap.Superuser(role)
	if a.ListsCatalog && !super {
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to list every relation of the database")
		e.Hint = `Use \dt in psql, or information_schema.tables, which list the relations you may use.`
		return e
	}
	for _, t := range a.Tables {
		if err := c.table(ctx, role, t, sc, viewSchema, depth); err != nil {
			return err
		}
	}
	for _, f := range a.TableFunctions {
		if err := c.tableFunction(ctx, role, f, sc, depth); err != nil {
			return err
		}
	}
	for _, f := range a.Functions {
		if err := c.function(ctx, role, f, sc, depth); err != nil {
			return err
		}
	}
	return nil
}

// The schemas whose relations every role reads: the catalogs (each shows a
// role what it may see) and Sluice's system tables (rows filtered).
var catalogSchemas = map[string]bool{"pg_catalog": true, "information_schema": true, "pg_sluice": true,
	"pg_sluice_info": true, "sluice": true}

// internalSchemas hold Sluice's own tables, which only superusers read.
var internalSchemas = map[string]bool{"sluice_catalog": true}

// database is DuckDB's name of the gateway's database file.
const database = "warehouse"

// table checks one relation reference.
func (c *Checker) table(ctx context.Context, role string, t sqlplan.TableRef, sc Scope, viewSchema string, depth int) error {
	super := c.snap.Superuser(role)
	catalogName, schema, name := strings.ToLower(t.Catalog), strings.ToLower(t.Schema), t.Name
	if catalogName == "" && schema != "" && !c.snap.SchemaExists(schema) && !catalogSchemas[schema] && !internalSchemas[schema] &&
		schema != "main" && schema != "temp" {
		// schema.name where schema is no schema: DuckDB reads it as
		// database.name (another attached database, or temp.name).
		catalogName, schema = schema, ""
	}
	switch catalogName {
	case "", database, catalog.DatabaseName:
	case "temp":
		return c.temp(ctx, role, name, sc, depth)
	case "system":
		if super {
			return nil
		}
		return c.systemRelation(schema, name, t)
	default:
		if super {
			return nil
		}
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for database %q: only superusers read other attached databases", t.Catalog)
	}
	if schema != "" {
		switch {
		case internalSchemas[schema]:
			if super {
				return nil
			}
			return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for schema %s: Sluice's catalog is read through the system tables of schema sluice", schema)
		case catalogSchemas[schema]:
			if !super && schema == "pg_catalog" {
				return c.systemRelation(schema, name, t)
			}
			return nil
		}
		if ref, rel, ok := c.lookup(schema, name); ok {
			return c.relation(ctx, role, ref, rel, sc, depth)
		}
		if schema == "main" {
			if super {
				return nil
			}
			return c.systemRelation("main", name, t)
		}
		return nil // not found: DuckDB reports it
	}
	// Unqualified: the session's temporary objects, then (in a view) the
	// view's schema, then the search path, then the catalogs.
	if sc.Temps != nil {
		temps, err := sc.Temps(ctx)
		if err != nil {
			return err
		}
		if _, ok := temps[strings.ToLower(name)]; ok {
			return c.temp(ctx, role, name, sc, depth)
		}
	}
	path := sc.SearchPath
	if viewSchema != "" {
		path = append([]string{viewSchema}, path...)
	}
	for _, s := range path {
		if ref, rel, ok := c.lookup(s, name); ok {
			return c.relation(ctx, role, ref, rel, sc, depth)
		}
	}
	if looksLikePath(name) {
		// DuckDB reads a file so named (a replacement scan).
		return c.readFile(role, "a relation named by a path", []string{name})
	}
	if super {
		return nil
	}
	return c.systemRelation("", name, t)
}

// systemRelation judges a relation of DuckDB's own catalog for a role that
// is not a superuser.
func (c *Checker) systemRelation(schema, name string, t sqlplan.TableRef) error {
	lname := strings.ToLower(name)
	if catalogViews[lname] && (schema == "" || schema == "main") {
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for view %s: it lists every object of the database", name)
		e.Hint = "Use pg_catalog or information_schema, which list the objects you may use."
		return e
	}
	if (schema == "" || schema == "pg_catalog") && listingCatalogs[lname] {
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for view %s: it lists every object of the database", name)
		e.Hint = "Use pg_catalog or information_schema, which list the objects you may use."
		return e
	}
	if strings.EqualFold(t.Catalog, "system") {
		// DuckDB's own catalogs, unfiltered (pg_catalog and
		// information_schema name the filtered ones).
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for %s.%s.%s", t.Catalog, t.Schema, name)
		e.Hint = "Name pg_catalog and information_schema relations without the system catalog."
		return e
	}
	return nil
}

// listingCatalogs are DuckDB's pg_catalog relations that list objects of
// every role and have no filtered overlay.
var listingCatalogs = map[string]bool{"pg_indexes": true, "pg_sequences": true, "pg_sequence": true, "pg_depend": true}

// lookup finds a relation case-insensitively, as DuckDB resolves names.
func (c *Checker) lookup(schema, name string) (catalog.Ref, catalog.Relation, bool) {
	ref := catalog.Ref{Schema: schema, Name: name}
	if r, ok := c.snap.rels[ref]; ok {
		return ref, r, true
	}
	l := catalog.Ref{Schema: strings.ToLower(schema), Name: strings.ToLower(name)}
	if actual, ok := c.snap.lower[l]; ok {
		return actual, c.snap.rels[actual], true
	}
	return catalog.Ref{}, catalog.Relation{}, false
}

// relation checks SELECT on a relation of the database and, for a plain
// view, its owner's privileges on what it reads.
func (c *Checker) relation(ctx context.Context, role string, ref catalog.Ref, rel catalog.Relation, sc Scope, depth int) error {
	if err := c.Require(role, ref, Select); err != nil {
		return err
	}
	if rel.Kind != catalog.KindView || catalogSchemas[ref.Schema] {
		return nil // Sluice's objects read their own files; tables are data
	}
	body := viewQuery(rel.ViewSQL)
	if body == "" {
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for view %s: its definition cannot be read to check it", ref.Name)
	}
	a, err := c.analyze(ctx, body)
	if err != nil {
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for view %s: its definition cannot be checked: %v", ref.Name, err)
	}
	owner := c.snap.Owner(catalog.RelationObject(ref))
	return c.query(ctx, owner, a, sc, ref.Schema, depth+1)
}

// temp checks a session's temporary object: its own (any temporary table
// may be read); a temporary view reads as the session's role.
func (c *Checker) temp(ctx context.Context, role, name string, sc Scope, depth int) error {
	if sc.Temps == nil {
		return nil
	}
	temps, err := sc.Temps(ctx)
	if err != nil {
		return err
	}
	t, ok := temps[strings.ToLower(name)]
	if !ok || t.Kind != "view" {
		return nil
	}
	a, err := c.analyze(ctx, viewQuery(t.Body))
	if err != nil {
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for view %s: its definition cannot be checked: %v", name, err)
	}
	return c.query(ctx, role, a, sc, "", depth+1)
}

// viewQuery is the query of DuckDB's CREATE VIEW text.
func viewQuery(createView string) string {
	d := sql.ShapeOf(strings.TrimSuffix(strings.TrimSpace(createView), ";"))
	if d == nil {
		return ""
	}
	return d.Query
}

func (c *Checker) analyze(ctx context.Context, query string) (*sqlplan.Analysis, error) {
	if a, ok := c.bodies.Load(query); ok {
		return a.(*sqlplan.Analysis), nil
	}
	a, err := c.parse(ctx, query)
	if err != nil {
		return nil, err
	}
	c.bodies.Store(query, a)
	return a, nil
}

// Require checks that role holds p on a relation, and USAGE on its schema.
func (c *Checker) Require(role string, ref catalog.Ref, p Priv) error {
	if c.snap.Superuser(role) {
		return nil
	}
	if !catalogSchemas[ref.Schema] && !c.snap.Has(role, catalog.Object{Kind: catalog.ObjectSchema, Name: ref.Schema}, Usage) {
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for schema %s", ref.Schema)
	}
	if !c.snap.Has(role, catalog.RelationObject(ref), p) {
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for %s %s", c.kindName(ref), ref.Name)
	}
	return nil
}

// kindName names a relation's kind as PostgreSQL's messages do.
func (c *Checker) kindName(ref catalog.Ref) string {
	switch c.snap.rels[ref].Kind {
	case catalog.KindView:
		return "view"
	case catalog.KindMaterializedView:
		return "materialized view"
	case catalog.KindPipeline:
		return "pipeline"
	case catalog.KindSource:
		return "source"
	case catalog.KindSequence:
		return "sequence"
	}
	return "table"
}

// looksLikePath reports whether an unknown relation name is one DuckDB
// would read as a file (a path, or a name with a file extension).
func looksLikePath(name string) bool {
	return strings.ContainsAny(name, "/\\*?") || strings.Contains(name, ".")
}

// Names checks a statement DuckDB's parser does not serialise, from every
// name it mentions: each that names a relation needs SELECT (a column or
// alias named like a relation the role may not read is refused too: the
// check errs on the safe side), each function call is judged as in a
// query, each string where a relation may stand is a file.
func (c *Checker) Names(ctx context.Context, role string, refs []sql.NameRef, sc Scope, skip map[catalog.Ref]bool) error {
	for _, r := range refs {
		switch {
		case r.Literal:
			if err := c.readFile(role, "a relation named by a path", []string{r.Parts[0]}); err != nil {
				return err
			}
		case r.Call:
			f := sqlplan.FuncCall{Name: r.Parts[len(r.Parts)-1], ArgsConstant: r.ArgConstant}
			if r.ArgConstant {
				f.Args = []string{r.Arg}
			}
			if len(r.Parts) > 1 {
				f.Schema = r.Parts[len(r.Parts)-2]
			}
			if _, isTable := tableFunctions[strings.ToLower(f.Name)]; isTable {
				if err := c.tableFunction(ctx, role, f, sc, 0); err != nil {
					return err
				}
			} else if err := c.function(ctx, role, f, sc, 0); err != nil {
				return err
			}
		default:
			t := sqlplan.TableRef{Name: r.Parts[len(r.Parts)-1]}
			if len(r.Parts) >= 2 {
				t.Schema = r.Parts[len(r.Parts)-2]
			}
			if len(r.Parts) >= 3 {
				t.Catalog = r.Parts[len(r.Parts)-3]
			}
			if c.isSkipped(t, sc, skip) {
				continue
			}
			if t.Schema == "" && looksLikePath(t.Name) {
				continue // an unquoted word is never a path
			}
			if err := c.table(ctx, role, t, sc, "", 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// isSkipped reports whether a name is one of the relations a statement
// writes (checked for its own privilege by the caller).
func (c *Checker) isSkipped(t sqlplan.TableRef, sc Scope, skip map[catalog.Ref]bool) bool {
	if len(skip) == 0 {
		return false
	}
	if t.Schema != "" {
		ref, _, ok := c.lookup(t.Schema, t.Name)
		return ok && skip[ref]
	}
	for _, s := range sc.SearchPath {
		if ref, _, ok := c.lookup(s, t.Name); ok {
			return skip[ref]
		}
	}
	return false
}

// Resolve returns the relation a name means in scope (the session's
// search path), if it exists.
func (c *Checker) Resolve(n sql.Name, sc Scope) (catalog.Ref, catalog.Relation, bool) {
	if n.Schema != "" {
		return c.lookup(n.Schema, n.Name)
	}
	for _, s := range sc.SearchPath {
		if ref, rel, ok := c.lookup(s, n.Name); ok {
			return ref, rel, ok
		}
	}
	return catalog.Ref{}, catalog.Relation{}, false
}

// Analyze parses a query with DuckDB's parser (cached by its text).
func (c *Checker) Analyze(ctx context.Context, query string) (*sqlplan.Analysis, error) {
	return c.analyze(ctx, query)
}
