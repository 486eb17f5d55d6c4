package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
