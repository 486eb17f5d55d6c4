package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// sourceDDL adds what connector sources need: the schema fixed at CREATE
// SOURCE, and per pipeline and source the position its committed runs read
// up to (committed with the run's files: CommitPipelineRun).
var sourceDDL = []string{
	`ALTER TABLE sluice_catalog.sources ADD COLUMN IF NOT EXISTS arrow_schema VARCHAR`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.pipeline_positions (
		object_id BIGINT NOT NULL,
		source    VARCHAR NOT NULL,
		position  VARCHAR NOT NULL,
		run_id    BIGINT NOT NULL
	)`,
}

// SourceByID returns the source with id.
func (s *Store) SourceByID(ctx context.Context, id int64) (Source, error) {
	var ref Ref
	err := s.db.QueryRowContext(ctx, `SELECT schema, name FROM sluice_catalog.sources WHERE id = $1`, id).Scan(&ref.Schema, &ref.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return Source{}, pgerr.New(pgerrcode.UndefinedObject, "source %d does not exist", id)
	}
	if err != nil {
		return Source{}, err
	}
	return s.GetSource(ctx, ref)
}

// ConnectorSources lists the sources read through a connector (not FILES).
func (s *Store) ConnectorSources(ctx context.Context) ([]Source, error) {
	refs, err := s.db.QueryContext(ctx, `SELECT schema, name FROM sluice_catalog.sources WHERE connector <> 'files' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var names []Ref
	for refs.Next() {
		var r Ref
		if err := refs.Scan(&r.Schema, &r.Name); err != nil {
			refs.Close()
			return nil, err
		}
		names = append(names, r)
	}
	refs.Close()
	if err := refs.Err(); err != nil {
		return nil, err
	}
	out := make([]Source, 0, len(names))
	for _, r := range names {
		src, err := s.GetSource(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	return out, nil
}

// PipelinePositions returns, by source name, the positions pipeline id's
// committed runs read up to.
func (s *Store) PipelinePositions(ctx context.Context, id int64) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, position FROM sluice_catalog.pipeline_positions WHERE object_id = $1`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var src, pos string
		if err := rows.Scan(&src, &pos); err != nil {
			return nil, err
		}
		out[src] = pos
	}
	return out, rows.Err()
}

// setPositions records the positions a run read up to, replacing earlier
// ones, inside the run's commit transaction.
func setPositions(ctx context.Context, tx *sql.Tx, pipelineID, runID int64, positions map[string]string) error {
	for src, pos := range positions {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.pipeline_positions WHERE object_id = $1 AND source = $2`, pipelineID, src); err != nil {
			return fmt.Errorf("recording positions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.pipeline_positions VALUES ($1, $2, $3, $4)`, pipelineID, src, pos, runID); err != nil {
			return fmt.Errorf("recording positions: %w", err)
		}
	}
	return nil
}
