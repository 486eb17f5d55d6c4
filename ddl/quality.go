package ddl

import (
	"context"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// viewConstraints checks the EXPECT constraints of a CREATE: names unique
// (42710), predicates bound against the query's columns and boolean (the
// error is DuckDB's: 42703 unknown column, ...).
func (x *Executor) viewConstraints(ctx context.Context, query string, cs []sql.Constraint) ([]catalog.Constraint, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	out := make([]catalog.Constraint, len(cs))
	plan := make([]sqlplan.Constraint, len(cs))
	seen := map[string]bool{}
	for i, c := range cs {
		if seen[c.Name] {
			return nil, pgerr.New("42710", "constraint %q appears twice", c.Name)
		}
		seen[c.Name] = true
		out[i] = catalog.Constraint{Name: c.Name, Predicate: c.Predicate, Action: violationAction(c.Action)}
		plan[i] = sqlplan.Constraint(out[i])
	}
	if err := x.mat.CheckConstraints(ctx, query, plan); err != nil {
		return nil, pgerr.As(engine.Translate(err)).WithPosition(0)
	}
	return out, nil
}

func violationAction(v sql.Violation) string {
	switch v {
	case sql.ViolationDropRow:
		return sqlplan.ActionDropRow
	case sql.ViolationWarn:
		return sqlplan.ActionWarn
	}
	return sqlplan.ActionFail
}
