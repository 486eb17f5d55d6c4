package materialize

import (
	"context"
	"encoding/json"
	"strconv"
)

// EstimateRows returns DuckDB's estimate of the number of rows query
// returns, from its optimizer (EXPLAIN (FORMAT json): the estimated
// cardinality of the topmost operator that has one), without running it.
// ok is false when DuckDB gives no estimate.
func (m *Materializer) EstimateRows(ctx context.Context, query string) (n int64, ok bool, err error) {
	conn, err := m.conn(ctx)
	if err != nil {
		return 0, false, err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "EXPLAIN (FORMAT json) "+query)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var plan string
	for rows.Next() {
		var key string
		if err := rows.Scan(&key, &plan); err != nil {
			return 0, false, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	n, ok = estimatedCardinality(plan)
	return n, ok, nil
}

type explainNode struct {
	Children  []explainNode  `json:"children"`
	ExtraInfo map[string]any `json:"extra_info"`
}

// estimatedCardinality finds, breadth first from the root, the first
// operator with an "Estimated Cardinality".
func estimatedCardinality(plan string) (int64, bool) {
	var roots []explainNode
	if err := json.Unmarshal([]byte(plan), &roots); err != nil {
		return 0, false
	}
	for queue := roots; len(queue) > 0; {
		n := queue[0]
		queue = append(queue[1:], n.Children...)
		if s, ok := n.ExtraInfo["Estimated Cardinality"].(string); ok {
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}
