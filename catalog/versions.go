package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Refresh runs (sluice.runs) and the versions and partitions a successful run
// publishes: BeginRun, FailRun, Publish, the queries over versions, and
// Recover after a crash.

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
	SQLState     string // the error's SQLSTATE (XX000 when it carries none)
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
	r.SQLState = pgerr.Code(runErr)
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.runs SET status = 'failed', finished_at = now(), error = $2, sqlstate = $3 WHERE run_id = $1`, r.ID, r.Error, r.SQLState)
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
	// Redefine, when set, is a new definition of the view that this first
	// version of it publishes (CREATE OR REPLACE MATERIALIZED VIEW): View's
	// query, partitioning, options and constraints, with Redefine's lineage
	// and schedule, replace the old ones in the same transaction.
	Redefine *Redefinition
}

// Redefinition is what a replaced materialized view's new definition
// records besides View's fields: its lineage and its schedule.
type Redefinition struct {
	Deps     []Dependency
	Schedule Schedule
	NextRun  time.Time
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
		if p.Redefine != nil {
			if err := redefineView(ctx, tx, v, p.Redefine); err != nil {
				return err
			}
		}
		retired, err = queryStrings(ctx, tx, `UPDATE sluice_catalog.versions SET retired_at = now()
			WHERE object_id = $1 AND retired_at IS NULL RETURNING path`, v.ID)
		if err != nil {
			return err
		}
		stmts := []struct {
			q    string
			args []any
		}{
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

// redefineView records a view's new definition, lineage and schedule
// inside Publish's transaction.
func redefineView(ctx context.Context, tx *sql.Tx, v View, r *Redefinition) error {
	js, err := json.Marshal(r.Schedule)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.materialized_views SET query = $2, partition_by = `+listLiteral(v.PartitionBy)+`,
		options = `+mapLiteral(v.Options)+`, constraints = $3, refresh = $4, schedule = $5, next_run = $6 WHERE id = $1`,
		v.ID, v.Query, constraintsJSON(v.Constraints), r.Schedule.Text, string(js), nullTime(r.NextRun))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pgerr.New(pgerrcode.UndefinedTable, "materialized view %q was dropped while it was being replaced", v.Ref.Name)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.dependencies WHERE object_schema = $1 AND object = $2`, v.Ref.Schema, v.Ref.Name); err != nil {
		return err
	}
	for _, d := range r.Deps {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.dependencies VALUES ($1, $2, $3, $4, $5, $6)`,
			d.Object.Name, d.Object.Schema, string(d.ObjectKind), d.DependsOn.Name, d.DependsOn.Schema, string(d.DependsOnKind)); err != nil {
			return err
		}
	}
	return nil
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

// VersionCounts returns, in one read, the number of partitions of the
// object's current version and the highest version number ever recorded
// for it (so a new version never reuses a number).
func (s *Store) VersionCounts(ctx context.Context, objectID int64) (partitions, latest int64, err error) {
	var v sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM sluice_catalog.partitions WHERE object_id = $1),
		(SELECT max(version) FROM sluice_catalog.runs WHERE object_id = $1)`, objectID).Scan(&partitions, &v)
	return partitions, v.Int64, err
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

// Recover is called at start: runs and deployments left "running" by a
// crash are marked failed, and versions already retired are forgotten (their files go).
func (s *Store) Recover(ctx context.Context) (retired []string, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.runs SET status = 'failed', finished_at = now(),
			error = 'interrupted: the gateway stopped during the run', sqlstate = '57P02' WHERE status = 'running'`); err != nil {
			return err
		}
		if err := recoverDeployments(ctx, tx); err != nil { // deployments.go
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
