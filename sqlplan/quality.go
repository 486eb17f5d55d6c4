package sqlplan

import (
	"fmt"
	"strings"
)

// Quality-gate actions, as stored in the catalog and in sluice.quality.
const (
	ActionFail    = "FAIL"
	ActionDropRow = "DROP ROW"
	ActionWarn    = "WARN"
)

// Constraint is an EXPECT constraint of a materialized view or pipeline:
// rows of the query are expected to satisfy Predicate.
//
// A row violates a constraint when its predicate is false. As with SQL CHECK
// constraints, a predicate that is NULL passes: write `x IS NOT NULL AND
// x > 0` to refuse NULLs.
type Constraint struct {
	Name      string `json:"name"`
	Predicate string `json:"predicate"` // SQL boolean expression over the query's columns
	Action    string `json:"action"`    // ActionFail, ActionDropRow or ActionWarn
}

// QualityCheckSQL is a query DuckDB binds (DESCRIBE ...) to validate a
// constraint's predicate against the query's columns at CREATE. Each
// predicate, like the query, ends its own line, so a trailing comment in it
// cannot swallow the rest.
func QualityCheckSQL(query string, c Constraint) string {
	return fmt.Sprintf("SELECT * FROM (%s\n) AS q WHERE (%s\n)", strings.TrimSpace(query), c.Predicate)
}

// QualityCountSQL counts, in one aggregate pass over the query's result, the
// rows (column "rows", first) and the violations of each constraint
// (one column per constraint, in order). The query is run once for the
// count: the refresh then runs it again to write the result, so a view with
// constraints costs about one extra evaluation of its query per refresh.
func QualityCountSQL(query string, cs []Constraint) string {
	parts := []string{"count(*)"}
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("count(*) FILTER (WHERE (%s\n) IS FALSE)", c.Predicate))
	}
	return fmt.Sprintf("SELECT %s FROM (%s\n) AS q", strings.Join(parts, ", "), strings.TrimSpace(query))
}

// FilterDropRows wraps query so that it returns only the rows passing every
// DROP ROW constraint (a NULL predicate passes). Without DROP ROW
// constraints it returns query unchanged.
func FilterDropRows(query string, cs []Constraint) string {
	var preds []string
	for _, c := range cs {
		if c.Action == ActionDropRow {
			preds = append(preds, fmt.Sprintf("(%s\n) IS NOT FALSE", c.Predicate))
		}
	}
	if len(preds) == 0 {
		return query
	}
	return fmt.Sprintf("SELECT * FROM (%s\n) AS q WHERE %s", strings.TrimSpace(query), strings.Join(preds, " AND "))
}
