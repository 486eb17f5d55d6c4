package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// KindPipeline is an incremental, append-only pipeline.
const KindPipeline Kind = "pipeline"

// Column is a column of a pipeline's output.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Pipeline is a pipeline definition and its state.
type Pipeline struct {
	ID          int64
	Ref         Ref
	Query       string
	PartitionBy []string
	Options     map[string]string
	Refresh     string       // the schedule's text, e.g. ON CHANGE
	Status      string       // empty, active, failed
	Constraints []Constraint // EXPECT quality gates, checked on each run's new rows
	Columns     []Column     // the output's columns, fixed at CREATE
	Sources     []string     // the sources the query reads (schema public, unqualified in the query)
	Path        string       // the pipeline's directory: Path/data/<partition>/run<id>_<i>.parquet
	CreatedAt   time.Time
	// Owner and ACL are recorded at creation (access.go).
	Owner string
	ACL   []string
}

// InputFile is one input file a pipeline run consumed (or may consume).
type InputFile struct {
	Source string
	Path   string
	Size   int64
	MTime  time.Time
}

// Key identifies the file's content as the pipeline sees it: a file with
// the same path, size and modification time (to the microsecond, the
// catalog's precision) is the same file.
func (f InputFile) Key() string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d", f.Source, f.Path, f.Size, f.MTime.UnixMicro())
}

// OutputFile is one Parquet file a pipeline run wrote, in the pipeline's
// data directory.
type OutputFile struct {
	Path      string
	Partition string // hive path, "" when unpartitioned
	Rows      int64
	Bytes     int64
	// EncryptionKey names the key the file is encrypted with ("" = none).
	EncryptionKey string
}

// CreatePipeline records a pipeline and its lineage, and creates its DuckDB
// view (initially emptySQL) in one transaction.
func (s *Store) CreatePipeline(ctx context.Context, p Pipeline, deps []Dependency, emptySQL string) error {
	cols, err := json.Marshal(p.Columns)
	if err != nil {
		return err
	}
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.pipelines
			(id, schema, name, query, partition_by, options, refresh, status, columns, sources, path, rows, files, bytes, created_at, constraints)
			VALUES ($1, $2, $3, $4, `+listLiteral(p.PartitionBy)+`, `+mapLiteral(p.Options)+`, $5, $6, $7, `+listLiteral(p.Sources)+`, $8, 0, 0, 0, now(), $9)`,
			p.ID, p.Ref.Schema, p.Ref.Name, p.Query, p.Refresh, p.Status, string(cols), p.Path, constraintsJSON(p.Constraints)); err != nil {
			return err
		}
		for _, d := range deps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.dependencies VALUES ($1, $2, $3, $4, $5, $6)`,
				d.Object.Name, d.Object.Schema, string(d.ObjectKind), d.DependsOn.Name, d.DependsOn.Schema, string(d.DependsOnKind)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "CREATE VIEW "+quoteRef(p.Ref)+" AS "+emptySQL); err != nil {
			return err
		}
		return putOwner(ctx, tx, p.Ref, p.Owner, p.ACL)
	})
}

// GetPipeline returns the pipeline named ref.
func (s *Store) GetPipeline(ctx context.Context, ref Ref) (Pipeline, error) {
	var p Pipeline
	var parts, srcs any
	var opts, cols string
	var constraints sql.NullString
	err := s.db.QueryRowContext(ctx, `
		SELECT id, query, partition_by, `+optionsJSON+`, refresh, status, columns, sources, path, created_at, constraints
		FROM sluice_catalog.pipelines WHERE schema = $1 AND name = $2`, ref.Schema, ref.Name).
		Scan(&p.ID, &p.Query, &parts, &opts, &p.Refresh, &p.Status, &cols, &srcs, &p.Path, &p.CreatedAt, &constraints)
	if errors.Is(err, sql.ErrNoRows) {
		return p, pgerr.New(pgerrcode.UndefinedTable, "pipeline %q does not exist", ref.Name)
	}
	if err != nil {
		return p, err
	}
	p.Ref = ref
	p.PartitionBy = scanStrings(parts)
	p.Sources = scanStrings(srcs)
	p.Options = scanMap(opts)
	p.Constraints = scanConstraints(constraints.String)
	if err := json.Unmarshal([]byte(cols), &p.Columns); err != nil {
		return p, fmt.Errorf("catalog: pipeline %s: bad columns: %w", ref, err)
	}
	return p, nil
}

