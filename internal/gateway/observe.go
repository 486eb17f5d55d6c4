package gateway

import (
	"context"

	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/wire"
)

// What the metrics read at scrape time (internal/metrics.Inspector).

// ObjectStates returns every materialized view's and pipeline's freshness.
func (g *Gateway) ObjectStates(ctx context.Context) ([]materialize.ObjectState, error) {
	return g.sched.ObjectStates(ctx)
}

// SchedulerQueue returns the scheduler's backlog.
func (g *Gateway) SchedulerQueue(ctx context.Context) (materialize.QueueState, error) {
	return g.sched.Queue(ctx)
}

// Backlogs returns what each pipeline has not read yet from its sources.
func (g *Gateway) Backlogs(ctx context.Context) ([]materialize.Backlog, error) {
	return g.mat.Backlogs(ctx)
}

// EngineStats returns DuckDB's memory and temporary files.
func (g *Gateway) EngineStats(ctx context.Context) (engine.Stats, error) {
	return g.db.Stats(ctx)
}

// wireObserver and runObserver are o as the parts' own interfaces, nil
// (not a nil inside an interface) when o is nil.
func wireObserver(o Observer) wire.Observer {
	if o == nil {
		return nil
	}
	return o
}

func runObserver(o Observer) materialize.Observer {
	if o == nil {
		return nil
	}
	return o
}
