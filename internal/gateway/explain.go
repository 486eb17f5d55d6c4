package gateway

import (
	"context"

	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/wire"
)

// explainRefresh answers EXPLAIN REFRESH name with rows (item, detail)
// describing what a refresh would read and write, without running it.
// prep is set in the extended protocol (prepared from the statement's ExplainSQL).
func (s *session) explainRefresh(ctx context.Context, st *sql.ExplainRefresh, prep *engine.Stmt, args []any, w wire.ResultWriter) (*cursor, error) {
	text := "SELECT 1" // unused when prepared
	if prep == nil {
		var err error
		a, err := s.actor(ctx)
		if err != nil {
			return nil, err
		}
		if text, err = s.g.objects.ExplainSQL(ctx, st, a); err != nil {
			return nil, err
		}
	}
	c, err := s.passthrough(ctx, text, prep, args, w)
	if err != nil {
		return nil, err
	}
	c.tagFor = func(int64) string { return "EXPLAIN" }
	return c, nil
}
