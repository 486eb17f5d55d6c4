package catalog

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Materialized views: their definition and state (View), and recording and
// reading them (CreateView, GetView, Views).

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
