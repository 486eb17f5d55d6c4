// Package catalog is Sluice's durable, versioned catalog: sources,
// materialized views, their published versions and partitions, the run
// history and lineage. The embedded Store keeps it in DuckDB tables of schema
// "sluice" (see schema.go) and changes it in DuckDB transactions together
// with the DuckDB views that expose each object, so definitions, data
// versions and the relation users query never disagree, even after a crash.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// DatabaseName is the one database Sluice serves, the name clients connect
// to (DuckDB's own file is named otherwise; see internal/gateway).
const DatabaseName = "sluice"

// Kind is the kind of a relation known to the catalog.
type Kind string

const (
	KindSource           Kind = "source"
	KindMaterializedView Kind = "materialized view"
	KindTable            Kind = "table" // a plain DuckDB table (not Sluice's)
	KindView             Kind = "view"  // a plain DuckDB view (not Sluice's)
)

// Ref names a relation.
type Ref struct {
	Schema string
	Name   string
}

func (r Ref) String() string { return r.Schema + "." + r.Name }

// Store is the embedded catalog store. Changes are serialised by a mutex:
// the catalog has one writer at a time, so DuckDB never sees two catalog
// transactions conflict.
type Store struct {
	db      *sql.DB
	mu      sync.Mutex
	gen     atomic.Uint64
	changes atomic.Uint64
}

// Generation counts committed changes to relations (definitions, versions). DuckDB's prepared statements
// keep the plan of a view as it was when prepared, so a holder of prepared
// statements prepares them again when the generation has moved.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// Changes counts the catalog's transactions, every one of them (a run's
// history, a pipeline's inputs, as well as definitions): it moves after
// each ends, so a reader that saw it unchanged across a read of the
// catalog's tables read what it would read again. Answers kept from those
// tables (the gateway's kept catalog answers) are keyed by it.
func (s *Store) Changes() uint64 { return s.changes.Load() }

// Invalidate moves the generation for a change made outside the store (a
// DDL statement passed through to DuckDB).
func (s *Store) Invalidate() { s.gen.Add(1) }

// Open creates the catalog tables if needed and returns the store.
func Open(ctx context.Context, db *sql.DB) (*Store, error) {
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := hasVersion1Layout(ctx, tx)
		if err != nil {
			return err
		}
		if old {
			if err := moveVersion1Sequences(ctx, tx); err != nil {
				return err
			}
		}
		for _, stmt := range append(append(append(append(ddl[:len(ddl):len(ddl)], scheduleDDL...), sourceDDL...), accessDDL...), deploymentsDDL...) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", firstLine(stmt), err)
			}
		}
		if old {
			if err := moveVersion1Tables(ctx, tx); err != nil {
				return err
			}
		}
		for _, stmt := range append(systemViews[:len(systemViews):len(systemViews)], deploymentsView) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", firstLine(stmt), err)
			}
		}
		var v sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT value FROM sluice_catalog.meta WHERE key = 'schema_version'`).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO sluice_catalog.meta VALUES ('schema_version', ?)`, fmt.Sprint(schemaVersion))
			return err
		case err != nil:
			return err
		case old:
			_, err = tx.ExecContext(ctx, `UPDATE sluice_catalog.meta SET value = ? WHERE key = 'schema_version'`, fmt.Sprint(schemaVersion))
			return err
		case v.String != fmt.Sprint(schemaVersion):
			return fmt.Errorf("catalog schema version %s is not supported by this gateway (want %d)", v.String, schemaVersion)
		}
		return nil
	})
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// tx runs fn in a serialised DuckDB transaction.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.changes.Add(1) // after the commit or rollback
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ddlTx is tx for changes that define, redefine or drop relations: it moves
// the generation, so prepared statements over them are prepared again.
func (s *Store) ddlTx(ctx context.Context, fn func(*sql.Tx) error) error {
	err := s.tx(ctx, fn)
	s.gen.Add(1)
	return err
}

// NextID allocates an object id.
func (s *Store) NextID(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT nextval('sluice_catalog.object_ids')`).Scan(&id)
	return id, err
}

// Lookup tells what kind of relation ref is: a source, a materialized view,
// a plain DuckDB table or view, or none (ok = false).
func (s *Store) Lookup(ctx context.Context, ref Ref) (kind Kind, ok bool, err error) {
	const q = `
		SELECT kind FROM (
			SELECT 1 AS o, 'source' AS kind FROM sluice_catalog.sources WHERE schema = $1 AND name = $2
			UNION ALL SELECT 2, 'materialized view' FROM sluice_catalog.materialized_views WHERE schema = $1 AND name = $2
			UNION ALL SELECT 2, 'pipeline' FROM sluice_catalog.pipelines WHERE schema = $1 AND name = $2
			UNION ALL SELECT 3, 'table' FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $1 AND table_name = $2
			UNION ALL SELECT 4, 'view' FROM duckdb_views() WHERE database_name = current_database() AND schema_name = $1 AND view_name = $2 AND NOT internal
		) ORDER BY o LIMIT 1`
	var k string
	err = s.db.QueryRowContext(ctx, q, ref.Schema, ref.Name).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return Kind(k), true, nil
}

// SchemaExists reports whether a schema exists in the gateway's database.
func (s *Store) SchemaExists(ctx context.Context, schema string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = $1`, schema).Scan(&n)
	return n > 0, err
}

// DB returns the database the store lives in (for tests and read-only
// inspection).
func (s *Store) DB() *sql.DB { return s.db }

// Location is an object's output location in object storage.
type Location struct {
	Ref      Ref
	Kind     Kind
	Location string
}

// Locations returns the output locations of materialized views and
// pipelines that have one.
func (s *Store) Locations(ctx context.Context) ([]Location, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT schema, name, 'm', options['location'] FROM sluice_catalog.materialized_views WHERE coalesce(options['location'], '') <> ''
		UNION ALL
		SELECT schema, name, 'p', options['location'] FROM sluice_catalog.pipelines WHERE coalesce(options['location'], '') <> ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Location
	for rows.Next() {
		var l Location
		var kind string
		if err := rows.Scan(&l.Ref.Schema, &l.Ref.Name, &kind, &l.Location); err != nil {
			return nil, err
		}
		l.Kind = KindMaterializedView
		if kind == "p" {
			l.Kind = KindPipeline
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
