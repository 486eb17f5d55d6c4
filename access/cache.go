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
func (s *Snapshot) SessionVariables(role string) string {
	var b strings.Builder
	lit := func(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
	fmt.Fprintf(&b, "SET VARIABLE sluice_user = %s; ", lit(role))
	fmt.Fprintf(&b, "SET VARIABLE sluice_superuser = %t; ", s.Superuser(role))
	fmt.Fprintf(&b, "SET VARIABLE sluice_all = %t; ", s.SeesAllRows(role))
	visible := s.Visible(role)
	if s.SeesAllRows(role) {
		visible = nil // every row: the map is not consulted
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
	b.WriteString("}::MAP(VARCHAR, VARCHAR)")
	return b.String()
}