// PipelineInputs returns the input files the pipeline's committed runs
// consumed, by InputFile.Key.
func (s *Store) PipelineInputs(ctx context.Context, objectID int64) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, path, size, mtime FROM sluice_catalog.pipeline_inputs WHERE object_id = $1`, objectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var f InputFile
		if err := rows.Scan(&f.Source, &f.Path, &f.Size, &f.MTime); err != nil {
			return nil, err
		}
		out[f.Key()] = true
	}
	return out, rows.Err()
}

// PipelineFiles returns the committed output files of every pipeline, by
// pipeline directory (Pipeline.Path).
func (s *Store) PipelineFiles(ctx context.Context) (map[string][]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.path, f.path FROM sluice_catalog.pipelines p
		LEFT JOIN sluice_catalog.pipeline_files f ON f.object_id = p.id ORDER BY p.path, f.path`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var dir string
		var file sql.NullString
		if err := rows.Scan(&dir, &file); err != nil {
			return nil, err
		}
		if _, ok := out[dir]; !ok {
			out[dir] = nil
		}
		if file.Valid {
			out[dir] = append(out[dir], file.String)
		}
	}
	return out, rows.Err()
}

// PipelineCommit is everything a pipeline run commits at once.
type PipelineCommit struct {
	Pipeline Pipeline
	Run      *Run
	Inputs   []InputFile // the input files the run consumed
	// Positions are, by source name, the connector positions the run read
	// up to; they replace the earlier ones.
	Positions map[string]string
	Files     []OutputFile // the files it wrote, already in the pipeline's directory
	// ViewSQL returns the definition of the pipeline's view over every
	// committed file (those of earlier runs and Files), in commit order
	// (only Path and EncryptionKey are set).
	ViewSQL func(files []OutputFile) string
}

// CommitPipelineRun records a run's output files and consumed inputs,
// redefines the pipeline's view over the committed files and marks the run
// succeeded, in one transaction: a run is committed whole or not at all.
// A run that read nothing new (no Inputs) only records its success.
func (s *Store) CommitPipelineRun(ctx context.Context, c PipelineCommit) error {
	var rows, bytes int64
	for _, f := range c.Files {
		rows += f.Rows
		bytes += f.Bytes
	}
	p := c.Pipeline
	err := s.ddlTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sluice_catalog.pipelines WHERE id = $1`, p.ID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return pgerr.New(pgerrcode.UndefinedTable, "pipeline %q was dropped during the run", p.Ref.Name)
		}
		if err := recordRun(ctx, tx, c, rows, bytes); err != nil {
			return err
		}
		// A success clears a "failed" status left by an earlier run.
		if _, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.pipelines SET rows = rows + $2, files = files + $3, bytes = bytes + $4,
			last_run = $5, last_refresh = now(), status = CASE WHEN files + $3 > 0 THEN 'active' ELSE 'empty' END WHERE id = $1`,
			p.ID, rows, len(c.Files), bytes, c.Run.ID); err != nil {
			return err
		}
		if len(c.Files) == 0 {
			return nil // the view is unchanged
		}
		files, err := committedFiles(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "CREATE OR REPLACE VIEW "+quoteRef(p.Ref)+" AS "+c.ViewSQL(files))
		return err
	})
	if err != nil {
		return err
	}
	c.Run.Status, c.Run.RowsOut, c.Run.FilesWritten, c.Run.BytesWritten = "succeeded", rows, int64(len(c.Files)), bytes
	return nil
}

