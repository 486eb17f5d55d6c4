package sqlplan

import (
	"encoding/json"
	"fmt"
	"strings"
)

// An unpartitioned COPY to one Parquet file keeps the query's insertion
// order by running its whole pipeline (the scan included) on one thread
// when the scan has no batch index, as the Go table function of the
// connectors has not. With PRESERVE_ORDER false every thread reads and
// writes, but DuckDB then drops order altogether: measured with DuckDB
// 1.5, a COPY of 3,000,017 rows ORDER BY k DESC wrote 2 or 3 runs out of
// order. So a COPY may drop the order only when the query's plan (where
// the views and subqueries it reads are expanded) has nothing whose output
// depends on it: no ORDER BY, no TOP N, no LIMIT (which rows it keeps
// follows the order), no window (row_number() OVER () numbers rows in
// their order).

// OrderSQL is the statement whose result OrderFree reads: DuckDB's own
// plan of the query, in JSON, views and subqueries expanded.
func OrderSQL(query string) string {
	return "EXPLAIN (FORMAT json) " + strings.TrimSpace(query) + "\n"
}

// OrderFree reports whether a plan (the explain_value of OrderSQL) has no
// operator whose result depends on the order of rows, so that writing the
// query's rows in any order writes the same result.
func OrderFree(plan string) (bool, error) {
	var nodes []planNode
	if err := json.Unmarshal([]byte(plan), &nodes); err != nil {
		return false, fmt.Errorf("sqlplan: bad EXPLAIN (FORMAT json) output: %w", err)
	}
	if len(nodes) == 0 {
		return false, fmt.Errorf("sqlplan: EXPLAIN (FORMAT json) returned no plan")
	}
	for i := range nodes {
		if !nodes[i].orderFree() {
			return false, nil
		}
	}
	return true, nil
}

type planNode struct {
	Name     string     `json:"name"`
	Children []planNode `json:"children"`
}

func (n *planNode) orderFree() bool {
	name := strings.ToUpper(n.Name)
	for _, word := range []string{"ORDER", "TOP_N", "LIMIT", "WINDOW"} {
		if strings.Contains(name, word) {
			return false
		}
	}
	for i := range n.Children {
		if !n.Children[i].orderFree() {
			return false
		}
	}
	return true
}

// dropOrder is the COPY option of a write whose query OrderFree found
// free of order.
const dropOrder = "PRESERVE_ORDER false"
