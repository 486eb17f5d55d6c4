//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"testing"
)

// PgbenchPoint: a realistic point query on open connections,
//
//	SELECT * FROM pq_v WHERE id = :id      (id random in 1..1,000,000)
//
// over 1,000,000 rows (narrow: id bigint, name text, value double
// precision): on the gateway pq_v is a materialized view (Parquet files)
// over a table, on PostgreSQL 15 a table with an index on id. Each round
// runs
//
//	pgbench -n -f point.sql -M simple|extended|prepared -c 8 -j 2 -T $SLUICE_BENCH_PGBENCH_SECONDS
//
// against each server in turn, the first alternating (pgbenchRound); the
// results join the pgbench table (make bench-pgbench runs it, make bench
// skips it with the other Pgbench ones). Target: at least PostgreSQL's TPS.
func BenchmarkPgbenchPoint(b *testing.B) {
	bin, reason := pgbenchBinary()
	if reason != "" {
		b.Skip(reason)
	}
	g := gateway(b)
	p := postgres(b)
	servers := []pgbenchServer{
		{name: "sluice", url: g.URL, log: g.log.String},
		{name: "postgres", url: p.URL},
	}
	once(b, "pgbench summary", func() error { addSummary(printPgbench); return nil })
	once(b, "point query fixture", func() error {
		const n = 1_000_000
		ctx := context.Background()
		for _, s := range []struct {
			url   string
			stmts []string
		}{
			{g.URL, []string{
				"DROP MATERIALIZED VIEW IF EXISTS pq_v", "DROP TABLE IF EXISTS pq_t",
				"CREATE TABLE pq_t AS " + narrowDuck(n),
				"CREATE MATERIALIZED VIEW pq_v AS SELECT * FROM pq_t",
			}},
			{p.URL, []string{
				"DROP TABLE IF EXISTS pq_v",
				fmt.Sprintf(`CREATE TABLE pq_v (id bigint, name text, value double precision);
INSERT INTO pq_v SELECT i, 'name ' || i, (i * 1.5)::float8 FROM generate_series(1::bigint, %d) g(i)`, n),
				"CREATE INDEX pq_v_id ON pq_v (id)", "ANALYZE pq_v",
			}},
		} {
			conn, err := connect(ctx, s.url)
			if err != nil {
				return err
			}
			for _, q := range s.stmts {
				if _, err := conn.Exec(ctx, q); err != nil {
					conn.Close(ctx)
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			conn.Close(ctx)
		}
		return nil
	})
	for _, mode := range []string{"simple", "extended", "prepared"} {
		c := pgbenchConfig{script: "point", mode: mode}
		b.Run(c.String(), func(b *testing.B) {
			for b.Loop() {
				pgbenchRound(b, bin, c, servers)
			}
		})
	}
}
