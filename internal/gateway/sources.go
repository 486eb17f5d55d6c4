package gateway

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/materialize"
)

// registerScan gives DuckDB the table function connector sources' views
// call (materialize.ScanFunction), bound to the open sources.
func (g *Gateway) registerScan(ctx context.Context) error {
	return g.db.RegisterScan(ctx, materialize.ScanFunction, 3, g.opts.SourceParallelism, func(ctx context.Context, args []string) (engine.ScanSource, error) {
		src, from, to, err := g.sources.Bind(ctx, args)
		if err != nil {
			return nil, err
		}
		return scanSource{src: src, from: from, to: to}, nil
	})
}

// scanSource adapts a connector source's read of (from, to] to the engine.
type scanSource struct {
	src      connectors.Source
	from, to connectors.Position
}

func (s scanSource) Schema() *arrow.Schema { return s.src.Schema() }

func (s scanSource) Plan(ctx context.Context) (engine.ScanPlan, error) {
	splits, err := s.src.Plan(ctx, s.from, s.to)
	return splitPlan(splits), err
}

type splitPlan []connectors.Split

func (p splitPlan) Parts() int { return len(p) }

func (p splitPlan) OpenPart(ctx context.Context, i int) (engine.BatchReader, error) {
	return p[i].Open(ctx)
}
