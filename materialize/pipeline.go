package materialize

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/sqlplan"
)

// Pipelines append: each run reads only the input files that no committed
// run consumed, writes the query's result over them as new Parquet files,
// and commits the files it wrote together with the inputs it consumed in
// one catalog transaction (catalog.CommitPipelineRun). The pipeline's view
// lists its committed files explicitly, so a file that was written but not
// committed is never read, and Recover deletes it: a run interrupted at any
// point is redone whole by the next run, without a duplicated or lost row.

// PipelineSourceSchema is the schema of the sources a pipeline reads: the
// query names them unqualified, and they resolve through the search path to
// the default schema.
const PipelineSourceSchema = "public"

// PipelinePath is the directory of pipeline id; its files are under
// PipelinePath/data/<partition>/run<run id>_<i>.parquet.
func (m *Materializer) PipelinePath(id int64) string {
	return filepath.Join(m.objectsRoot(), strconv.FormatInt(id, 10))
}

// RefreshPipeline runs pipeline ref once, under its retry policy (retry.go:
// each attempt a run in sluice.runs, bounded by its timeout). A failed
// attempt commits nothing. Runs of one pipeline never overlap: a second one
// waits for the first. A run that appended rows tells the OnPublish
// subscribers; one that found nothing new does not.
func (m *Materializer) RefreshPipeline(ctx context.Context, ref catalog.Ref, trigger string, progress Progress) (*catalog.Run, error) {
	p, err := m.opts.Catalog.GetPipeline(ctx, ref)
	if err != nil {
		return nil, err
	}
	unlock := m.lock(p.ID)
	defer unlock()
	if progress == nil {
		progress = func(string) {}
	}
	// The pipeline may have gone (or been re-created) while we waited.
	if p, err = m.opts.Catalog.GetPipeline(ctx, ref); err != nil {
		return nil, err
	}
	return m.attempts(ctx, attempt{ref: p.Ref, id: p.ID, kind: catalog.KindPipeline, options: p.Options, what: "pipeline run",
		do: func(ctx context.Context, run *catalog.Run) (bool, error) {
			if err := m.runPipeline(ctx, p, run, progress, nil); err != nil {
				return false, err
			}
			return run.FilesWritten > 0, nil
		}}, trigger, progress)
}

// pipelineInputs is what a run reads: per FILES source the files no
// committed run consumed, and per connector source the range between the
// committed position and the latest.
type pipelineInputs struct {
	files  map[string][]catalog.InputFile
	listed map[string][]files.File // the same files as listed
	scans  map[string]*files.Scan
	reads  map[string]connectorRead
}

// connectorRead is a connector source's range for one run.
type connectorRead struct {
	id       int64
	src      connectors.Source
	from, to connectors.Position
}

// empty reports whether the run has nothing to read.
func (in pipelineInputs) empty() bool {
	for _, f := range in.files {
		if len(f) > 0 {
			return false
		}
	}
	return len(in.reads) == 0
}

// newInputs lists each FILES source's files and keeps those no committed
// run consumed, and finds each connector source's new range. With fresh
// (a replaced pipeline's first run) nothing counts as consumed.
func (m *Materializer) newInputs(ctx context.Context, p catalog.Pipeline, fresh bool) (pipelineInputs, error) {
	in := pipelineInputs{files: map[string][]catalog.InputFile{}, listed: map[string][]files.File{}, scans: map[string]*files.Scan{}, reads: map[string]connectorRead{}}
	done, positions := map[string]bool{}, map[string]string{}
	var err error
	if !fresh {
		if done, err = m.opts.Catalog.PipelineInputs(ctx, p.ID); err != nil {
			return in, err
		}
		if positions, err = m.opts.Catalog.PipelinePositions(ctx, p.ID); err != nil {
			return in, err
		}
	}
	for _, name := range p.Sources {
		src, err := m.opts.Catalog.GetSource(ctx, catalog.Ref{Schema: PipelineSourceSchema, Name: name})
		if err != nil {
			return in, err
		}
		if src.Connector != "files" {
			if m.opts.Sources == nil {
				return in, fmt.Errorf("source %s: no connectors configured", name)
			}
			cs, err := m.opts.Sources.Get(ctx, src.ID)
			if err != nil {
				return in, err
			}
			latest, err := cs.Latest(ctx)
			if err != nil {
				return in, fmt.Errorf("source %s: %w", name, err)
			}
			if from := connectors.Position(positions[name]); latest != from {
				in.reads[name] = connectorRead{id: src.ID, src: cs, from: from, to: latest}
			}
			continue
		}
		scan := &files.Scan{Path: src.Location, Options: src.Options, Remote: m.opts.Remote}
		in.scans[name] = scan
		listed, err := scan.List()
		if err != nil {
			return in, fmt.Errorf("listing the files of source %s: %w", name, err)
		}
		for _, f := range listed {
			input := catalog.InputFile{Source: name, Path: f.Path, Size: f.Size, MTime: f.MTime}
			if !done[input.Key()] {
				in.files[name] = append(in.files[name], input)
				in.listed[name] = append(in.listed[name], f)
			}
		}
	}
	return in, nil
}

