package materialize

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sqlplan"
)

// Constraints converts catalog constraints to sqlplan's.
func Constraints(cs []catalog.Constraint) []sqlplan.Constraint {
	out := make([]sqlplan.Constraint, len(cs))
	for i, c := range cs {
		out[i] = sqlplan.Constraint(c)
	}
	return out
}

// CheckConstraints binds each constraint's predicate against the query's
// columns without running anything; the error is DuckDB's (42703 unknown
// column, 42804 not a boolean, ...).
func (m *Materializer) CheckConstraints(ctx context.Context, query string, cs []sqlplan.Constraint) error {
	conn, err := m.conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, c := range cs {
		// Bound as a filter, as the refresh uses it (no aggregates, no
		// window functions) ...
		if _, err := describe(ctx, conn, sqlplan.QualityCheckSQL(query, c)); err != nil {
			return err
		}
		// ... and boolean: WHERE would cast other types implicitly.
		cols, err := describe(ctx, conn, fmt.Sprintf("SELECT (%s\n) AS ok FROM (%s\n) AS q", c.Predicate, strings.TrimSpace(query)))
		if err != nil {
			return err
		}
		if len(cols) == 1 && cols[0].Type != "BOOLEAN" {
			return pgerr.New(pgerrcode.DatatypeMismatch, "argument of EXPECT of constraint %q must be type boolean, not type %s", c.Name, cols[0].Type)
		}
	}
	return nil
}

// qualityGate names an object's EXPECT constraints for checkQuality.
type qualityGate struct {
	ref         catalog.Ref
	kind        catalog.Kind // KindMaterializedView or KindPipeline
	constraints []catalog.Constraint
}

// checkQuality runs the quality gates of an object over query (the rows
// about to be written: a view's whole result, a pipeline run's new rows):
// one aggregate pass counts the rows and each constraint's violations, the
// counts are recorded in sluice.quality, a violated FAIL constraint aborts
// the attempt with 23514, and the returned query keeps only the rows passing
// the DROP ROW constraints. Without constraints it returns query unchanged
// and costs nothing.
func (m *Materializer) checkQuality(ctx context.Context, conn *sql.Conn, g qualityGate, run *catalog.Run, query string, progress Progress) (string, error) {
	if len(g.constraints) == 0 {
		return query, nil
	}
	name := g.ref.Name
	cs := Constraints(g.constraints)
	progress(fmt.Sprintf("checking %d constraints of %s", len(cs), name))
	vals := make([]int64, len(cs)+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := conn.QueryRowContext(ctx, sqlplan.QualityCountSQL(query, cs)).Scan(ptrs...); err != nil {
		return "", err
	}
	run.RowsIn = sql.NullInt64{Int64: vals[0], Valid: true}
	counts := make([]catalog.QualityCount, len(cs))
	var failed []string
	for i, c := range g.constraints {
		n := vals[i+1]
		counts[i] = catalog.QualityCount{Constraint: c, Violations: n}
		if n == 0 {
			continue
		}
		m.obs.Violations(g.ref, g.kind, c, n)
		switch c.Action {
		case sqlplan.ActionFail:
			failed = append(failed, fmt.Sprintf("constraint %q: %d rows", c.Name, n))
		case sqlplan.ActionDropRow:
			progress(fmt.Sprintf("%s: constraint %q drops %d of %d rows", name, c.Name, n, vals[0]))
		default:
			progress(fmt.Sprintf("%s: constraint %q is violated by %d of %d rows (kept: ON VIOLATION WARN)", name, c.Name, n, vals[0]))
		}
	}
	if err := m.opts.Catalog.RecordQuality(context.WithoutCancel(ctx), run, counts); err != nil {
		return "", err
	}
	if len(failed) > 0 {
		var first catalog.QualityCount
		for _, c := range counts {
			if c.Constraint.Action == sqlplan.ActionFail && c.Violations > 0 {
				first = c
				break
			}
		}
		e := pgerr.New(pgerrcode.CheckViolation, "%s %q violates constraint %q: %d rows fail EXPECT (%s)",
			g.kind, name, first.Constraint.Name, first.Violations, first.Constraint.Predicate)
		e.Detail = "Violated FAIL constraints: " + strings.Join(failed, ", ") + "."
		if g.kind == catalog.KindPipeline {
			e.Detail += " The run was rolled back: nothing was appended, and the next run reads the same input files again."
		} else {
			e.Detail += " The refresh was rolled back; the current version stays visible."
		}
		return "", e
	}
	return sqlplan.FilterDropRows(query, cs), nil
}
