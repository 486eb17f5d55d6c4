package materialize

import (
	"context"
	"database/sql"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/sqlplan"
)

// Clock is the scheduler's time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SchedulerOptions configure a Scheduler.
type SchedulerOptions struct {
	Materializer *Materializer
	Catalog      *catalog.Store
	DB           *sql.DB // to list the files a source's glob matches
	Clock        Clock   // nil = the real clock
	Logger       *slog.Logger
	// PollInterval is how often file sources read by ON CHANGE views are
	// listed for new or changed files (default 1s).
	PollInterval time.Duration
}

// Scheduler refreshes materialized views and runs pipelines on their
// schedules (EVERY, CRON) and when their inputs change (ON CHANGE: a
// source's glob matches new files, or an upstream view or pipeline published
// new rows), in dependency order. Its state (next run, last success) is in
// the catalog, so it survives restarts: a run missed while the gateway was
// down runs once at start.
type Scheduler struct {
	opts SchedulerOptions
	log  *slog.Logger

	mu      sync.Mutex
	pending map[catalog.Ref]time.Time // ON CHANGE refreshes owed, and from when
	files   map[[2]catalog.Ref]int    // file count per (object, source) at the object's last poll
	latest  map[[2]catalog.Ref]string // connector position per (object, source) at the object's last poll
	queue   map[catalog.Ref]time.Time // refreshes taken by a tick and not started, and since when they are due
	wake    chan struct{}
}

// NewScheduler returns a scheduler; Run starts it.
func NewScheduler(opts SchedulerOptions) *Scheduler {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{opts: opts, log: log, pending: map[catalog.Ref]time.Time{}, files: map[[2]catalog.Ref]int{}, latest: map[[2]catalog.Ref]string{}, queue: map[catalog.Ref]time.Time{}, wake: make(chan struct{}, 1)}
	opts.Materializer.OnPublish(s.published)
	opts.Materializer.OnRefreshStart(s.notePositions)
	return s
}

// Wake makes the scheduler look at the catalog again now (a schedule was
// created, altered, suspended or resumed).
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// published is called after an object publishes a new version (a pipeline:
// appends rows): its ON CHANGE dependents owe a refresh.
func (s *Scheduler) published(ref catalog.Ref) {
	s.mu.Lock()
	s.pending[ref] = time.Time{} // marks an upstream change; resolved per dependent in tick
	s.mu.Unlock()
	s.Wake()
}

// Run schedules until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		wait := s.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-s.opts.Clock.After(wait):
		}
	}
}

// tick runs every refresh that is due now, in dependency order, and returns
// how long to wait before the next one may be.
func (s *Scheduler) tick(ctx context.Context) time.Duration {
	now := s.opts.Clock.Now()
	wait := s.opts.PollInterval
	views, err := s.opts.Catalog.ScheduledViews(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("scheduler: reading schedules", "err", err)
		}
		return wait
	}
	lineage, err := s.opts.Catalog.Lineage(ctx)
	if err != nil {
		s.log.Error("scheduler: reading lineage", "err", err)
		return wait
	}
	due := map[catalog.Ref]string{} // ref -> trigger
	dueAt := map[catalog.Ref]time.Time{}
	kinds := map[catalog.Ref]catalog.Kind{}
	for _, v := range views {
		kinds[v.Ref] = v.Kind
		if v.Suspended {
			continue
		}
		switch v.Schedule.Kind {
		case catalog.ScheduleEvery, catalog.ScheduleCron:
			next := v.NextRun
			if next.IsZero() || !next.After(now) {
				if !next.IsZero() {
					due[v.Ref] = "schedule" // due, or missed while down: once
					dueAt[v.Ref] = next
				}
				next = NextRun(v.Schedule, now)
				if err := s.opts.Catalog.SetNextRun(ctx, v.Ref, next); err != nil {
					s.log.Error("scheduler: recording next run", "object", v.Ref.String(), "err", err)
				}
			}
			wait = min(wait, next.Sub(now))
		case catalog.ScheduleOnChange:
			if at, ok := s.changed(ctx, v, views, lineage, now); ok {
				if at.After(now) {
					wait = min(wait, at.Sub(now))
				} else {
					due[v.Ref] = "change"
					dueAt[v.Ref] = at
				}
			}
		}
	}
	s.mu.Lock()
	for ref, at := range s.pending { // consumed upstream notices
		if at.IsZero() {
			delete(s.pending, ref)
		}
	}
	for ref, at := range dueAt {
		s.queue[ref] = at
	}
	s.mu.Unlock()
	for _, ref := range topoOrder(due, lineage) {
		if ctx.Err() != nil {
			break
		}
		s.refresh(ctx, ref, kinds[ref], due[ref])
	}
	s.mu.Lock()
	clear(s.queue) // what cancellation left
	s.mu.Unlock()
	return max(wait, 10*time.Millisecond)
}