// runPipeline is one run of p. With replace (replace.go), p is a new
// definition with a directory of its own, the run reads every input anew,
// and its commit replaces the old definition and its output.
func (m *Materializer) runPipeline(ctx context.Context, p catalog.Pipeline, run *catalog.Run, progress Progress, replace *catalog.Redefinition) error {
	progress = m.board.tracking(run.ID, progress)
	in, err := m.newInputs(ctx, p, replace != nil)
	if err != nil {
		return err
	}
	var consumed []catalog.InputFile
	for _, name := range p.Sources {
		consumed = append(consumed, in.files[name]...)
	}
	// Connector positions commit with the run's files: exactly once.
	positions := map[string]string{}
	for name, r := range in.reads {
		positions[name] = string(r.to)
	}
	commit := catalog.PipelineCommit{Pipeline: p, Run: run, Inputs: consumed, Positions: positions, ViewSQL: func(committed []catalog.OutputFile) string {
		files := make([]sqlplan.PipelineFile, len(committed))
		for i, f := range committed {
			files[i] = sqlplan.PipelineFile{Path: f.Path, Key: f.EncryptionKey}
		}
		return sqlplan.PipelineViewSQL(files, pipelineColumns(p), p.PartitionBy)
	}}
	commitRun := func() error {
		if replace == nil {
			return m.opts.Catalog.CommitPipelineRun(context.WithoutCancel(ctx), commit)
		}
		old, err := m.opts.Catalog.ReplacePipeline(context.WithoutCancel(ctx), commit, *replace)
		if err == nil && old != p.Path {
			m.Readers.Retire(old)
		}
		return err
	}
	if in.empty() {
		progress(fmt.Sprintf("pipeline %s: no new input", p.Ref.Name))
		return commitRun()
	}
	switch {
	case len(in.reads) == 0:
		progress(fmt.Sprintf("pipeline %s: reading %d new input files", p.Ref.Name, len(consumed)))
	case len(consumed) == 0:
		progress(fmt.Sprintf("pipeline %s: reading the new data of %d connector sources", p.Ref.Name, len(in.reads)))
	default:
		progress(fmt.Sprintf("pipeline %s: reading %d new input files and the new data of %d connector sources", p.Ref.Name, len(consumed), len(in.reads)))
	}

	staging := m.stagingDir(run.ID)
	defer os.RemoveAll(staging)
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return err
	}
	conn, err := m.conn(ctx)
	if err != nil {
		return err
	}
	// The connection holds temporary views shadowing sources: it must not
	// go back to the pool, where another refresh would read through them.
	defer discard(conn)
	if err := m.authorize(ctx, conn, p.Ref, p.Query); err != nil {
		return err
	}
	for _, name := range p.Sources {
		shadow := sqlplan.EmptyShadowSQL(name, PipelineSourceSchema)
		if r, ok := in.reads[name]; ok {
			shadow = sqlplan.ShadowSQL(name, sqlplan.SourceScanSQL(ScanFunction, r.id, r.src.Schema(), string(r.from), string(r.to)))
		} else if fs := in.listed[name]; len(fs) > 0 {
			scanSQL, err := in.scans[name].LocalFilesSQL(ctx, fs)
			if err != nil {
				return err
			}
			shadow = sqlplan.ShadowSQL(name, scanSQL)
		}
		if _, err := conn.ExecContext(ctx, shadow); err != nil {
			return err
		}
	}
	// Quality gates (quality.go) over the new rows only: count violations,
	// abort on FAIL (nothing committed, the inputs stay unconsumed), then
	// append only the rows passing the DROP ROW constraints.
	query, err := m.checkQuality(ctx, conn, qualityGate{ref: p.Ref, kind: catalog.KindPipeline, constraints: p.Constraints}, run, p.Query, progress)
	if err != nil {
		return err
	}
	copySQL, err := sqlplan.PlanPipelineRun(sqlplan.PipelineRun{
		Query: query, Columns: pipelineColumns(p), PartitionBy: p.PartitionBy, Options: p.Options,
		StagingDir: staging, RunID: run.ID,
		OrderFree: len(p.PartitionBy) == 0 && orderFree(ctx, conn, query), // write.go
	})
	if err != nil {
		return err
	}
	written, err := copyFiles(ctx, conn, copySQL)
	if err != nil {
		return err
	}
	key := p.Options["encryption_key"]
	nonEmpty := written[:0]
	for _, f := range written {
		if f.rows == 0 {
			_ = os.Remove(f.path)
			continue
		}
		nonEmpty = append(nonEmpty, f)
	}
	if written, err = m.encryptFiles(ctx, nonEmpty, key); err != nil { // encrypt.go
		return err
	}
	// Move the files into the pipeline's directory. Until the commit below
	// they are not in the catalog, so the view does not read them and
	// Recover removes them after a crash.
	var moved []string
	undo := func() {
		for _, f := range moved {
			_ = os.Remove(f)
		}
	}
	data := filepath.Join(p.Path, "data")
	parts := map[string]bool{}
	for _, f := range written {
		rel, err := filepath.Rel(staging, f.path)
		if err != nil {
			undo()
			return err
		}
		dst := filepath.Join(data, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			undo()
			return err
		}
		if err := os.Rename(f.path, dst); err != nil {
			undo()
			return err
		}
		moved = append(moved, dst)
		part := filepath.ToSlash(filepath.Dir(rel))
		if part == "." {
			part = ""
		}
		parts[part] = true
		commit.Files = append(commit.Files, catalog.OutputFile{Path: dst, Partition: part, Rows: f.rows, Bytes: f.bytes, EncryptionKey: key})
	}
	var rows, bytes int64
	for _, f := range commit.Files {
		rows += f.Rows
		bytes += f.Bytes
	}
	m.board.wrote(run.ID, rows, int64(len(commit.Files)), bytes)
	progress(fmt.Sprintf("pipeline %s: wrote %d rows in %d files, %d partitions", p.Ref.Name, rows, len(commit.Files), len(parts)))
	// Stored in object storage before the commit: a committed run's files
	// are all there.
	rels := make([]string, len(commit.Files))
	for i, f := range commit.Files {
		rel, _ := filepath.Rel(data, f.Path)
		rels[i] = filepath.ToSlash(rel)
	}
	keys, err := m.storePipelineFiles(ctx, runLog(m.log, run), p.Options["location"], data, rels)
	if err != nil {
		undo()
		return err
	}
	if err := commitRun(); err != nil {
		undo()
		m.unstore(runLog(m.log, run), p.Options["location"], keys)
		return err
	}
	return nil
}

