//go:build duckdb_arrow

package materialize

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/sqlplan"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *fakeClock) After(time.Duration) <-chan time.Time { return make(chan time.Time) }
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

type schedFixture struct {
	cat   *catalog.Store
	sched *Scheduler
	clock *fakeClock
}

func newSchedFixture(t *testing.T) *schedFixture {
	t.Helper()
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Config{ConnInit: []string{"CREATE SCHEMA IF NOT EXISTS public", "SET search_path = 'public'"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat, err := catalog.Open(ctx, db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	m := New(Options{DB: db.SQL(), Catalog: cat, DataDir: t.TempDir(), ConnInit: []string{"SET search_path = 'public'"}})
	if err := m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2024, 11, 14, 10, 0, 30, 0, time.UTC)}
	return &schedFixture{cat: cat, clock: clock, sched: NewScheduler(SchedulerOptions{Materializer: m, Catalog: cat, DB: db.SQL(), Clock: clock})}
}

func (f *schedFixture) createView(t *testing.T, name, query string, sc catalog.Schedule, deps ...catalog.Dependency) {
	t.Helper()
	ctx := context.Background()
	id, _ := f.cat.NextID(ctx)
	ref := catalog.Ref{Schema: "public", Name: name}
	v := catalog.View{ID: id, Ref: ref, Query: query, Refresh: sc.Text, Status: "empty"}
	if err := f.cat.CreateView(ctx, v, deps, query+" LIMIT 0"); err != nil {
		t.Fatal(err)
	}
	if err := f.cat.SetSchedule(ctx, ref, sc, NextRun(sc, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
}

func (f *schedFixture) runs(t *testing.T) []string {
	t.Helper()
	rows, err := f.cat.DB().QueryContext(context.Background(), `SELECT object || ':' || trigger FROM sluice_catalog.runs ORDER BY run_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func TestSchedulerEveryRunsOnTicksAndOnceForMissedTicks(t *testing.T) {
	f := newSchedFixture(t)
	ctx := context.Background()
	f.createView(t, "every_min", "SELECT 1 AS x", catalog.Schedule{Kind: catalog.ScheduleEvery, Interval: time.Minute, Text: "EVERY '1 minute'"})

	f.sched.tick(ctx)
	if got := f.runs(t); len(got) != 0 {
		t.Fatalf("ran before its first tick: %v", got)
	}
	f.clock.set(time.Date(2024, 11, 14, 10, 1, 0, 0, time.UTC)) // the tick
	f.sched.tick(ctx)
	if got := f.runs(t); len(got) != 1 || got[0] != "every_min:schedule" {
		t.Fatalf("runs = %v, want one scheduled run", got)
	}
	f.sched.tick(ctx) // same instant: nothing new
	// The gateway was down for an hour: one run, not sixty.
	f.clock.set(time.Date(2024, 11, 14, 11, 1, 30, 0, time.UTC))
	f.sched.tick(ctx)
	f.sched.tick(ctx)
	if got := f.runs(t); len(got) != 2 {
		t.Fatalf("runs = %v, want exactly one more run for the missed ticks", got)
	}
	views, _ := f.cat.ScheduledViews(ctx)
	if want := time.Date(2024, 11, 14, 11, 2, 0, 0, time.UTC); !views[0].NextRun.Equal(want) {
		t.Errorf("next run %v, want %v", views[0].NextRun, want)
	}
}

func TestSchedulerSuspendedDoesNotRun(t *testing.T) {
	f := newSchedFixture(t)
	ctx := context.Background()
	sc := catalog.Schedule{Kind: catalog.ScheduleEvery, Interval: time.Minute, Text: "EVERY '1 minute'"}
	f.createView(t, "v", "SELECT 1 AS x", sc)
	ref := catalog.Ref{Schema: "public", Name: "v"}
	if err := f.cat.SetSuspended(ctx, ref, true, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.clock.set(f.clock.Now().Add(10 * time.Minute))
	f.sched.tick(ctx)
	if got := f.runs(t); len(got) != 0 {
		t.Fatalf("a suspended view ran: %v", got)
	}
}

func TestSchedulerOnChangeFollowsUpstreamInOrder(t *testing.T) {
	f := newSchedFixture(t)
	ctx := context.Background()
	onChange := catalog.Schedule{Kind: catalog.ScheduleOnChange, Text: "ON CHANGE"}
	manual := catalog.Schedule{Kind: catalog.ScheduleManual, Text: "MANUAL"}
	up := catalog.Ref{Schema: "public", Name: "up"}
	mid := catalog.Ref{Schema: "public", Name: "mid"}
	f.createView(t, "up", "SELECT 1 AS x", manual)
	f.createView(t, "mid", "SELECT x FROM up", onChange, catalog.Dependency{Object: mid, ObjectKind: catalog.KindMaterializedView, DependsOn: up, DependsOnKind: catalog.KindMaterializedView})
	f.createView(t, "down", "SELECT x FROM mid", onChange, catalog.Dependency{Object: catalog.Ref{Schema: "public", Name: "down"}, ObjectKind: catalog.KindMaterializedView, DependsOn: mid, DependsOnKind: catalog.KindMaterializedView})
	for _, r := range []catalog.Ref{mid, {Schema: "public", Name: "down"}} {
		if err := f.cat.MarkAttempt(ctx, mustView(t, f.cat, r).ID, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	f.sched.tick(ctx)
	if got := f.runs(t); len(got) != 0 {
		t.Fatalf("ran without a change: %v", got)
	}
	if _, err := f.sched.opts.Materializer.Refresh(ctx, mustView(t, f.cat, up), "manual", nil); err != nil {
		t.Fatal(err)
	}
	f.sched.tick(ctx) // mid refreshes; its publish owes down a refresh
	f.sched.tick(ctx)
	want := []string{"up:manual", "mid:change", "down:change"}
	if got := f.runs(t); len(got) != 3 || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("runs = %v, want %v", got, want)
	}
	f.sched.tick(ctx)
	if got := f.runs(t); len(got) != 3 {
		t.Fatalf("refreshed again without a change: %v", got)
	}
}

func mustView(t *testing.T, cat *catalog.Store, ref catalog.Ref) catalog.View {
	t.Helper()
	v, err := cat.GetView(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNextRunCron(t *testing.T) {
	sc := catalog.Schedule{Kind: catalog.ScheduleCron, Cron: "0 * * * *", TimeZone: "Europe/Paris"}
	if err := ValidateSchedule(&sc); err != nil {
		t.Fatal(err)
	}
	got := NextRun(sc, time.Date(2024, 11, 14, 10, 30, 0, 0, time.UTC))
	if want := time.Date(2024, 11, 14, 11, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next = %v, want %v", got, want)
	}
	bad := catalog.Schedule{Kind: catalog.ScheduleCron, Cron: "not a cron"}
	if err := ValidateSchedule(&bad); err == nil {
		t.Error("want an error for a bad cron expression")
	}
}

// An ON CHANGE pipeline run that finds no new input appends nothing and so
// does not trigger the ON CHANGE objects downstream; one that appends rows
// does.
func TestSchedulerPipelineOnChangeNothingNewDoesNotTriggerDownstream(t *testing.T) {
	f := newSchedFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.csv", "x\n1\n2\n")
	write("b.csv", "x\n3\n")
	scan, err := files.New(filepath.Join(dir, "*.csv"), dir, map[string]string{"format": "csv", "header": "true"})
	if err != nil {
		t.Fatal(err)
	}
	src := catalog.Ref{Schema: "public", Name: "src"}
	sid, _ := f.cat.NextID(ctx)
	if err := f.cat.CreateSource(ctx, catalog.Source{ID: sid, Ref: src, Connector: "files", Location: scan.Path, Options: scan.Options}, scan.SQL()); err != nil {
		t.Fatal(err)
	}
	onChange := catalog.Schedule{Kind: catalog.ScheduleOnChange, Text: "ON CHANGE"}
	pipe := catalog.Ref{Schema: "public", Name: "pipe"}
	pid, _ := f.cat.NextID(ctx)
	m := f.sched.opts.Materializer
	cols := []sqlplan.Column{{Name: "x", Type: "BIGINT"}}
	p := catalog.Pipeline{ID: pid, Ref: pipe, Query: "SELECT x FROM src", PartitionBy: []string{}, Options: map[string]string{},
		Refresh: onChange.Text, Status: "empty", Columns: []catalog.Column{{Name: "x", Type: "BIGINT"}}, Sources: []string{"src"}, Path: m.PipelinePath(pid)}
	if err := f.cat.CreatePipeline(ctx, p, []catalog.Dependency{{Object: pipe, ObjectKind: catalog.KindPipeline, DependsOn: src, DependsOnKind: catalog.KindSource}},
		sqlplan.EmptyViewSQL(cols)); err != nil {
		t.Fatal(err)
	}
	if err := f.cat.SetSchedule(ctx, pipe, onChange, time.Time{}); err != nil {
		t.Fatal(err)
	}
	down := catalog.Ref{Schema: "public", Name: "down"}
	f.createView(t, "down", "SELECT count(*) AS n FROM pipe", onChange,
		catalog.Dependency{Object: down, ObjectKind: catalog.KindMaterializedView, DependsOn: pipe, DependsOnKind: catalog.KindPipeline})

	if _, err := m.RefreshPipeline(ctx, pipe, "manual", nil); err != nil { // reads a.csv and b.csv, appends
		t.Fatal(err)
	}
	// The files were written before these attempts: only a change in the
	// glob's file count can make the pipeline owe a run.
	f.clock.set(time.Now().Add(time.Minute))
	for _, id := range []int64{pid, mustView(t, f.cat, down).ID} {
		if err := f.cat.MarkAttempt(ctx, id, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	f.sched.tick(ctx) // the pipeline's append owes down a refresh
	if got, want := f.runs(t), []string{"pipe:manual", "down:change"}; !slices.Equal(got, want) {
		t.Fatalf("runs = %v, want %v", got, want)
	}

	// A file goes away: the source changed, the pipeline runs, but it has
	// nothing new to read, appends nothing, and down does not refresh.
	if err := os.Remove(filepath.Join(dir, "b.csv")); err != nil {
		t.Fatal(err)
	}
	f.sched.tick(ctx)
	f.sched.tick(ctx)
	if got, want := f.runs(t), []string{"pipe:manual", "down:change", "pipe:change"}; !slices.Equal(got, want) {
		t.Fatalf("runs = %v, want %v (a pipeline run with nothing new must not trigger downstream)", got, want)
	}
	var written int64
	if err := f.cat.DB().QueryRowContext(ctx, `SELECT files_written FROM sluice_catalog.runs WHERE object = 'pipe' ORDER BY run_id DESC LIMIT 1`).Scan(&written); err != nil || written != 0 {
		t.Fatalf("the nothing-new run wrote %d files (%v), want 0", written, err)
	}

	// A new file: the pipeline appends its rows, then down refreshes.
	write("c.csv", "x\n4\n")
	f.sched.tick(ctx)
	f.sched.tick(ctx)
	want := []string{"pipe:manual", "down:change", "pipe:change", "pipe:change", "down:change"}
	if got := f.runs(t); !slices.Equal(got, want) {
		t.Fatalf("runs = %v, want %v", got, want)
	}
	var n int64
	if err := f.cat.DB().QueryRowContext(ctx, `SELECT n FROM down`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("down = %d (%v), want 4", n, err)
	}
}
