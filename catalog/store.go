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
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
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

// Source is a source definition.
type Source struct {
	ID        int64
	Ref       Ref
	Connector string
	Location  string
	Options   map[string]string
	// Schema is a connector source's columns, fixed at CREATE SOURCE
	// (connectors.EncodeSchema); "" for FILES, which DuckDB describes.
	Schema    string
	CreatedAt time.Time
	// Owner and ACL are recorded at creation (access.go); "" = no owner
	// recorded (the built-in superuser's).
	Owner string
	ACL   []string
	// Credentials are how its credential options are given (secrets.go);
	// Options shows them only as references or ********. CreateSource
	// records them; Store.Credentials reads them.
	Credentials []Credential
}

// View is a materialized view definition and its current state.
type View struct {
	ID          int64
	Ref         Ref
	Query       string
	PartitionBy []string
	Options     map[string]string
	Refresh     string
	Status      string
	Version     int64 // current published version, 0 if none
	VersionPath string
	VersionKey  string // the encryption key the current version was written with, "" if none
	CreatedAt   time.Time
	Constraints []Constraint // EXPECT quality gates, in declaration order
	// Owner and ACL are recorded at creation (access.go).
	Owner string
	ACL   []string
}

// Dependency is a lineage edge: Object reads DependsOn.
type Dependency struct {
	Object        Ref
	ObjectKind    Kind
	DependsOn     Ref
	DependsOnKind Kind
}

// Store is the embedded catalog store. Changes are serialised by a mutex:
// the catalog has one writer at a time, so DuckDB never sees two catalog
// transactions conflict.
type Store struct {
	db  *sql.DB
	mu  sync.Mutex
	gen atomic.Uint64
}

// Generation counts committed changes to relations (definitions, versions). DuckDB's prepared statements
// keep the plan of a view as it was when prepared, so a holder of prepared
// statements prepares them again when the generation has moved.
func (s *Store) Generation() uint64 { return s.gen.Load() }

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
		for _, stmt := range append(append(append(ddl[:len(ddl):len(ddl)], scheduleDDL...), sourceDDL...), accessDDL...) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", firstLine(stmt), err)
			}
		}
		if old {
			if err := moveVersion1Tables(ctx, tx); err != nil {
				return err
			}
		}
		for _, stmt := range systemViews {
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

// CreateSource records src and creates its DuckDB view in one transaction.
// viewSQL is the query the view runs (a scan of the source).
func (s *Store) CreateSource(ctx context.Context, src Source, viewSQL string) error {
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.sources (id, schema, name, connector, location, options, created_at, arrow_schema)
			VALUES ($1, $2, $3, $4, $5, `+mapLiteral(src.Options)+`, now(), $6)`,
			src.ID, src.Ref.Schema, src.Ref.Name, src.Connector, src.Location, src.Schema); err != nil {
			return err
		}
		if err := insertCredentials(ctx, tx, src); err != nil { // secrets.go
			return err
		}
		if _, err := tx.ExecContext(ctx, "CREATE VIEW "+quoteRef(src.Ref)+" AS "+viewSQL); err != nil {
			return err
		}
		return putOwner(ctx, tx, src.Ref, src.Owner, src.ACL)
	})
}

// GetSource returns the source named ref.
func (s *Store) GetSource(ctx context.Context, ref Ref) (Source, error) {
	var src Source
	var opts string
	var schema sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT id, connector, location, `+optionsJSON+`, created_at, arrow_schema FROM sluice_catalog.sources WHERE schema = $1 AND name = $2`,
		ref.Schema, ref.Name).Scan(&src.ID, &src.Connector, &src.Location, &opts, &src.CreatedAt, &schema)
	src.Schema = schema.String
	if errors.Is(err, sql.ErrNoRows) {
		return src, pgerr.New(pgerrcode.UndefinedObject, "source %q does not exist", ref.Name)
	}
	src.Ref = ref
	src.Options = scanMap(opts)
	return src, err
}

