package materialize

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-db/sluice/catalog"
)

// RunProgress is a run in flight: what it is doing and what it has written
// so far. sluice.runs holds a running run's row, but its counts only once
// it ends; this is the live part, kept in memory (the status page shows it).
type RunProgress struct {
	RunID   int64
	Object  catalog.Ref
	Trigger string
	Attempt int
	Started time.Time
	// Phase is the run's last progress message, as sent to psql as a
	// NOTICE ("refreshing v: writing a new version").
	Phase string
	// Files and Bytes written so far: while DuckDB writes they are counted
	// in the run's staging directory (a file's bytes grow as it is
	// written); once the write is over they are the write's own counts.
	Files, Bytes int64
	// Rows written, known once the write is over (DuckDB's COPY reports
	// them at its end); -1 until then.
	Rows int64
}

// progressBoard holds the runs in flight.
type progressBoard struct {
	mu   sync.Mutex
	runs map[int64]*liveRun
	// recount is how long a listing of a run's staging directory stands
	// (New: a second).
	recount time.Duration
}

type liveRun struct {
	p       RunProgress
	staging string
	written bool // the write is over: p's counts are final
	// counted is when the staging directory was last listed for p's
	// counts: pages polled by many viewers list it at most once per
	// progressBoard.recount, however many files a 2,500-partition write
	// holds.
	counted time.Time
}

func (b *progressBoard) begin(run *catalog.Run, staging string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runs == nil {
		b.runs = map[int64]*liveRun{}
	}
	b.runs[run.ID] = &liveRun{staging: staging, p: RunProgress{
		RunID: run.ID, Object: run.Object, Trigger: run.Trigger, Attempt: run.Attempt, Started: time.Now(), Rows: -1,
	}}
}

func (b *progressBoard) end(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.runs, id)
}

func (b *progressBoard) phase(id int64, msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.runs[id]; ok {
		r.p.Phase = msg
	}
}

// wrote records the counts of a finished write.
func (b *progressBoard) wrote(id int64, rows, files, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.runs[id]; ok {
		r.p.Rows, r.p.Files, r.p.Bytes, r.written = rows, files, bytes, true
	}
}

// tracking returns a Progress that notes each message as run id's phase
// before passing it on.
func (b *progressBoard) tracking(id int64, next Progress) Progress {
	return func(msg string) {
		b.phase(id, msg)
		next(msg)
	}
}

// Running returns the runs in flight, oldest first, with what each has
// written so far.
func (m *Materializer) Running() []RunProgress {
	b := &m.board
	b.mu.Lock()
	out := make([]RunProgress, 0, len(b.runs))
	var count []int // runs whose files are still being written
	now := time.Now()
	for _, r := range b.runs {
		if !r.written && now.Sub(r.counted) >= b.recount {
			count = append(count, len(out))
		}
		out = append(out, r.p)
	}
	staging := make(map[int64]string, len(count))
	for _, i := range count {
		staging[out[i].RunID] = b.runs[out[i].RunID].staging
	}
	b.mu.Unlock()
	// Outside the lock: listing a directory must not hold up the runs.
	for _, i := range count {
		out[i].Files, out[i].Bytes = parquetFiles(staging[out[i].RunID])
	}
	b.mu.Lock()
	for _, i := range count {
		if r, ok := b.runs[out[i].RunID]; ok && !r.written {
			r.p.Files, r.p.Bytes, r.counted = out[i].Files, out[i].Bytes, now
		}
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].RunID < out[j].RunID })
	return out
}

// parquetFiles counts the Parquet files under dir and their bytes so far.
func parquetFiles(dir string) (files, bytes int64) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".parquet") {
			return nil
		}
		if info, err := d.Info(); err == nil {
			files++
			bytes += info.Size()
		}
		return nil
	})
	return files, bytes
}

// stagingDir is run id's staging directory.
func (m *Materializer) stagingDir(id int64) string {
	return filepath.Join(m.stagingRoot(), "run-"+strconv.FormatInt(id, 10))
}
