//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// W6, partition backfill: a materialized view PARTITION BY (day) over a
// FILES source of Parquet files holding SLUICE_BENCH_BACKFILL_ROWS rows
// (default 10,000,000) over 365 days in time order (W5's input, without
// W5's new files). Each round times
//
//   - backfill-1-day: REFRESH MATERIALIZED VIEW w6_v PARTITION (day =
//     '2024-06-01'), which recomputes one partition and hard-links the
//     other 364;
//   - full-refresh: REFRESH MATERIALIZED VIEW w6_v.
//
// Target: the backfill takes at most 5% of the full refresh's time.
func BenchmarkW6Backfill(b *testing.B) {
	ctx := context.Background()
	g := gateway(b)
	gc := serverConn(b, g.URL)
	n, files := backfillRows, incrFiles
	dir := eventFiles(b, n, files)
	const day = "2024-06-01"
	var dayRows int64
	once(b, "W6 backfill", func() error {
		for _, q := range []string{
			fmt.Sprintf("CREATE SOURCE w6_events FROM FILES '%s' WITH (format = 'parquet')", filepath.Join(dir, "*.parquet")),
			"CREATE MATERIALIZED VIEW w6_v PARTITION BY (day) AS SELECT id, day, customer, amount, note FROM w6_events",
		} {
			if _, err := gc.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err := gc.QueryRow(ctx, "SELECT count(*) FROM w6_v WHERE day = DATE '"+day+"'").Scan(&dayRows); err != nil {
		b.Fatal(err)
	}

	name := "W6 backfill"
	detail := fmt.Sprintf("%d rows in %d Parquet files, PARTITION BY (day), 365 partitions; backfill of day %s (%d rows)", n, files, day, dayRows)
	variants := []string{"backfill-1-day", "full-refresh"}
	refOf := map[string]string{"backfill-1-day": "full-refresh"}
	for b.Loop() {
		for _, v := range round(name, variants, refOf, detail) {
			stmt := "REFRESH MATERIALIZED VIEW w6_v"
			if v == "backfill-1-day" {
				stmt += " PARTITION (day = '" + day + "')"
			}
			smp, _, err := timeRefresh(ctx, gc, g, stmt, "w6_v")
			if err != nil {
				b.Fatalf("%s: %v", v, err)
			}
			// Both leave the whole view: n rows, dayRows of them that day.
			var total, that int64
			if err := gc.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE day = DATE '"+day+"') FROM w6_v").Scan(&total, &that); err != nil {
				b.Fatal(err)
			}
			if total != n || that != dayRows {
				b.Fatalf("%s: w6_v has %d rows (%d on %s), want %d (%d)", v, total, that, day, n, dayRows)
			}
			if v == "backfill-1-day" {
				smp.files = 0 // the run reports the version's files, most of them links
			}
			record(b, name, v, smp)
		}
	}
}

var backfillRows = rowsEnv("SLUICE_BENCH_BACKFILL_ROWS", 10_000_000)