// CreateView records a materialized view, its lineage, and creates its
// DuckDB view (initially emptySQL, a typed empty relation) in one
// transaction.
func (s *Store) CreateView(ctx context.Context, v View, deps []Dependency, emptySQL string) error {
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.materialized_views
			(id, schema, name, query, partition_by, options, refresh, status, created_at, constraints)
			VALUES ($1, $2, $3, $4, `+listLiteral(v.PartitionBy)+`, `+mapLiteral(v.Options)+`, $5, $6, now(), $7)`,
			v.ID, v.Ref.Schema, v.Ref.Name, v.Query, v.Refresh, v.Status, constraintsJSON(v.Constraints)); err != nil {
			return err
		}
		for _, d := range deps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.dependencies VALUES ($1, $2, $3, $4, $5, $6)`,
				d.Object.Name, d.Object.Schema, string(d.ObjectKind), d.DependsOn.Name, d.DependsOn.Schema, string(d.DependsOnKind)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "CREATE VIEW "+quoteRef(v.Ref)+" AS "+emptySQL); err != nil {
			return err
		}
		return putOwner(ctx, tx, v.Ref, v.Owner, v.ACL)
	})
}

// GetView returns the materialized view named ref.
func (s *Store) GetView(ctx context.Context, ref Ref) (View, error) {
	var v View
	var parts any
	var opts string
	var version sql.NullInt64
	var path, constraints, key sql.NullString
	err := s.db.QueryRowContext(ctx, `
		SELECT m.id, m.query, m.partition_by, `+optionsJSON+`, m.refresh, m.status, m.version, v.path, m.created_at, m.constraints, v.encryption_key
		FROM sluice_catalog.materialized_views m
		LEFT JOIN sluice_catalog.versions v ON v.object_id = m.id AND v.version = m.version
		WHERE m.schema = $1 AND m.name = $2`, ref.Schema, ref.Name).
		Scan(&v.ID, &v.Query, &parts, &opts, &v.Refresh, &v.Status, &version, &path, &v.CreatedAt, &constraints, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return v, pgerr.New(pgerrcode.UndefinedTable, "materialized view %q does not exist", ref.Name)
	}
	if err != nil {
		return v, err
	}
	v.Ref = ref
	v.PartitionBy = scanStrings(parts)
	v.Options = scanMap(opts)
	v.Version = version.Int64
	v.VersionPath = path.String
	v.VersionKey = key.String
	v.Constraints = scanConstraints(constraints.String)
	return v, nil
}