// recordRun records a run's consumed inputs, connector positions and
// output files, and marks it succeeded, inside a commit's transaction.
func recordRun(ctx context.Context, tx *sql.Tx, c PipelineCommit, rows, bytes int64) error {
	p := c.Pipeline
	if err := insertRows(ctx, tx, "sluice_catalog.pipeline_inputs", len(c.Inputs), func(i int) string {
		f := c.Inputs[i]
		return fmt.Sprintf("(%d, %s, %s, %d, to_timestamp(0) + to_microseconds(%d), %d)", p.ID, quoteLiteral(f.Source), quoteLiteral(f.Path),
			f.Size, f.MTime.UnixMicro(), c.Run.ID)
	}); err != nil {
		return err
	}
	if err := setPositions(ctx, tx, p.ID, c.Run.ID, c.Positions); err != nil {
		return err
	}
	if err := insertRows(ctx, tx, "sluice_catalog.pipeline_files", len(c.Files), func(i int) string {
		f := c.Files[i]
		key := "NULL"
		if f.EncryptionKey != "" {
			key = quoteLiteral(f.EncryptionKey)
		}
		return fmt.Sprintf("(%d, %s, %s, %d, %d, %d, %s)", p.ID, quoteLiteral(f.Path), quoteLiteral(f.Partition), f.Rows, f.Bytes, c.Run.ID, key)
	}); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.runs SET status = 'succeeded', finished_at = now(), rows_in = $2,
		rows_out = $3, files_written = $4, bytes_written = $5 WHERE run_id = $1`,
		c.Run.ID, c.Run.RowsIn, rows, len(c.Files), bytes)
	return err
}

// ReplacePipeline commits the first run of a pipeline's new definition
// (CREATE OR REPLACE PIPELINE) in one transaction: c.Pipeline's query,
// partitioning, options, constraints, columns, sources and directory with
// r's lineage and schedule replace the old definition; the old run's
// output files, consumed inputs and positions are forgotten and the run's
// are recorded; the pipeline's view is redefined over the new files. It
// returns the old directory, for the caller to remove once no reader
// needs it.
func (s *Store) ReplacePipeline(ctx context.Context, c PipelineCommit, r Redefinition) (oldPath string, err error) {
	var rows, bytes int64
	for _, f := range c.Files {
		rows += f.Rows
		bytes += f.Bytes
	}
	p := c.Pipeline
	cols, err := json.Marshal(p.Columns)
	if err != nil {
		return "", err
	}
	sched, err := json.Marshal(r.Schedule)
	if err != nil {
		return "", err
	}
	err = s.ddlTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT path FROM sluice_catalog.pipelines WHERE id = $1`, p.ID).Scan(&oldPath); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return pgerr.New(pgerrcode.UndefinedTable, "pipeline %q was dropped while it was being replaced", p.Ref.Name)
			}
			return err
		}
		status := "empty"
		if len(c.Files) > 0 {
			status = "active"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.pipelines SET query = $2, partition_by = `+listLiteral(p.PartitionBy)+`,
			options = `+mapLiteral(p.Options)+`, columns = $3, sources = `+listLiteral(p.Sources)+`, path = $4, constraints = $5,
			refresh = $6, schedule = $7, next_run = $8, rows = $9, files = $10, bytes = $11, last_run = $12, last_refresh = now(), status = $13
			WHERE id = $1`,
			p.ID, p.Query, string(cols), p.Path, constraintsJSON(p.Constraints), r.Schedule.Text, string(sched), nullTime(r.NextRun),
			rows, len(c.Files), bytes, c.Run.ID, status); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM sluice_catalog.pipeline_files WHERE object_id = $1`,
			`DELETE FROM sluice_catalog.pipeline_inputs WHERE object_id = $1`,
			`DELETE FROM sluice_catalog.pipeline_positions WHERE object_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, p.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.dependencies WHERE object_schema = $1 AND object = $2`, p.Ref.Schema, p.Ref.Name); err != nil {
			return err
		}
		for _, d := range r.Deps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.dependencies VALUES ($1, $2, $3, $4, $5, $6)`,
				d.Object.Name, d.Object.Schema, string(d.ObjectKind), d.DependsOn.Name, d.DependsOn.Schema, string(d.DependsOnKind)); err != nil {
				return err
			}
		}
		if err := recordRun(ctx, tx, c, rows, bytes); err != nil {
			return err
		}
		files, err := committedFiles(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "CREATE OR REPLACE VIEW "+quoteRef(p.Ref)+" AS "+c.ViewSQL(files))
		return err
	})
	if err != nil {
		return "", err
	}
	c.Run.Status, c.Run.RowsOut, c.Run.FilesWritten, c.Run.BytesWritten = "succeeded", rows, int64(len(c.Files)), bytes
	return oldPath, nil
}

// committedFiles returns a pipeline's committed files in commit order.
func committedFiles(ctx context.Context, tx *sql.Tx, objectID int64) ([]OutputFile, error) {
	rows, err := tx.QueryContext(ctx, `SELECT path, coalesce(encryption_key, '') FROM sluice_catalog.pipeline_files WHERE object_id = $1 ORDER BY run_id, path`, objectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutputFile
	for rows.Next() {
		var f OutputFile
		if err := rows.Scan(&f.Path, &f.EncryptionKey); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// insertRows inserts n rows, each a VALUES tuple from row(i), in batches of
// multi-row INSERTs.
func insertRows(ctx context.Context, tx *sql.Tx, table string, n int, row func(i int) string) error {
	const batch = 500
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString(row(i))
		}
		if _, err := tx.ExecContext(ctx, b.String()); err != nil {
			return err
		}
	}
	return nil
}

// dropPipeline removes a pipeline's rows inside a Drop transaction and
// returns its directory, for the caller to delete once no reader needs it.
func dropPipeline(ctx context.Context, tx *sql.Tx, ref Ref) (string, error) {
	var id int64
	var path string
	if err := tx.QueryRowContext(ctx, `SELECT id, path FROM sluice_catalog.pipelines WHERE schema = $1 AND name = $2`, ref.Schema, ref.Name).Scan(&id, &path); err != nil {
		return "", err
	}
	for _, q := range []string{
		`DELETE FROM sluice_catalog.pipelines WHERE id = $1`,
		`DELETE FROM sluice_catalog.pipeline_files WHERE object_id = $1`,
		`DELETE FROM sluice_catalog.pipeline_inputs WHERE object_id = $1`,
		`DELETE FROM sluice_catalog.pipeline_positions WHERE object_id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return "", err
		}
	}
	return path, nil
}