func pipelineColumns(p catalog.Pipeline) []sqlplan.Column {
	cols := make([]sqlplan.Column, len(p.Columns))
	for i, c := range p.Columns {
		cols[i] = sqlplan.Column{Name: c.Name, Type: c.Type}
	}
	return cols
}

// discard closes conn without returning its DuckDB connection to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// recoverPipelines deletes every file in a pipeline's data directory that
// no committed run wrote (the output of a run interrupted before its
// commit), and returns the directories Recover must keep.
func (m *Materializer) recoverPipelines(ctx context.Context) (keep []string, err error) {
	committed, err := m.opts.Catalog.PipelineFiles(ctx)
	if err != nil {
		return nil, err
	}
	for dir, paths := range committed {
		dir = filepath.Clean(dir)
		keep = append(keep, dir, filepath.Join(dir, "data"))
		known := make(map[string]bool, len(paths))
		for _, p := range paths {
			known[filepath.Clean(p)] = true
		}
		err := filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if !d.IsDir() && !known[path] {
				m.log.Info("removing uncommitted pipeline file", "path", path)
				return os.Remove(path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return keep, nil
}

// PendingInputs returns, per source, the files the next run of the pipeline
// would read (EXPLAIN REFRESH): those no committed run consumed.
func (m *Materializer) PendingInputs(ctx context.Context, p catalog.Pipeline) (map[string][]catalog.InputFile, error) {
	in, err := m.newInputs(ctx, p, false)
	return in.files, err
}