// Views returns every materialized view.
func (s *Store) Views(ctx context.Context) ([]View, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT schema, name FROM sluice_catalog.materialized_views ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var refs []Ref
	for rows.Next() {
		var r Ref
		if err := rows.Scan(&r.Schema, &r.Name); err != nil {
			rows.Close()
			return nil, err
		}
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	views := make([]View, 0, len(refs))
	for _, r := range refs {
		v, err := s.GetView(ctx, r)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

// Dependents returns the objects that read ref directly.
func (s *Store) Dependents(ctx context.Context, ref Ref) ([]Dependency, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT object, object_schema, object_kind, depends_on_kind FROM sluice_catalog.dependencies
		WHERE depends_on_schema = $1 AND depends_on = $2 ORDER BY object_schema, object`, ref.Schema, ref.Name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var deps []Dependency
	for rows.Next() {
		d := Dependency{DependsOn: ref}
		var ok, dk string
		if err := rows.Scan(&d.Object.Name, &d.Object.Schema, &ok, &dk); err != nil {
			return nil, err
		}
		d.ObjectKind, d.DependsOnKind = Kind(ok), Kind(dk)
		deps = append(deps, d)
	}
	return deps, rows.Err()
}

// Drop removes the objects (sources and materialized views, dependents
// first) and their DuckDB views in one transaction. It returns the version
// paths that are no longer current, for the caller to delete once no reader
// needs them.
func (s *Store) Drop(ctx context.Context, objs []Dependency) (retired []string, err error) {
	err = s.ddlTx(ctx, func(tx *sql.Tx) error {
		retired = retired[:0]
		for _, o := range objs {
			ref := o.Object
			switch o.ObjectKind {
			case KindSource:
				if err := deleteCredentials(ctx, tx, ref); err != nil { // secrets.go
					return err
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.sources WHERE schema = $1 AND name = $2`, ref.Schema, ref.Name); err != nil {
					return err
				}
			case KindMaterializedView:
				var id int64
				if err := tx.QueryRowContext(ctx, `SELECT id FROM sluice_catalog.materialized_views WHERE schema = $1 AND name = $2`, ref.Schema, ref.Name).Scan(&id); err != nil {
					return err
				}
				paths, err := queryStrings(ctx, tx, `SELECT path FROM sluice_catalog.versions WHERE object_id = $1`, id)
				if err != nil {
					return err
				}
				retired = append(retired, paths...)
				for _, q := range []string{
					`DELETE FROM sluice_catalog.materialized_views WHERE id = $1`,
					`DELETE FROM sluice_catalog.versions WHERE object_id = $1`,
					`DELETE FROM sluice_catalog.partitions WHERE object_id = $1`,
				} {
					if _, err := tx.ExecContext(ctx, q, id); err != nil {
						return err
					}
				}
			case KindPipeline:
				path, err := dropPipeline(ctx, tx, ref)
				if err != nil {
					return err
				}
				retired = append(retired, path)
			default:
				return fmt.Errorf("catalog: cannot drop %s %s", o.ObjectKind, ref)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.dependencies WHERE object_schema = $1 AND object = $2`, ref.Schema, ref.Name); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DROP VIEW IF EXISTS "+quoteRef(ref)); err != nil {
				return err
			}
			if err := deleteACL(ctx, tx, RelationObject(ref)); err != nil {
				return err
			}
		}
		return nil
	})
	return retired, err
}

// Run is one attempt to refresh an object, a row of sluice.runs.
type Run struct {
	ID           int64
	Object       Ref
	ObjectID     int64
	Trigger      string // create, manual, schedule, change, backfill
	Attempt      int
	Status       string // running, succeeded, failed
	RowsIn       sql.NullInt64
	RowsOut      int64
	FilesWritten int64
	BytesWritten int64
	Version      int64
	Error        string
}

// BeginRun records a run as running and returns its id. It commits at once
// so the run is visible while it works.
func (s *Store) BeginRun(ctx context.Context, r *Run) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT nextval('sluice_catalog.run_ids')`).Scan(&r.ID); err != nil {
			return err
		}
		r.Status = "running"
		_, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.runs (run_id, object, schema, object_id, trigger, attempt, status, started_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'running', now())`,
			r.ID, r.Object.Name, r.Object.Schema, r.ObjectID, r.Trigger, r.Attempt)
		return err
	})
}

// FailRun records that a run failed with err.
func (s *Store) FailRun(ctx context.Context, r *Run, runErr error) error {
	r.Status = "failed"
	r.Error = runErr.Error()
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.runs SET status = 'failed', finished_at = now(), error = $2 WHERE run_id = $1`, r.ID, r.Error)
		return err
	})
}

// PartitionStat describes one partition of a version.
type PartitionStat struct {
	Partition string // hive path, e.g. "day=2024-11-14"; "" for an unpartitioned view
	Files     int64
	Rows      int64
	Bytes     int64
}

// Publish is everything a successful refresh commits at once.
type Publish struct {
	View       View
	Run        *Run
	Version    int64
	Path       string
	Partitions []PartitionStat
	ViewSQL    string // the DuckDB view definition reading the new version
	// EncryptionKey names the key the version's files are encrypted with
	// ("" = plaintext).
	EncryptionKey string
}

// Publish makes a new version current: it records the version and its
// partitions, retires the previous version, redefines the DuckDB view and
// marks the run succeeded, all in one transaction. It returns the paths of
// versions that are no longer current.
func (s *Store) Publish(ctx context.Context, p Publish) (retired []string, err error) {
	var rows, files, bytes int64
	for _, ps := range p.Partitions {
		rows += ps.Rows
		files += ps.Files
		bytes += ps.Bytes
	}
	v := p.View
	err = s.ddlTx(ctx, func(tx *sql.Tx) error {
		retired, err = queryStrings(ctx, tx, `SELECT path FROM sluice_catalog.versions WHERE object_id = $1 AND retired_at IS NULL`, v.ID)
		if err != nil {
			return err
		}
		stmts := []struct {
			q    string
			args []any
		}{
			{`UPDATE sluice_catalog.versions SET retired_at = now() WHERE object_id = $1 AND retired_at IS NULL`, []any{v.ID}},
			{`INSERT INTO sluice_catalog.versions (object_id, object, version, path, rows, files, bytes, created_at, retired_at, encryption_key)
				VALUES ($1, $2, $3, $4, $5, $6, $7, now(), NULL, NULLIF($8, ''))`, []any{v.ID, v.Ref.Name, p.Version, p.Path, rows, files, bytes, p.EncryptionKey}},
			{`DELETE FROM sluice_catalog.partitions WHERE object_id = $1`, []any{v.ID}},
			{`UPDATE sluice_catalog.materialized_views SET version = $2, rows = $3, files = $4, bytes = $5, last_refresh = now(), status = 'fresh' WHERE id = $1`,
				[]any{v.ID, p.Version, rows, files, bytes}},
			{`UPDATE sluice_catalog.runs SET status = 'succeeded', finished_at = now(), rows_in = $2, rows_out = $3, files_written = $4, bytes_written = $5, version = $6 WHERE run_id = $1`,
				[]any{p.Run.ID, p.Run.RowsIn, rows, files, bytes, p.Version}},
			{"CREATE OR REPLACE VIEW " + quoteRef(v.Ref) + " AS " + p.ViewSQL, nil},
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return err
			}
		}
		return insertPartitions(ctx, tx, v, p.Version, p.Partitions)
	})
	if err != nil {
		return nil, err
	}
	p.Run.Status, p.Run.RowsOut, p.Run.FilesWritten, p.Run.BytesWritten, p.Run.Version = "succeeded", rows, files, bytes, p.Version
	return retired, nil
}

