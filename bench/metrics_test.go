//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-db/sluice/internal/metrics"
)

// Metrics overhead: what recording the Prometheus metrics costs a query.
// Two gateways side by side in the same run, one with metrics (the admin
// listener on, scraped every second, twice as often as the most eager
// Prometheus setups) and one without (admin_listen "": no registry, no
// recording); the same data in each. Each round, in an order alternating
// from round to round:
//
//   - W1 narrow: SELECT * of the narrow table read by pgx, text (simple
//     protocol) and binary (extended);
//   - pgbench SELECT 1, -M simple and -M prepared:
//     pgbench -n -f select1.sql -M mode -c 8 -j 2 -T $SLUICE_BENCH_PGBENCH_SECONDS
//
// The ratio is metrics-on over metrics-off: seconds for W1 (1.02x is 2 %
// slower), TPS for pgbench (0.98x is 2 % slower). Target: within 2 %.
func BenchmarkMetricsOverhead(b *testing.B) {
	bin, reason := pgbenchBinary()
	if reason != "" {
		b.Skip(reason)
	}
	dir := benchDir(b)
	once(b, "metrics gateways", func() error {
		addSummary(printMetrics)
		port, err := freePort()
		if err != nil {
			return err
		}
		metricsAdmin = fmt.Sprintf("127.0.0.1:%d", port)
		on, err := startGatewayWith(dir, "metrics-on", []string{"--admin-listen", metricsAdmin}, nil)
		if err != nil {
			return err
		}
		off, err := startGatewayWith(dir, "metrics-off", []string{"--admin-listen="}, nil)
		if err != nil {
			on.stop()
			return err
		}
		metricsGateways = [2]*gatewayProc{on, off}
		ctx := context.Background()
		for _, g := range metricsGateways {
			conn, err := connect(ctx, g.URL)
			if err != nil {
				return err
			}
			_, err = conn.Exec(ctx, "CREATE TABLE narrow AS "+narrowDuck(narrowRows))
			conn.Close(ctx)
			if err != nil {
				return err
			}
		}
		if resp, err := http.Get("http://" + metricsAdmin + "/metrics"); err != nil {
			return fmt.Errorf("metrics-on has no /metrics: %w", err)
		} else {
			resp.Body.Close()
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go scrapeEverySecond(metricsAdmin, stop, done)
		fixMu.Lock()
		teardowns = append(teardowns, on.stop, off.stop, func() { close(stop); <-done })
		fixMu.Unlock()
		return nil
	})
	on, off := metricsGateways[0], metricsGateways[1]
	servers := []pgbenchServer{{name: "metrics-on", url: on.URL, log: on.log.String}, {name: "metrics-off", url: off.URL, log: off.log.String}}
	for b.Loop() {
		metricsRound(b, bin, servers)
	}
}

var (
	metricsGateways [2]*gatewayProc
	metricsAdmin    string

	metricsMu     sync.Mutex
	metricsRounds int
	metricsOrder  []string
	metricsVals   = map[string][][2]float64{} // per measure, per round: on, off
	metricsUnit   = map[string]string{}
	metricsScrape struct {
		n    int
		errs int
		secs float64
	}
)

// scrapeEverySecond GETs /metrics every second, as Prometheus would, until
// stop is closed.
func scrapeEverySecond(admin string, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		start := time.Now()
		resp, err := http.Get("http://" + admin + "/metrics")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		metricsMu.Lock()
		metricsScrape.n++
		metricsScrape.secs += time.Since(start).Seconds()
		if err != nil {
			metricsScrape.errs++
		}
		metricsMu.Unlock()
	}
}

