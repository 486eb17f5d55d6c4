//go:build duckdb_arrow

package engine

import (
	"context"
	"testing"
)

// TestStats: duckdb_memory() by tag, and a table held in memory shows.
func TestStats(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Memory) < 5 || before.TempFiles != 0 || before.TempBytes != 0 {
		t.Fatalf("stats of an idle instance: %+v", before)
	}
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE t AS SELECT range AS x, range::VARCHAR AS s FROM range(1000000)`); err != nil {
		t.Fatal(err)
	}
	after, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, m := range after.Memory {
		total += m.Memory
	}
	if total < 1<<20 {
		t.Fatalf("a table of a million rows in memory, DuckDB says %d bytes: %+v", total, after.Memory)
	}
}
