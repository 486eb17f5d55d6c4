package catalog

import (
	"context"
	"database/sql"
	"fmt"
)

// Lineage between objects (Dependency, Dependents), and Drop, which removes
// objects together with their lineage, versions and DuckDB views.

// Dependency is a lineage edge: Object reads DependsOn.
type Dependency struct {
	Object        Ref
	ObjectKind    Kind
	DependsOn     Ref
	DependsOnKind Kind
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