func metricsRound(b *testing.B, bin string, servers []pgbenchServer) {
	ctx := context.Background()
	metricsMu.Lock()
	k := metricsRounds
	metricsRounds++
	metricsMu.Unlock()
	order := []int{0, 1}
	if k%2 == 1 {
		order = []int{1, 0}
	}
	put := func(measure, unit string, i int, v float64) {
		metricsMu.Lock()
		defer metricsMu.Unlock()
		if _, ok := metricsUnit[measure]; !ok {
			metricsOrder = append(metricsOrder, measure)
			metricsUnit[measure] = unit
		}
		rs := metricsVals[measure]
		if len(rs) <= k {
			rs = append(rs, [2]float64{})
		}
		rs[k][i] = v
		metricsVals[measure] = rs
	}
	narrow := streamSet{table: "narrow", rows: narrowRows, scan: scanNarrow}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		name := "W1 narrow text"
		if mode == pgx.QueryExecModeCacheStatement {
			name = "W1 narrow binary"
		}
		for _, i := range order {
			c := serverConn(b, servers[i].url)
			start := time.Now()
			n, err := readAll(ctx, c, narrow, mode)
			secs := time.Since(start).Seconds()
			if err != nil || n != narrowRows {
				b.Fatalf("%s on %s: %d rows, %v", name, servers[i].name, n, err)
			}
			put(name, "s", i, secs)
			b.ReportMetric(secs, servers[i].name+"-"+strings.ReplaceAll(name, " ", "-")+"-s")
		}
	}
	for _, mode := range []string{"simple", "prepared"} {
		name := "pgbench select1 " + mode
		for _, i := range order {
			args := []string{"-n", "-f", pgbenchScript("select1"), "-M", mode, "-c", "8", "-j", "2", "-T", strconv.Itoa(pgbenchSeconds)}
			r, err := runPgbench(bin, servers[i], args)
			if err != nil {
				b.Fatalf("%s on %s: %v", name, servers[i].name, err)
			}
			if r.failures() > 0 {
				b.Fatalf("%s on %s: %d failed, %d aborted, exit %d: %v", name, servers[i].name, r.failed, r.aborted, r.exit, r.errLines)
			}
			put(name, "tps", i, r.tps)
			b.ReportMetric(r.tps, servers[i].name+"-"+strings.ReplaceAll(name, " ", "-")+"-tps")
		}
	}
}

func printMetrics() {
	metricsMu.Lock()
	defer metricsMu.Unlock()
	if len(metricsOrder) == 0 {
		return
	}
	fmt.Printf("\n### Metrics overhead (on: admin listener scraped every second; off: admin_listen \"\"; pgbench -c 8 -j 2 -T %d; %d rows; medians; ratio = median of per-round on/off)\n\n", pgbenchSeconds, narrowRows)
	fmt.Println("| measure | unit | metrics on | metrics off | ratio on/off | per-round ratios |")
	fmt.Println("|---|---|---:|---:|---:|---|")
	for _, m := range metricsOrder {
		var on, off, ratio []float64
		for _, r := range metricsVals[m] {
			on, off = append(on, r[0]), append(off, r[1])
			if r[1] > 0 {
				ratio = append(ratio, r[0]/r[1])
			}
		}
		rs := make([]string, len(ratio))
		for i, r := range ratio {
			rs[i] = fmt.Sprintf("%.2f", r)
		}
		fmt.Printf("| %s | %s | %.3f | %.3f | %.3fx | %s |\n", m, metricsUnit[m], median(on), median(off), median(ratio), strings.Join(rs, ", "))
	}
	if metricsScrape.n > 0 {
		fmt.Printf("\n%d scrapes of /metrics, %d failed, %.1f ms each on average\n", metricsScrape.n, metricsScrape.errs, 1000*metricsScrape.secs/float64(metricsScrape.n))
	}
}

// BenchmarkMetricsRecording is the recording alone, in process: what the
// wire server calls per query (QueryDone, BytesSent) on the metrics the
// gateway registers, from parallel goroutines as connections do, against
// the same calls with no observer. It is the per-query CPU the end-to-end
// rounds above cannot resolve on a 2-core machine.
func BenchmarkMetricsRecording(b *testing.B) {
	m := metrics.New(prometheus.NewRegistry())
	b.Run("query-ok", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.QueryDone(150*time.Microsecond, "", 1)
				m.BytesSent(64)
			}
		})
	})
	b.Run("query-error", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.QueryDone(150*time.Microsecond, "42P01", 0)
				m.BytesSent(64)
			}
		})
	})
	b.Run("time-now-twice", func(b *testing.B) { // what the wire server adds around a query
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				start := time.Now()
				_ = time.Since(start)
			}
		})
	})
}