// insertPartitions inserts the partition rows in batches of multi-row
// INSERTs: thousands of partitions must not mean thousands of statements.
func insertPartitions(ctx context.Context, tx *sql.Tx, v View, version int64, parts []PartitionStat) error {
	const batch = 500
	for start := 0; start < len(parts); start += batch {
		end := min(start+batch, len(parts))
		var b strings.Builder
		b.WriteString("INSERT INTO sluice_catalog.partitions VALUES ")
		for i, ps := range parts[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%s, %s, %d, %d, %s, %d, %d, %d)", quoteLiteral(v.Ref.Name), quoteLiteral(v.Ref.Schema),
				v.ID, version, quoteLiteral(ps.Partition), ps.Files, ps.Rows, ps.Bytes)
		}
		if _, err := tx.ExecContext(ctx, b.String()); err != nil {
			return err
		}
	}
	return nil
}

// PartitionCount returns the number of partitions of the object's current
// version.
func (s *Store) PartitionCount(ctx context.Context, objectID int64) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sluice_catalog.partitions WHERE object_id = $1`, objectID).Scan(&n)
	return n, err
}

// LatestVersion returns the highest version number ever recorded for the
// object, so a new version never reuses a number.
func (s *Store) LatestVersion(ctx context.Context, objectID int64) (int64, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM sluice_catalog.runs WHERE object_id = $1`, objectID).Scan(&v)
	return v.Int64, err
}

// LivePaths returns the paths of every version that is current.
func (s *Store) LivePaths(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT path FROM sluice_catalog.versions WHERE retired_at IS NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Recover is called at start: runs left "running" by a crash are marked
// failed, and versions already retired are forgotten (their files go).
func (s *Store) Recover(ctx context.Context) (retired []string, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.runs SET status = 'failed', finished_at = now(),
			error = 'interrupted: the gateway stopped during the run' WHERE status = 'running'`); err != nil {
			return err
		}
		retired, err = queryStrings(ctx, tx, `SELECT path FROM sluice_catalog.versions WHERE retired_at IS NOT NULL`)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sluice_catalog.versions WHERE retired_at IS NOT NULL`)
		return err
	})
	return retired, err
}

func queryStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SQL literal helpers. Values are always quoted as literals, never spliced.

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteRef(r Ref) string { return quoteIdent(r.Schema) + "." + quoteIdent(r.Name) }

func listLiteral(items []string) string {
	if len(items) == 0 {
		return "[]::VARCHAR[]"
	}
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quoteLiteral(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func mapLiteral(m map[string]string) string {
	if len(m) == 0 {
		return "MAP {}::MAP(VARCHAR, VARCHAR)"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = quoteLiteral(k) + ": " + quoteLiteral(m[k])
	}
	return "MAP {" + strings.Join(parts, ", ") + "}"
}

func scanStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// optionsJSON selects an options MAP(VARCHAR, VARCHAR) as a JSON object,
// which scanMap reads without knowing the driver's map types.
const optionsJSON = `CAST(to_json(options) AS VARCHAR)`

func scanMap(js string) map[string]string {
	out := map[string]string{}
	_ = json.Unmarshal([]byte(js), &out)
	return out
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
