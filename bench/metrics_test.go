//go:build duckdb_arrow

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
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
// listener on, scraped every SLUICE_BENCH_SCRAPE_INTERVAL, default 15 s,
// Prometheus's usual scrape interval) and one without (admin_listen "": no registry, no
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
// Beside each, the gateway process's own CPU time (user + system, from
// /proc) for the W1 read and per pgbench transaction: the cost of the work
// itself, which the machine's other load disturbs far less than wall time
// (the metrics-on gateway's CPU includes serving the scrapes).
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
		if err := measureScrapeCPU(on.cmd.Process.Pid); err != nil {
			return err
		}
		go scrapeEvery(scrapeInterval(), metricsAdmin, stop, done)
		fixMu.Lock()
		teardowns = append(teardowns, on.stop, off.stop, func() { close(stop); <-done })
		fixMu.Unlock()
		return nil
	})
	on, off := metricsGateways[0], metricsGateways[1]
	servers := []pgbenchServer{{name: "metrics-on", url: on.URL, log: on.log.String}, {name: "metrics-off", url: off.URL, log: off.log.String}}
	pids := [2]int{on.cmd.Process.Pid, off.cmd.Process.Pid}
	for b.Loop() {
		metricsRound(b, bin, servers, pids)
	}
}

var (
	metricsGateways [2]*gatewayProc
	metricsAdmin    string

	metricsMu         sync.Mutex
	metricsRounds     int
	metricsOrder      []string
	metricsVals       = map[string][][2]float64{} // per measure, per round: on, off
	metricsUnit       = map[string]string{}
	metricsScrapeCPU  time.Duration // gateway CPU per scrape, idle
	metricsScrapeWall time.Duration
	metricsScrape     struct {
		n    int
		errs int
		secs float64
	}
)

// scrapeInterval is SLUICE_BENCH_SCRAPE_INTERVAL, default 15 s.
func scrapeInterval() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SLUICE_BENCH_SCRAPE_INTERVAL")); err == nil && d > 0 {
		return d
	}
	return 15 * time.Second
}

// measureScrapeCPU scrapes the idle metrics-on gateway 20 times in a row
// and records the gateway CPU time one scrape costs (the scrape-time
// collectors query the catalog, the connectors and DuckDB): with the
// scrape interval it gives the scrapes' share of the CPU, apart from the
// recording per query that the rounds measure.
func measureScrapeCPU(pid int) error {
	const n = 20
	cpu0, err := processCPU(pid)
	if err != nil {
		return err
	}
	start := time.Now()
	for range n {
		resp, err := http.Get("http://" + metricsAdmin + "/metrics")
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
	}
	wall := time.Since(start)
	cpu1, err := processCPU(pid)
	if err != nil {
		return err
	}
	metricsMu.Lock()
	metricsScrapeCPU, metricsScrapeWall = (cpu1-cpu0)/n, wall/n
	metricsMu.Unlock()
	return nil
}

// scrapeEvery GETs /metrics every interval, as Prometheus would, until
// stop is closed.
func scrapeEvery(interval time.Duration, admin string, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
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

// processCPU is the CPU time (user + system) process pid has used so far,
// from /proc/pid/stat. CPU per unit of work depends far less on what else
// the machine runs than wall time and throughput do.
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it start
	// past its closing parenthesis: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const clkTck = 100 // USER_HZ, 100 on every Linux architecture Go supports
	return time.Duration(utime+stime) * time.Second / clkTck, nil
}

func metricsRound(b *testing.B, bin string, servers []pgbenchServer, pids [2]int) {
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
			cpu0, cerr := processCPU(pids[i])
			start := time.Now()
			n, err := readAll(ctx, c, narrow, mode)
			secs := time.Since(start).Seconds()
			cpu1, cerr1 := processCPU(pids[i])
			if err != nil || n != narrowRows {
				b.Fatalf("%s on %s: %d rows, %v", name, servers[i].name, n, err)
			}
			if err := errors.Join(cerr, cerr1); err != nil {
				b.Fatal(err)
			}
			put(name, "s", i, secs)
			put(name+" gateway CPU", "s", i, (cpu1 - cpu0).Seconds())
			b.ReportMetric(secs, servers[i].name+"-"+strings.ReplaceAll(name, " ", "-")+"-s")
		}
	}
	for _, mode := range []string{"simple", "prepared"} {
		name := "pgbench select1 " + mode
		for _, i := range order {
			args := []string{"-n", "-f", pgbenchScript("select1"), "-M", mode, "-c", "8", "-j", "2", "-T", strconv.Itoa(pgbenchSeconds)}
			cpu0, cerr := processCPU(pids[i])
			r, err := runPgbench(bin, servers[i], args)
			cpu1, cerr1 := processCPU(pids[i])
			if err != nil {
				b.Fatalf("%s on %s: %v", name, servers[i].name, err)
			}
			if err := errors.Join(cerr, cerr1); err != nil {
				b.Fatal(err)
			}
			if r.txns > 0 {
				put(name+" gateway CPU per txn", "µs", i, float64((cpu1-cpu0).Microseconds())/float64(r.txns))
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
	fmt.Printf("\n### Metrics overhead (on: admin listener scraped every %s; off: admin_listen \"\"; pgbench -c 8 -j 2 -T %d; %d rows; medians; ratio = median of per-round on/off)\n\n", scrapeInterval(), pgbenchSeconds, narrowRows)
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
	fmt.Printf("\nOne scrape of the idle gateway: %.1f ms of gateway CPU, %.1f ms wall (20 in a row)\n",
		float64(metricsScrapeCPU.Microseconds())/1000, float64(metricsScrapeWall.Microseconds())/1000)
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
