package materialize

import (
	"cmp"
	"context"
	"time"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors"
)

// Observer receives what refreshes measure, for metrics (internal/metrics
// implements it). Its methods are called once per attempt, retry or
// constraint, never per row.
type Observer interface {
	// RunDone is called when an attempt (one row of sluice.runs) ends:
	// outcome is RunSucceeded, RunFailed or RunCanceled, run holds the
	// rows, files and bytes written.
	RunDone(run *catalog.Run, kind catalog.Kind, outcome string, elapsed time.Duration)
	// Retried is called when a failed attempt is retried.
	Retried(ref catalog.Ref, kind catalog.Kind)
	// Violations is called with the rows of a run that violate one EXPECT
	// constraint (not called when none do).
	Violations(ref catalog.Ref, kind catalog.Kind, c catalog.Constraint, rows int64)
}

// Outcomes of an attempt, for Observer.RunDone.
const (
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCanceled  = "canceled" // by the user or shutdown: not the object's failure
)

type nopObserver struct{}

func (nopObserver) RunDone(*catalog.Run, catalog.Kind, string, time.Duration)       {}
func (nopObserver) Retried(catalog.Ref, catalog.Kind)                               {}
func (nopObserver) Violations(catalog.Ref, catalog.Kind, catalog.Constraint, int64) {}

// ObjectState is a materialized view's or pipeline's freshness, read from
// the catalog when metrics are scraped.
type ObjectState struct {
	Ref  catalog.Ref
	Kind catalog.Kind // KindMaterializedView or KindPipeline
	// LastSuccess is the end of the last successful refresh or run; zero
	// when there was none.
	LastSuccess time.Time
	// Target is how fresh the schedule means the object to be: EVERY's
	// interval, the gap between two CRON ticks; 0 for MANUAL and ON
	// CHANGE, which promise no interval.
	Target    time.Duration
	Failing   bool // its last attempt failed after its retries
	Suspended bool
}

// ObjectStates returns every materialized view and pipeline with its
// freshness.
func (s *Scheduler) ObjectStates(ctx context.Context) ([]ObjectState, error) {
	views, err := s.opts.Catalog.ScheduledViews(ctx)
	if err != nil {
		return nil, err
	}
	now := s.opts.Clock.Now()
	out := make([]ObjectState, 0, len(views))
	for _, v := range views {
		out = append(out, ObjectState{Ref: v.Ref, Kind: v.Kind, LastSuccess: v.LastSuccess, Suspended: v.Suspended,
			Failing: v.Status == "failed", Target: target(v.Schedule, now)})
	}
	return out, nil
}

// target is the freshness a schedule promises: EVERY's interval, or the
// gap between the next two CRON ticks after now.
func target(sc catalog.Schedule, now time.Time) time.Duration {
	switch sc.Kind {
	case catalog.ScheduleEvery:
		return sc.Interval
	case catalog.ScheduleCron:
		next := NextRun(sc, now)
		if next.IsZero() {
			return 0
		}
		if after := NextRun(sc, next); !after.IsZero() {
			return after.Sub(next)
		}
	}
	return 0
}

// QueueState is how far the scheduler is behind.
type QueueState struct {
	// Depth is the refreshes due and not started: those the scheduler
	// has taken and not yet begun, and schedules whose next run has passed.
	Depth int
	// Lag is how long the oldest of them has been due (0 when none is).
	Lag time.Duration
}

// Queue returns the scheduler's backlog now.
func (s *Scheduler) Queue(ctx context.Context) (QueueState, error) {
	views, err := s.opts.Catalog.ScheduledViews(ctx)
	if err != nil {
		return QueueState{}, err
	}
	now := s.opts.Clock.Now()
	var q QueueState
	oldest := now
	s.mu.Lock()
	taken := make(map[catalog.Ref]bool, len(s.queue))
	for ref, at := range s.queue {
		taken[ref] = true
		q.Depth++
		if at.Before(oldest) {
			oldest = at
		}
	}
	s.mu.Unlock()
	for _, v := range views {
		if taken[v.Ref] || v.Suspended || v.NextRun.IsZero() || v.NextRun.After(now) {
			continue
		}
		if v.Schedule.Kind != catalog.ScheduleEvery && v.Schedule.Kind != catalog.ScheduleCron {
			continue
		}
		q.Depth++
		if v.NextRun.Before(oldest) {
			oldest = v.NextRun
		}
	}
	q.Lag = now.Sub(oldest)
	return q, nil
}

// Backlog is what a pipeline has not read yet from one source.
type Backlog struct {
	Pipeline catalog.Ref
	Source   string
	// Files and Bytes are the files a FILES source lists that no
	// committed run consumed.
	Files int
	Bytes int64
	// Connector is true for a connector source (Kafka, PostgreSQL, HTTP);
	// Behind is then true when the source's latest position is past the
	// one the pipeline committed.
	Connector bool
	Behind    bool
	// Records is how many records the pipeline is behind, for connectors
	// that can count them (connectors.Lagger: Kafka's offsets behind the
	// high watermarks); -1 when the connector cannot.
	Records int64
}

// Backlogs lists, for every pipeline and each of its sources, what its next
// run would read. It lists the FILES sources' globs and asks the connector
// sources for their latest positions: each call is bounded by ctx.
func (m *Materializer) Backlogs(ctx context.Context) ([]Backlog, error) {
	views, err := m.opts.Catalog.ScheduledViews(ctx)
	if err != nil {
		return nil, err
	}
	var out []Backlog
	var firstErr error
	for _, v := range views {
		if v.Kind != catalog.KindPipeline {
			continue
		}
		p, err := m.opts.Catalog.GetPipeline(ctx, v.Ref)
		if err != nil {
			continue // dropped meanwhile
		}
		in, err := m.newInputs(ctx, p, false)
		if err != nil {
			if ctx.Err() != nil {
				return out, err
			}
			firstErr = cmp.Or(firstErr, err)
			continue // the next run fails the same way, and says why
		}
		for _, name := range p.Sources {
			b := Backlog{Pipeline: p.Ref, Source: name, Records: -1}
			if _, ok := in.scans[name]; ok {
				for _, f := range in.files[name] {
					b.Files++
					b.Bytes += f.Size
				}
				out = append(out, b)
				continue
			}
			b.Connector = true
			if r, ok := in.reads[name]; ok {
				b.Behind = true
				if l, ok := r.src.(connectors.Lagger); ok {
					if n, err := l.Lag(r.from, r.to); err == nil {
						b.Records = n
					}
				}
			} else if _, ok := m.sourceOf(ctx, name).(connectors.Lagger); ok {
				b.Records = 0 // caught up
			}
			out = append(out, b)
		}
	}
	return out, firstErr
}

// sourceOf is the open connector source called name, nil if none.
func (m *Materializer) sourceOf(ctx context.Context, name string) connectors.Source {
	if m.opts.Sources == nil {
		return nil
	}
	src, err := m.opts.Catalog.GetSource(ctx, catalog.Ref{Schema: PipelineSourceSchema, Name: name})
	if err != nil {
		return nil
	}
	cs, err := m.opts.Sources.Get(ctx, src.ID)
	if err != nil {
		return nil
	}
	return cs
}