// changed reports whether an ON CHANGE view owes a refresh, and from when
// (min_interval debounces it).
func (s *Scheduler) changed(ctx context.Context, v catalog.ScheduledView, views []catalog.ScheduledView, lineage []catalog.Dependency, now time.Time) (time.Time, bool) {
	owed := v.LastSuccess.IsZero() && v.LastAttempt.IsZero()
	s.mu.Lock()
	if _, ok := s.pending[v.Ref]; ok && !s.pending[v.Ref].IsZero() {
		owed = true
	}
	for _, d := range lineage {
		if d.Object != v.Ref {
			continue
		}
		if at, ok := s.pending[d.DependsOn]; ok && at.IsZero() {
			owed = true // an upstream view published
		}
	}
	s.mu.Unlock()
	if !owed {
		for _, d := range lineage {
			if d.Object == v.Ref && d.DependsOnKind == catalog.KindSource && s.sourceChanged(ctx, v.Ref, d.DependsOn, v.LastAttempt) {
				owed = true
			}
		}
	}
	if !owed {
		return time.Time{}, false
	}
	at := now
	if d, err := sqlplan.ParseInterval(v.MinInterval); err == nil && !v.LastAttempt.IsZero() {
		at = later(at, v.LastAttempt.Add(d))
	}
	if at.After(now) {
		s.mu.Lock()
		s.pending[v.Ref] = at // remember the owed refresh until it is due
		s.mu.Unlock()
	}
	return at, true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sourceChanged lists a file source's glob and reports new files (the
// count changed since obj's last poll) or files modified after since.
func (s *Scheduler) sourceChanged(ctx context.Context, obj, ref catalog.Ref, since time.Time) bool {
	src, err := s.opts.Catalog.GetSource(ctx, ref)
	if err != nil {
		return false
	}
	if src.Connector != "files" {
		return s.connectorChanged(ctx, obj, ref, src)
	}
	scan := &files.Scan{Path: src.Location, Options: src.Options, Remote: s.opts.Materializer.opts.Remote}
	listed, err := scan.List()
	if err != nil {
		return false
	}
	n, newer := len(listed), false
	for _, f := range listed {
		if f.MTime.After(since) {
			newer = true
		}
	}
	s.mu.Lock()
	key := [2]catalog.Ref{obj, ref}
	prev, seen := s.files[key]
	s.files[key] = n
	s.mu.Unlock()
	return newer || (seen && prev != n)
}

// notePositions records, as an ON CHANGE view's refresh starts, the
// latest position of each connector source it reads: the refresh reads at
// least up to there, so a later position means new data for the next ON
// CHANGE check. Other views are never compared, so they are not noted:
// asking costs a request to each source (an HTTP source's conditional
// GET, with its retries), made before the refresh's attempt and outside
// its timeout, and a refresh over a stalled source would wait it out
// twice. A view that becomes ON CHANGE later owes one refresh at its first
// check, as after a restart.
func (s *Scheduler) notePositions(ctx context.Context, ref catalog.Ref) {
	sources := s.opts.Materializer.opts.Sources
	if sources == nil || !s.onChange(ctx, ref) {
		return
	}
	lineage, err := s.opts.Catalog.Lineage(ctx)
	if err != nil {
		return
	}
	for _, d := range lineage {
		if d.Object != ref || d.DependsOnKind != catalog.KindSource {
			continue
		}
		src, err := s.opts.Catalog.GetSource(ctx, d.DependsOn)
		if err != nil || src.Connector == "files" {
			continue
		}
		cs, err := sources.Get(ctx, src.ID)
		if err != nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		latest, err := cs.Latest(pctx)
		cancel()
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.latest[[2]catalog.Ref{ref, d.DependsOn}] = string(latest)
		s.mu.Unlock()
	}
}

// onChange reports whether view ref refreshes ON CHANGE.
func (s *Scheduler) onChange(ctx context.Context, ref catalog.Ref) bool {
	views, err := s.opts.Catalog.ScheduledViews(ctx)
	if err != nil {
		return false
	}
	for _, v := range views {
		if v.Ref == ref {
			return v.Schedule.Kind == catalog.ScheduleOnChange
		}
	}
	return false
}

// connectorChanged asks a connector source for its latest position (Kafka's
// high watermarks, the cursor's maximum, the document's ETag) and reports
// whether it moved since obj's last poll or refresh (notePositions); for a
// pipeline, the first poll compares with the position its committed runs
// read up to, and a view not refreshed since the gateway started is owed
// one refresh (data may have arrived while it was down).
func (s *Scheduler) connectorChanged(ctx context.Context, obj, ref catalog.Ref, src catalog.Source) bool {
	sources := s.opts.Materializer.opts.Sources
	if sources == nil {
		return false
	}
	cs, err := sources.Get(ctx, src.ID)
	if err != nil {
		s.log.Warn("scheduler: opening source", "source", ref.String(), "err", err)
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	latest, err := cs.Latest(pctx)
	if err != nil {
		s.log.Warn("scheduler: polling source", "source", ref.String(), "err", err)
		return false
	}
	key := [2]catalog.Ref{obj, ref}
	s.mu.Lock()
	prev, seen := s.latest[key]
	s.latest[key] = string(latest)
	s.mu.Unlock()
	if !seen {
		p, err := s.opts.Catalog.GetPipeline(ctx, obj)
		if err != nil {
			return true // a view
		}
		positions, err := s.opts.Catalog.PipelinePositions(ctx, p.ID)
		if err != nil {
			return false
		}
		return positions[ref.Name] != string(latest)
	}
	return prev != string(latest)
}

// refresh refreshes a view or runs a pipeline (kind) for trigger.
func (s *Scheduler) refresh(ctx context.Context, ref catalog.Ref, kind catalog.Kind, trigger string) {
	s.mu.Lock()
	delete(s.pending, ref)
	delete(s.queue, ref)
	s.mu.Unlock()
	var err error
	var run *catalog.Run
	if kind == catalog.KindPipeline {
		var p catalog.Pipeline
		if p, err = s.opts.Catalog.GetPipeline(ctx, ref); err != nil {
			return // dropped meanwhile
		}
		s.markAttempt(ctx, ref, p.ID)
		run, err = s.opts.Materializer.RefreshPipeline(ctx, ref, trigger, nil)
	} else {
		var v catalog.View
		if v, err = s.opts.Catalog.GetView(ctx, ref); err != nil {
			return // dropped meanwhile
		}
		s.markAttempt(ctx, ref, v.ID)
		run, err = s.opts.Materializer.Refresh(ctx, v, trigger, nil)
	}
	if err != nil && ctx.Err() == nil {
		log := s.log.With("object", ref.String())
		if run != nil {
			log = runLog(s.log, run)
		}
		log.Warn("scheduled refresh failed", "trigger", trigger, "err", err)
	}
}

func (s *Scheduler) markAttempt(ctx context.Context, ref catalog.Ref, id int64) {
	if err := s.opts.Catalog.MarkAttempt(ctx, id, s.opts.Clock.Now()); err != nil {
		s.log.Error("scheduler: recording attempt", "object", ref.String(), "err", err)
	}
}

// topoOrder orders refs so that every object comes after the objects it
// reads (lineage), ties by name.
func topoOrder(due map[catalog.Ref]string, lineage []catalog.Dependency) []catalog.Ref {
	depth := map[catalog.Ref]int{}
	var level func(r catalog.Ref, seen map[catalog.Ref]bool) int
	level = func(r catalog.Ref, seen map[catalog.Ref]bool) int {
		if d, ok := depth[r]; ok {
			return d
		}
		if seen[r] {
			return 0 // a cycle cannot be created; be safe anyway
		}
		seen[r] = true
		d := 0
		for _, e := range lineage {
			if e.Object == r {
				d = max(d, level(e.DependsOn, seen)+1)
			}
		}
		depth[r] = d
		return d
	}
	refs := make([]catalog.Ref, 0, len(due))
	for r := range due {
		refs = append(refs, r)
		level(r, map[catalog.Ref]bool{})
	}
	sort.Slice(refs, func(i, j int) bool {
		if depth[refs[i]] != depth[refs[j]] {
			return depth[refs[i]] < depth[refs[j]]
		}
		return refs[i].String() < refs[j].String()
	})
	return refs
}
