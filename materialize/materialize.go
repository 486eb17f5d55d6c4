// Package materialize executes refreshes: it writes a new version of a
// materialized view into a staging directory with DuckDB's partitioned
// Parquet writer, moves it into place, publishes it through the catalog in
// one transaction, and removes versions no reader needs any more. After a
// crash, Recover brings the data directory back to what the catalog says.
package materialize

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/sqlplan"
)

// Options configure a Materializer.
type Options struct {
	DB      *sql.DB // the engine's database/sql handle
	Catalog *catalog.Store
	DataDir string // absolute
	Logger  *slog.Logger
	// ConnInit runs on the connection of every refresh before the query
	// (e.g. the search_path users' names resolve in).
	ConnInit []string
	// Sleep waits between retries of a failed refresh (retry.go); nil =
	// a timer that ctx interrupts. Tests inject one that does not sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1) scaling retry delays; nil = math/rand.
	Jitter func() float64
	// Translate gives an engine error its SQLSTATE (engine.Translate), to
	// decide whether a failed attempt is retried; nil = identity.
	Translate func(error) error
	// Sources are the open connector sources pipelines and ON CHANGE read;
	// nil = FILES sources only.
	Sources *Sources
	// Authorize, when set, is asked at the start of every refresh and
	// pipeline run whether the object's owner may still read what its
	// query reads (a refresh runs as the owner, as in PostgreSQL); it
	// returns the statements that make the run's connection act as the
	// owner (the session variables of package access). An error fails the
	// run (42501: not retried).
	Authorize func(ctx context.Context, ref catalog.Ref, query string) (setup string, err error)
	// Storage is the object storage of outputs WITH (location =
	// 's3://...') and of s3:// FILES sources; nil = none configured (such
	// outputs and sources then fail). New sets Objects and Remote from it.
	Storage Storage
	// Objects stores outputs WITH (location = 's3://...').
	Objects ObjectStore
	// Remote lists and fetches s3:// FILES sources.
	Remote files.Remote
	// EncryptionKeys are the configured keys, name -> 32-byte AES key
	// (the engine registered the same ones with DuckDB); objects WITH
	// (encryption_key = 'name') are written encrypted with them
	// (encrypt.go).
	EncryptionKeys map[string][]byte
	// Observer receives the runs' measurements (metrics); nil = none.
	Observer Observer
}

// Materializer runs refreshes. Refreshes of one object are serialised: a
// second refresh waits for the running one instead of racing it.
type Materializer struct {
	opts    Options
	log     *slog.Logger
	obs     Observer
	Readers *Readers

	mu        sync.Mutex
	locks     map[int64]*sync.Mutex
	onPublish []func(catalog.Ref)
	onStart   []func(context.Context, catalog.Ref)

	board progressBoard // the runs in flight (progress.go)
	trash *trash        // retired versions being removed (trash.go)
}

// OnRefreshStart registers fn to be called when a view's refresh starts,
// before it reads its inputs (the scheduler notes the connector sources'
// positions then, so that data arriving during the refresh triggers the
// next ON CHANGE refresh).
func (m *Materializer) OnRefreshStart(fn func(context.Context, catalog.Ref)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onStart = append(m.onStart, fn)
}

// OnPublish registers fn to be called after an object publishes a new
// version (the scheduler's ON CHANGE trigger).
func (m *Materializer) OnPublish(fn func(catalog.Ref)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onPublish = append(m.onPublish, fn)
}

// Published tells the OnPublish subscribers that ref published a version.
func (m *Materializer) Published(ref catalog.Ref) {
	m.mu.Lock()
	fns := append([]func(catalog.Ref){}, m.onPublish...)
	m.mu.Unlock()
	for _, fn := range fns {
		fn(ref)
	}
}

// New returns a Materializer.
func New(opts Options) *Materializer {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Storage != nil {
		opts.Objects, opts.Remote = opts.Storage, opts.Storage.Files()
	}
	obs := opts.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	m := &Materializer{opts: opts, log: log, obs: obs, Readers: NewReaders(), locks: map[int64]*sync.Mutex{}}
	m.board.recount = time.Second
	m.trash = &trash{dir: m.trashRoot(), objects: m.objectsRoot(), log: log}
	m.Readers.remove = m.trash.remove
	return m
}

// Wait returns once the removals of retired versions started so far have
// ended (they run in the background, trash.go). Shutdown calls it before
// closing the engine; tests call it before looking at the data directory.
func (m *Materializer) Wait() { m.trash.wait() }

func (m *Materializer) stagingRoot() string { return filepath.Join(m.opts.DataDir, "staging") }
func (m *Materializer) objectsRoot() string { return filepath.Join(m.opts.DataDir, "objects") }
func (m *Materializer) trashRoot() string   { return filepath.Join(m.opts.DataDir, "trash") }

// VersionPath is where version v of object id lives once published.
func (m *Materializer) VersionPath(id, v int64) string {
	return filepath.Join(m.objectsRoot(), strconv.FormatInt(id, 10), "v"+strconv.FormatInt(v, 10))
}

