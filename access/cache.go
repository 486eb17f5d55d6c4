package access

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/sluice-db/sluice/catalog"
)

// Cache keeps the snapshot of the current catalog generation and makes
// checkers over it. A catalog change (DDL, GRANT, a role, a refresh's
// publish) moves the generation; the next Checker reloads.
type Cache struct {
	cat   *catalog.Store
	users []ConfigUser
	roots *Roots
	parse Parser

	mu     sync.Mutex
	snap   *Snapshot
	bodies *sync.Map
	nbody  int
}

// NewCache returns a cache over the catalog; users are the configuration
// file's, roots the file sandbox, parse DuckDB's parser.
func NewCache(cat *catalog.Store, users []ConfigUser, roots *Roots, parse Parser) *Cache {
	return &Cache{cat: cat, users: users, roots: roots, parse: parse, bodies: &sync.Map{}}
}

// Snapshot returns the snapshot of the current generation.
func (c *Cache) Snapshot(ctx context.Context) (*Snapshot, error) {
	gen := c.cat.Generation()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap != nil && c.snap.gen == gen {
		return c.snap, nil
	}
	rows, err := c.cat.AccessRows(ctx)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	schemas, rels, macros, err := c.cat.Relations(ctx)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	c.snap = Build(gen, rows, c.users, schemas, rels, macros)
	// Parsed bodies are pure functions of their text; keep them unless
	// redefinitions have piled up.
	if c.nbody++; c.nbody > 1000 {
		c.bodies, c.nbody = &sync.Map{}, 0
	}
	return c.snap, nil
}

// Checker returns a checker over the current snapshot.
func (c *Cache) Checker(ctx context.Context) (*Checker, error) {
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	bodies := c.bodies
	c.mu.Unlock()
	return &Checker{snap: snap, roots: c.roots, parse: c.parse, bodies: bodies}, nil
}

// Roots returns the file sandbox.
func (c *Cache) Roots() *Roots { return c.roots }

// SetCatalog sets the catalog the cache reads (opened after the engine,
// whose parser the cache needs first).
func (c *Cache) SetCatalog(cat *catalog.Store) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cat, c.snap = cat, nil
}

// SessionVariables are the statements that tell a DuckDB connection what
// role runs on it, for the system tables' row filters and the pg_catalog
// relations (catalog/system.go, package pgcatalog): DuckDB variables no
// user may set (SET VARIABLE of a sluice_ name is refused).
//
//	sluice_user        the role
//	sluice_superuser   it is a superuser
//	sluice_all         it sees every row of the system tables
//	sluice_privileges  'schema.name' -> its privileges' letters, for every
//	                   relation it holds one on (empty for superusers,
//	                   who hold all)
//	sluice_schemas     schema -> its privileges' letters
//	sluice_database    its privileges on the database
//	sluice_roles       the roles whose privileges it has (itself included)
func (s *Snapshot) SessionVariables(role string) string {
	var b strings.Builder
	lit := func(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
	super := s.Superuser(role)
	fmt.Fprintf(&b, "SET VARIABLE sluice_user = %s; ", lit(role))
	fmt.Fprintf(&b, "SET VARIABLE sluice_superuser = %t; ", super)
	fmt.Fprintf(&b, "SET VARIABLE sluice_all = %t; ", s.SeesAllRows(role))
	var visible map[catalog.Ref]Priv
	if !super {
		visible = s.Visible(role)
	}
	refs := make([]catalog.Ref, 0, len(visible))
	for ref := range visible {
		refs = append(refs, ref)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Schema != refs[j].Schema {
			return refs[i].Schema < refs[j].Schema
		}
		return refs[i].Name < refs[j].Name
	})
	b.WriteString("SET VARIABLE sluice_privileges = MAP {")
	for i, ref := range refs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %s", lit(ref.Schema+"."+ref.Name), lit(visible[ref].Letters()))
	}
	b.WriteString("}::MAP(VARCHAR, VARCHAR); ")
	schemas := make([]string, 0, len(s.schemas))
	for sc := range s.schemas {
		schemas = append(schemas, sc)
	}
	for sc := range systemSchemas {
		if !s.schemas[sc] {
			schemas = append(schemas, sc)
		}
	}
	sort.Strings(schemas)
	b.WriteString("SET VARIABLE sluice_schemas = MAP {")
	n := 0
	for _, sc := range schemas {
		p := s.Privileges(role, catalog.Object{Kind: catalog.ObjectSchema, Name: sc})
		if p == 0 {
			continue
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		fmt.Fprintf(&b, "%s: %s", lit(sc), lit(p.Letters()))
	}
	b.WriteString("}::MAP(VARCHAR, VARCHAR); ")
	db := s.Privileges(role, catalog.Object{Kind: catalog.ObjectDatabase, Name: catalog.DatabaseName})
	fmt.Fprintf(&b, "SET VARIABLE sluice_database = %s; ", lit(db.Letters()))
	var roles []string
	for _, r := range s.closure[role] {
		if r != "" {
			roles = append(roles, lit(r))
		}
	}
	if len(roles) == 0 {
		roles = []string{lit(role)}
	}
	b.WriteString("SET VARIABLE sluice_roles = [" + strings.Join(roles, ", ") + "]::VARCHAR[]")
	return b.String()
}

// HasPrivilege answers pg_catalog's has_*_privilege for any role: kind is
// "relation" (key 'schema.name'), "schema", "database" or "role" (key a
// role: membership); privs a comma-separated list of PostgreSQL's
// privilege keywords, any of which suffices.
func (s *Snapshot) HasPrivilege(role, kind, key, privs string) bool {
	if kind == "role" {
		return s.HasPrivsOf(role, key)
	}
	var obj catalog.Object
	switch kind {
	case "relation":
		schema, name, ok := strings.Cut(key, ".")
		if !ok {
			return false
		}
		obj = catalog.RelationObject(catalog.Ref{Schema: schema, Name: name})
	case "schema":
		obj = catalog.Object{Kind: catalog.ObjectSchema, Name: key}
	case "database":
		obj = catalog.Object{Kind: catalog.ObjectDatabase, Name: catalog.DatabaseName}
	default:
		return false
	}
	have := s.Privileges(role, obj)
	for _, w := range strings.Split(privs, ",") {
		w = strings.TrimSpace(strings.ToUpper(w))
		if i := strings.Index(w, " WITH "); i >= 0 {
			w = w[:i]
		}
		if w == "MAINTAIN" {
			w = "REFRESH"
		}
		if p, ok := PrivByName(w); ok && have&p != 0 {
			return true
		}
	}
	return false
}

// StaticRoles are the roles that are not SQL roles, for pg_roles.
func (s *Snapshot) StaticRoles() []catalog.Role {
	var out []catalog.Role
	for _, r := range s.Roles() {
		if r.Origin != OriginSQL {
			out = append(out, catalog.Role{OID: r.OID, Name: r.Name, Login: r.Login, Superuser: r.Superuser,
				CreateRole: r.CreateRole, Inherit: r.Inherit})
		}
	}
	return out
}
