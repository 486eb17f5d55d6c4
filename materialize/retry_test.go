package materialize

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
)

type harness struct {
	db      *engine.DB
	cat     *catalog.Store
	mat     *Materializer
	sleeps  []time.Duration
	onSleep func(n int)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := t.Context()
	db, err := engine.Open(ctx, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat, err := catalog.Open(ctx, db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{db: db, cat: cat}
	h.mat = New(Options{DB: db.SQL(), Catalog: cat, DataDir: t.TempDir(),
		Sleep: func(_ context.Context, d time.Duration) error {
			h.sleeps = append(h.sleeps, d)
			if h.onSleep != nil {
				h.onSleep(len(h.sleeps))
			}
			return nil
		},
		Jitter:    func() float64 { return 0.5 },
		Translate: engine.Translate,
	})
	if err := h.mat.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) view(t *testing.T, name, query string, partitionBy []string, opts map[string]string) catalog.View {
	t.Helper()
	id, err := h.cat.NextID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if partitionBy == nil {
		partitionBy = []string{}
	}
	v := catalog.View{ID: id, Ref: catalog.Ref{Schema: "main", Name: name}, Query: query, PartitionBy: partitionBy,
		Options: opts, Refresh: "manual", Status: "empty"}
	if err := h.cat.CreateView(t.Context(), v, nil, "SELECT 1 AS x WHERE false"); err != nil {
		t.Fatal(err)
	}
	return v
}

type runRow struct {
	attempt int
	status  string
	hasErr  bool
}

func (h *harness) runs(t *testing.T, name string) []runRow {
	t.Helper()
	rows, err := h.db.SQL().QueryContext(t.Context(), `SELECT attempt, status, error IS NOT NULL FROM sluice_catalog.runs WHERE object = $1 ORDER BY run_id`, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []runRow
	for rows.Next() {
		var r runRow
		if err := rows.Scan(&r.attempt, &r.status, &r.hasErr); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func (h *harness) status(t *testing.T, name string) string {
	var s string
	if err := h.db.SQL().QueryRowContext(t.Context(), `SELECT status FROM sluice_catalog.materialized_views WHERE name = $1`, name).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A source whose file is missing for the first two attempts: the third
// succeeds; every attempt is a run, the delays double.
func TestRetryUntilSourceAppears(t *testing.T) {
	h := newHarness(t)
	file := filepath.Join(t.TempDir(), "late.csv")
	v := h.view(t, "late", "SELECT * FROM read_csv('"+file+"')", nil, map[string]string{"retries": "3"})
	h.onSleep = func(n int) {
		if n == 2 {
			if err := os.WriteFile(file, []byte("a,b\n1,2\n3,4\n"), 0o644); err != nil {
				t.Error(err)
			}
		}
	}
	run, err := h.mat.Refresh(t.Context(), v, "manual", nil)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if run.Attempt != 3 || run.RowsOut != 2 {
		t.Errorf("run %+v, want attempt 3 with 2 rows", run)
	}
	want := []runRow{{1, "failed", true}, {2, "failed", true}, {3, "succeeded", false}}
	if got := h.runs(t, "late"); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("runs %v, want %v", got, want)
	}
	if len(h.sleeps) != 2 || h.sleeps[0] != time.Second || h.sleeps[1] != 2*time.Second {
		t.Errorf("sleeps %v, want [1s 2s]", h.sleeps)
	}
	if s := h.status(t, "late"); s != "fresh" {
		t.Errorf("status %s, want fresh", s)
	}
}

// Exhausted retries mark the view failed and keep its current version.
func TestRetriesExhausted(t *testing.T) {
	h := newHarness(t)
	file := filepath.Join(t.TempDir(), "flaky.csv")
	if err := os.WriteFile(file, []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v := h.view(t, "flaky", "SELECT * FROM read_csv('"+file+"')", nil, map[string]string{"retries": "1", "retry_backoff": "5s"})
	if _, err := h.mat.Refresh(t.Context(), v, "create", nil); err != nil {
		t.Fatal(err)
	}
	os.Remove(file)
	if _, err := h.mat.Refresh(t.Context(), v, "manual", nil); err == nil {
		t.Fatal("refresh of a missing file succeeded")
	}
	if got := h.runs(t, "flaky"); len(got) != 3 || got[1].attempt != 1 || got[2].attempt != 2 || got[2].status != "failed" {
		t.Errorf("runs %v", got)
	}
	if len(h.sleeps) != 1 || h.sleeps[0] != 5*time.Second {
		t.Errorf("sleeps %v, want [5s]", h.sleeps)
	}
	if s := h.status(t, "flaky"); s != "failed" {
		t.Errorf("status %s, want failed", s)
	}
	var n int
	if err := h.db.SQL().QueryRowContext(t.Context(), `SELECT count(*) FROM main.flaky`).Scan(&n); err != nil || n != 1 {
		t.Errorf("current version: %d rows, %v; want 1", n, err)
	}
}

// Errors that retrying cannot fix are not retried.
func TestNoRetryOfDefinitionErrors(t *testing.T) {
	h := newHarness(t)
	v := h.view(t, "broken", "SELECT no_such_column FROM range(3)", nil, map[string]string{"retries": "3"})
	_, err := h.mat.Refresh(t.Context(), v, "manual", nil)
	if code := pgerr.Code(err); code != "42703" {
		t.Fatalf("got %v (%s), want 42703", err, code)
	}
	if got := h.runs(t, "broken"); len(got) != 1 || len(h.sleeps) != 0 {
		t.Errorf("runs %v, sleeps %v: want one attempt", got, h.sleeps)
	}
}

// timeout bounds each attempt with 57014.
func TestTimeout(t *testing.T) {
	h := newHarness(t)
	v := h.view(t, "slow", "SELECT sum(hash(a.range + b.range)) AS s FROM range(1000000) a, range(1000000) b", nil,
		map[string]string{"timeout": "200ms", "retries": "1"})
	start := time.Now()
	_, err := h.mat.Refresh(t.Context(), v, "manual", nil)
	if code := pgerr.Code(err); code != "57014" {
		t.Fatalf("got %v (%s), want 57014", err, code)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if got := h.runs(t, "slow"); len(got) != 2 {
		t.Errorf("runs %v: a timeout is retried", got)
	}
}

// A backfill of one partition leaves the other partitions' files untouched:
// the new version holds the very same files (same inode).
func TestBackfillKeepsOtherPartitionsFiles(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	if _, err := h.db.SQL().ExecContext(ctx, `CREATE TABLE main.src AS SELECT DATE '2024-11-01' + (i % 5)::INTEGER AS day, i AS n FROM range(100) t(i)`); err != nil {
		t.Fatal(err)
	}
	v := h.view(t, "byday", "SELECT day, n FROM main.src", []string{"day"}, nil)
	if _, err := h.mat.Refresh(ctx, v, "create", nil); err != nil {
		t.Fatal(err)
	}
	old, err := h.cat.GetView(ctx, v.Ref)
	if err != nil {
		t.Fatal(err)
	}
	// The old version is removed once no reader needs it: stat its files now.
	files, _ := filepath.Glob(filepath.Join(old.VersionPath, "*", "*.parquet"))
	if len(files) != 5 {
		t.Fatalf("old version has %d files, want 5", len(files))
	}
	before := map[string]os.FileInfo{}
	for _, f := range files {
		rel, _ := filepath.Rel(old.VersionPath, f)
		if before[rel], err = os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.db.SQL().ExecContext(ctx, `DELETE FROM main.src WHERE day = DATE '2024-11-03' AND n > 50`); err != nil {
		t.Fatal(err)
	}
	run, err := h.mat.Backfill(ctx, v, [][2]string{{"day", "2024-11-03"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Trigger != "backfill" {
		t.Errorf("trigger %q", run.Trigger)
	}
	cur, err := h.cat.GetView(ctx, v.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != old.Version+1 {
		t.Fatalf("version %d after %d", cur.Version, old.Version)
	}
	for rel, a := range before {
		b, err := os.Stat(filepath.Join(cur.VersionPath, rel))
		if err != nil {
			t.Fatal(err)
		}
		same := os.SameFile(a, b)
		if filepath.Dir(rel) == "day=2024-11-03" {
			if same {
				t.Errorf("%s: recomputed partition still has the old file", rel)
			}
			continue
		}
		if !same || a.Sys().(*syscall.Stat_t).Ino != b.Sys().(*syscall.Stat_t).Ino {
			t.Errorf("%s: not the same file in the new version", rel)
		}
	}
	var total, day3 int
	if err := h.db.SQL().QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE day = DATE '2024-11-03') FROM main.byday`).Scan(&total, &day3); err != nil {
		t.Fatal(err)
	}
	var want, want3 int
	_ = h.db.SQL().QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE day = DATE '2024-11-03') FROM main.src`).Scan(&want, &want3)
	if total != want || day3 != want3 || day3 == 20 {
		t.Errorf("view has %d rows (%d on day 3), source %d (%d)", total, day3, want, want3)
	}
}
