//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// Authorization: what the privilege checks cost a role that is not a
// superuser. One gateway, two roles side by side in the same run: the
// superuser sluice (whose queries skip the analysis unless they may name
// a file) and a reader granted SELECT (each statement parsed by DuckDB's
// json_serialize_sql and checked; a prepared statement's analysis is kept
// and re-checked). Scripts: SELECT 1, and a join of a table with a view
// over it (two relations, one through a view's owner). Each runs
//
//	pgbench -n -f script -M simple|prepared -c 8 -j 2 -T $SLUICE_BENCH_PGBENCH_SECONDS
//
// as each role in turn, the first alternating. The ratio is reader TPS
// over superuser TPS: 1.0 means the checks cost nothing.
func BenchmarkAuthorization(b *testing.B) {
	bin, reason := pgbenchBinary()
	if reason != "" {
		b.Skip(reason)
	}
	g := gateway(b)
	u, err := url.Parse(g.URL)
	if err != nil {
		b.Fatal(err)
	}
	u.User = url.User("au_reader")
	roles := []pgbenchServer{{name: "superuser", url: g.URL, log: g.log.String}, {name: "reader", url: u.String(), log: g.log.String}}
	once(b, "authorization fixture", func() error {
		addSummary(printAuthz)
		ctx := context.Background()
		conn, err := connect(ctx, g.URL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		for _, q := range []string{
			"DROP VIEW IF EXISTS au_big", "DROP TABLE IF EXISTS au_orders", "DROP ROLE IF EXISTS au_reader",
			"CREATE TABLE au_orders AS SELECT range AS id, range % 10 AS zone, range * 1.5 AS amount FROM range(10000)",
			"CREATE VIEW au_big AS SELECT id, amount FROM au_orders WHERE amount > 100",
			"CREATE ROLE au_reader LOGIN",
			"GRANT SELECT ON au_orders, au_big TO au_reader",
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	for _, script := range []string{"select1", "authz_read"} {
		for _, mode := range []string{"simple", "prepared"} {
			c := pgbenchConfig{script: script, mode: mode}
			b.Run(c.String(), func(b *testing.B) {
				for b.Loop() {
					authzRound(b, bin, c, roles)
				}
			})
		}
	}
}

var (
	authzMu      sync.Mutex
	authzConfigs []pgbenchConfig
	authzRuns    = map[pgbenchConfig][][2]pgbenchRun{}
)

func authzRound(b *testing.B, bin string, c pgbenchConfig, roles []pgbenchServer) {
	authzMu.Lock()
	k := len(authzRuns[c])
	if k == 0 {
		authzConfigs = append(authzConfigs, c)
	}
	nth := slices.Index(authzConfigs, c)
	authzMu.Unlock()
	order := []int{0, 1}
	if (k+nth)%2 == 1 {
		order = []int{1, 0}
	}
	var runs [2]pgbenchRun
	for _, i := range order {
		args := []string{"-n", "-f", pgbenchScript(c.script), "-M", c.mode, "-c", "8", "-j", "2", "-T", strconv.Itoa(pgbenchSeconds)}
		r, err := runPgbench(bin, roles[i], args)
		if err != nil {
			b.Fatalf("%s as %s: %v", c, roles[i].name, err)
		}
		if r.failures() > 0 {
			b.Fatalf("%s as %s: %d failed transactions, %d aborted, exit %d:\n%v", c, roles[i].name, r.failed, r.aborted, r.exit, r.errLines)
		}
		runs[i] = r
		b.ReportMetric(r.tps, roles[i].name+"-tps")
	}
	authzMu.Lock()
	authzRuns[c] = append(authzRuns[c], runs)
	authzMu.Unlock()
}

func printAuthz() {
	authzMu.Lock()
	defer authzMu.Unlock()
	if len(authzConfigs) == 0 {
		return
	}
	fmt.Printf("\n### Authorization (pgbench -n -c 8 -j 2 -T %d; medians; ratio = median of per-round reader/superuser)\n\n", pgbenchSeconds)
	fmt.Println("| script | mode | superuser tps | reader tps | ratio | rounds |")
	fmt.Println("|---|---|---:|---:|---:|---:|")
	for _, c := range authzConfigs {
		var s, r, ratio []float64
		for _, run := range authzRuns[c] {
			s, r = append(s, run[0].tps), append(r, run[1].tps)
			if run[0].tps > 0 {
				ratio = append(ratio, run[1].tps/run[0].tps)
			}
		}
		fmt.Printf("| %s | %s | %.1f | %.1f | %.2fx | %d |\n", c.script, c.mode, median(s), median(r), median(ratio), len(authzRuns[c]))
	}
}