func (m *Materializer) lock(id int64) func() {
	m.mu.Lock()
	l, ok := m.locks[id]
	if !ok {
		l = &sync.Mutex{}
		m.locks[id] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Recover runs at start, before any session: it removes staging leftovers
// of interrupted refreshes and retired versions whose removal was
// interrupted (trash.go), marks the interrupted runs failed, and removes
// version directories that no published version references.
func (m *Materializer) Recover(ctx context.Context) error {
	for _, dir := range []string{m.stagingRoot(), m.trashRoot()} {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("materialize: removing %s: %w", dir, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(m.objectsRoot(), 0o755); err != nil {
		return err
	}
	if _, err := m.opts.Catalog.Recover(ctx); err != nil {
		return err
	}
	live, err := m.opts.Catalog.LivePaths(ctx)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, p := range live {
		keep[filepath.Clean(p)] = true
		keep[filepath.Dir(filepath.Clean(p))] = true
	}
	pipelines, err := m.recoverPipelines(ctx) // pipeline.go
	if err != nil {
		return err
	}
	if err := m.recoverStored(ctx); err != nil { // objects.go
		return err
	}
	for _, p := range pipelines {
		keep[p] = true
	}
	if err := m.warnMissingKeys(ctx); err != nil { // encrypt.go
		return err
	}
	objects, err := os.ReadDir(m.objectsRoot())
	if err != nil {
		return err
	}
	for _, o := range objects {
		dir := filepath.Join(m.objectsRoot(), o.Name())
		if !keep[dir] {
			m.log.Info("removing unreferenced object data", "path", dir)
			_ = os.RemoveAll(dir)
			continue
		}
		versions, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, v := range versions {
			p := filepath.Join(dir, v.Name())
			if !keep[p] {
				m.log.Info("removing unreferenced version", "path", p)
				_ = os.RemoveAll(p)
			}
		}
	}
	return nil
}

// Describe returns the columns of a query's result without running it.
func (m *Materializer) Describe(ctx context.Context, query string) ([]sqlplan.Column, error) {
	conn, err := m.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return describe(ctx, conn, query)
}

func describe(ctx context.Context, conn *sql.Conn, query string) ([]sqlplan.Column, error) {
	rows, err := conn.QueryContext(ctx, "DESCRIBE "+query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var cols []sqlplan.Column
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		cols = append(cols, sqlplan.Column{Name: fmt.Sprint(vals[0]), Type: fmt.Sprint(vals[1])})
	}
	return cols, rows.Err()
}

// TableRefs returns the relations a query reads, from DuckDB's own parser.
func (m *Materializer) TableRefs(ctx context.Context, query string) ([]sqlplan.TableRef, error) {
	var js string
	q := "SELECT CAST(json_serialize_sql('" + strings.ReplaceAll(query, "'", "''") + "') AS VARCHAR)"
	if err := m.opts.DB.QueryRowContext(ctx, q).Scan(&js); err != nil {
		return nil, err
	}
	return sqlplan.TableRefs(js)
}

func (m *Materializer) conn(ctx context.Context) (*sql.Conn, error) {
	conn, err := m.opts.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range m.opts.ConnInit {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// authorize asks Options.Authorize, and sets the connection up as the
// object's owner.
func (m *Materializer) authorize(ctx context.Context, conn *sql.Conn, ref catalog.Ref, query string) error {
	if m.opts.Authorize == nil {
		return nil
	}
	setup, err := m.opts.Authorize(ctx, ref, query)
	if err != nil {
		return err
	}
	if setup != "" {
		_, err = conn.ExecContext(ctx, setup)
	}
	return err
}

// Progress receives human-readable progress of a refresh (sent to psql as
// NOTICE messages by the session).
type Progress func(msg string)

// Refresh recomputes view v in full and publishes the result as a new
// version. The run is recorded in sluice.runs whatever happens; a failed
// refresh leaves the current version untouched.
func (m *Materializer) Refresh(ctx context.Context, v catalog.View, trigger string, progress Progress) (*catalog.Run, error) {
	clock := newPhaseClock()
	ctx = withClock(ctx, clock)
	unlock := m.lock(v.ID)
	defer unlock()
	clock.mark("lock")
	if progress == nil {
		progress = func(string) {}
	}
	// The definition may have changed (or gone) while we waited.
	v, err := m.opts.Catalog.GetView(ctx, v.Ref)
	if err != nil {
		return nil, err
	}
	clock.mark("get_view")
	m.mu.Lock()
	starts := append([]func(context.Context, catalog.Ref){}, m.onStart...)
	m.mu.Unlock()
	for _, fn := range starts {
		fn(ctx, v.Ref)
	}
	clock.mark("on_start")
	// Attempts, retries and timeouts: retry.go.
	return m.attempts(ctx, m.viewAttempt(v, progress, nil), trigger, progress)
}

// refresh is one attempt. With filters (a backfill, backfill.go) it
// recomputes only the partitions they select and links the current
// version's other files into the new version. With redefine (replace.go),
// v is a new definition that the version's publish records.
func (m *Materializer) refresh(ctx context.Context, v catalog.View, run *catalog.Run, progress Progress, filters []sqlplan.PartitionFilter, redefine *catalog.Redefinition) (retired []string, err error) {
	clock := clockOf(ctx)
	staging := m.stagingDir(run.ID)
	defer os.RemoveAll(staging) // gone after a failure; renamed away after success
	progress = m.board.tracking(run.ID, progress)
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, err
	}
	conn, err := m.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	clock.mark("conn")
	if err := m.authorize(ctx, conn, v.Ref, v.Query); err != nil {
		return nil, err
	}
	clock.mark("authorize")

	cols, err := describe(ctx, conn, v.Query)
	if err != nil {
		return nil, err
	}
	clock.mark("describe")
	// The previous version's partition count decides the sort below;
	// the highest version ever recorded numbers the new one (read now:
	// the object's lock keeps other refreshes of it out until publish).
	parts, last, err := m.opts.Catalog.VersionCounts(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	clock.mark("version_counts")
	query := v.Query
	var bf *backfill
	if len(filters) > 0 {
		if bf, err = m.planBackfill(ctx, conn, v, filters); err != nil {
			return nil, err
		}
		query = bf.query
	}
	// Quality gates (quality.go): count violations, abort on FAIL, then
	// write only the rows passing the DROP ROW constraints.
	if query, err = m.checkQuality(ctx, conn, qualityGate{ref: v.Ref, kind: catalog.KindMaterializedView, constraints: v.Constraints}, run, query, progress); err != nil {
		return nil, err
	}
	plan, err := sqlplan.PlanRefresh(sqlplan.Refresh{
		Query: query, Columns: cols, PartitionBy: v.PartitionBy, Options: v.Options, StagingDir: staging,
		SortByPartition: bf == nil && (v.Version == 0 || parts > sqlplan.SortAbovePartitions),
		// Asked only where it is used: an unpartitioned view in one file.
		OrderFree: len(v.PartitionBy) == 0 && v.Options["target_file_size"] == "" && orderFree(ctx, conn, query), // write.go
	})
	if err != nil {
		return nil, err
	}
	clock.mark("plan")
	// DuckDB keeps one open file per partition (the engine raises
	// partitioned_write_max_open_files for the whole instance): otherwise
	// it closes and reopens files past 100 partitions, flooding the output
	// with small files.
	progress(fmt.Sprintf("refreshing %s: writing a new version", v.Ref.Name))
	files, err := copyFiles(ctx, conn, plan.CopySQL)
	if err != nil {
		return nil, err
	}
	clock.mark("copy")
	if plan.SplitAbove > 0 {
		if files, err = splitLarge(ctx, conn, files, plan.SplitAbove, v.Options["compression"]); err != nil {
			return nil, err
		}
	}
	if files, err = m.encryptFiles(ctx, files, plan.EncryptionKey); err != nil { // encrypt.go
		return nil, err
	}
	stats := partitionStats(staging, files)
	clock.mark("split_encrypt_stats")
	if bf != nil {
		progress(fmt.Sprintf("backfilling %s: recomputed %d partitions", v.Ref.Name, len(stats)))
	}
	var rows, bytes int64
	for _, p := range stats {
		rows += p.Rows
		bytes += p.Bytes
	}
	m.board.wrote(run.ID, rows, int64(len(files)), bytes)
	progress(fmt.Sprintf("refreshing %s: wrote %d rows in %d files, %d partitions", v.Ref.Name, rows, len(files), len(stats)))

	version := max(last, v.Version) + 1
	final := m.VersionPath(v.ID, version)
	viewSQL := sqlplan.EmptyViewSQL(cols)
	if bf != nil {
		// The current version's other partitions join the new version as
		// hard links: same files, nothing rewritten.
		if stats, err = m.linkKept(ctx, bf, v, staging, stats, plan.EncryptionKey); err != nil {
			return nil, err
		}
	}
	if len(stats) > 0 {
		// Stored whole in object storage before it is published.
		if err := m.storeVersion(ctx, v.Options["location"], staging, version); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(staging, final); err != nil {
			return nil, err
		}
		viewSQL = sqlplan.VersionViewSQL(final, cols, v.PartitionBy, plan.EncryptionKey)
	}
	clock.mark("rename")
	retired, err = m.opts.Catalog.Publish(context.WithoutCancel(ctx), catalog.Publish{
		View: v, Run: run, Version: version, Path: final, Partitions: stats, ViewSQL: viewSQL, EncryptionKey: plan.EncryptionKey,
		Redefine: redefine,
	})
	if err != nil {
		_ = os.RemoveAll(final)
		return nil, err
	}
	clock.mark("publish")
	if loc := v.Options["location"]; loc != "" && len(stats) > 0 {
		m.pointCurrent(context.WithoutCancel(ctx), runLog(m.log, run), loc, m.stagingRoot(), version)
	}
	return retired, nil
}

// Drop removes the given versions' files once no reader needs them.
func (m *Materializer) Drop(paths []string) {
	m.Readers.Retire(paths...)
}
