package sqlplan

import "testing"

// The plans are DuckDB 1.5's EXPLAIN (FORMAT json) output, trimmed of
// extra_info.
func TestOrderFree(t *testing.T) {
	for _, c := range []struct {
		name, plan string
		free       bool
	}{
		{"scan", `[{"name": "SEQ_SCAN", "children": [], "extra_info": {"Table": "memory.main.t"}}]`, true},
		{"filter, projection, aggregate", `[{"name": "PROJECTION", "children": [{"name": "HASH_GROUP_BY", "children": [{"name": "FILTER", "children": [{"name": "TABLE_SCAN", "children": []}]}]}]}]`, true},
		{"ORDER BY at the top", `[{"name": "ORDER_BY", "children": [{"name": "SEQ_SCAN", "children": []}]}]`, false},
		{"ORDER BY of a view, under a projection", `[{"name": "PROJECTION", "children": [{"name": "ORDER_BY", "children": [{"name": "PROJECTION", "children": [{"name": "SEQ_SCAN", "children": []}]}]}]}]`, false},
		{"ORDER BY ... LIMIT", `[{"name": "TOP_N", "children": [{"name": "SEQ_SCAN", "children": []}]}]`, false},
		{"LIMIT", `[{"name": "STREAMING_LIMIT", "children": [{"name": "SEQ_SCAN", "children": []}]}]`, false},
		{"window", `[{"name": "PROJECTION", "children": [{"name": "WINDOW", "children": [{"name": "SEQ_SCAN", "children": []}]}]}]`, false},
		{"deep in a join", `[{"name": "HASH_JOIN", "children": [{"name": "SEQ_SCAN", "children": []}, {"name": "PROJECTION", "children": [{"name": "ORDER_BY", "children": []}]}]}]`, false},
	} {
		free, err := OrderFree(c.plan)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if free != c.free {
			t.Errorf("%s: OrderFree = %v, want %v", c.name, free, c.free)
		}
	}
	for _, bad := range []string{"", "[]", "{}", "not json"} {
		if free, err := OrderFree(bad); err == nil || free {
			t.Errorf("%q: OrderFree = %v, %v; want an error", bad, free, err)
		}
	}
	if got := OrderSQL("  SELECT 1 -- c "); got != "EXPLAIN (FORMAT json) SELECT 1 -- c\n" {
		t.Errorf("OrderSQL: %q", got)
	}
}
