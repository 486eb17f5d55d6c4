//go:build duckdb_arrow

package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkSoak is the soak of docs/reliability.md: 32 pgbench clients on
// 2 threads for SLUICE_BENCH_SOAK_SECONDS (default 300) against one
// gateway with a mixed load (scripts and weights below), while another client refreshes the
// materialized view every 2 seconds. It fails on any failed transaction
// (including a read that saw two versions of the view at once: the read
// script divides by zero then), on gateway RSS that moves more than 20 %
// after the warm-up (the first fifth of the run), or on goroutines left
// behind once every client has gone. It runs once whatever -benchtime says.
//
// SLUICE_BENCH_SOAK_MEMORY_LIMIT sets the gateway's memory_limit.
//
//	SLUICE_BENCH_SOAK_SECONDS=300 go test -tags duckdb_arrow -run '^$' -bench Soak -benchtime 1x -timeout 30m ./bench/
func BenchmarkSoak(b *testing.B) {
	bin, reason := pgbenchBinary()
	if reason != "" {
		b.Skip(reason)
	}
	seconds := 300
	if v, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_SOAK_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	dir := benchDir(b)
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	admin := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"--admin-listen", admin}
	if v := os.Getenv("SLUICE_BENCH_SOAK_MEMORY_LIMIT"); v != "" {
		args = append(args, "--memory-limit", v) // DuckDB's memory_limit, e.g. 256MB
	}
	g, err := startGatewayWith(dir, fmt.Sprintf("soak-%d", time.Now().UnixNano()), args, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer g.stop()
	ctx := context.Background()
	conn, err := connect(ctx, g.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE TABLE soak_t AS SELECT i AS id, 0 AS val FROM range(1, 10001) t(i)`,
		`CREATE MATERIALIZED VIEW soak_v AS SELECT id, val FROM soak_t`,
		`CREATE TABLE py_t (id int)`, // the introspection script's fixture
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	// metrics sums the samples of each named metric on /metrics (over
	// their labels).
	metrics := func(names ...string) map[string]float64 {
		resp, err := http.Get("http://" + admin + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		got := map[string]float64{}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			for _, n := range names {
				if rest, ok := strings.CutPrefix(line, n); ok && rest != "" && (rest[0] == ' ' || rest[0] == '{') {
					v, _ := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
					got[n] += v
				}
			}
		}
		return got
	}
	goroutines := func() int {
		m := metrics("go_goroutines")
		if _, ok := m["go_goroutines"]; !ok {
			b.Fatal("no go_goroutines in /metrics")
		}
		return int(m["go_goroutines"])
	}
	goroutinesBefore := goroutines()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var refreshes, refreshErrs int
	var lastRefreshErr error
	wg.Add(1)
	go func() { // the refresher: every row's val moves at once, then a refresh
		defer wg.Done()
		rc, err := connect(ctx, g.URL)
		if err != nil {
			lastRefreshErr = err
			return
		}
		defer rc.Close(ctx)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			_, err := rc.Exec(ctx, `UPDATE soak_t SET val = val + 1`)
			if err == nil {
				_, err = rc.Exec(ctx, `REFRESH MATERIALIZED VIEW soak_v`)
			}
			refreshes++
			if err != nil {
				refreshErrs++
				lastRefreshErr = err
			}
		}
	}()
	type sample struct {
		at           time.Duration
		rss          int64
		heap, duckdb float64 // Go heap in use; DuckDB's buffer manager
	}
	var samples []sample
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if rss, err := processRSS(g.cmd.Process.Pid); err == nil {
				m := metrics("go_memstats_heap_inuse_bytes", "sluice_duckdb_memory_bytes")
				samples = append(samples, sample{time.Since(start), rss, m["go_memstats_heap_inuse_bytes"], m["sluice_duckdb_memory_bytes"]})
			}
		}
	}()

	b.ResetTimer()
	// 28 clients read in the extended protocol; 4 run the DDL in the
	// simple one (pgbench sends variables as parameters in the extended
	// protocol, and a view's name cannot be one).
	srv := pgbenchServer{name: "sluice", url: g.URL, log: g.log.String}
	readArgs := []string{"-n", "-M", "extended", "-c", "28", "-j", "1", "-T", strconv.Itoa(seconds),
		"-f", pgbenchScript("soak_read") + "@5", "-f", pgbenchScript("introspection") + "@1"}
	ddlArgs := []string{"-n", "-M", "simple", "-c", "4", "-j", "1", "-T", strconv.Itoa(seconds), "-f", pgbenchScript("soak_ddl")}
	var ddl pgbenchRun
	var ddlErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		ddl, ddlErr = runPgbench(bin, srv, ddlArgs)
	}()
	r, err := runPgbench(bin, srv, readArgs)
	close(stop)
	wg.Wait()
	b.StopTimer()
	if err = errors.Join(err, ddlErr); err != nil {
		b.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the clients' sessions end
	goroutinesAfter := goroutines()

	warm := len(samples) / 5
	lo, hi := int64(1<<62), int64(0)
	for _, s := range samples[warm:] {
		lo, hi = min(lo, s.rss), max(hi, s.rss)
	}
	fmt.Printf("\n### Soak (%d s: pgbench -M extended -c 28 soak_read@5 introspection@1, beside pgbench -M simple -c 4 soak_ddl; a refresh every 2 s)\n\n", seconds)
	fmt.Printf("| measure | reads and introspection | DDL |\n|---|---:|---:|\n")
	fmt.Printf("| transactions | %d | %d |\n| tps | %.0f | %.0f |\n", r.txns, ddl.txns, r.tps, ddl.tps)
	fmt.Printf("| failed transactions (aborted clients) | %d (%d) | %d (%d) |\n", r.failed, r.aborted, ddl.failed, ddl.aborted)
	fmt.Printf("| latency average | %.2f ms | %.2f ms |\n\n| measure | value |\n|---|---:|\n", r.latMS, ddl.latMS)
	fmt.Printf("| refreshes | %d (%d failed) |\n", refreshes, refreshErrs)
	fmt.Printf("| gateway RSS after warm-up, min / max | %d MB / %d MB (%.1f %%) |\n", lo>>20, hi>>20, 100*float64(hi-lo)/float64(lo))
	fmt.Printf("| goroutines before / after | %d / %d |\n", goroutinesBefore, goroutinesAfter)
	var series []string
	for _, s := range samples {
		series = append(series, fmt.Sprintf("%.0fs:%d/%.0f/%.0f", s.at.Seconds(), s.rss>>20, s.heap/(1<<20), s.duckdb/(1<<20)))
	}
	fmt.Printf("\nsamples every 5 s, MB (RSS/Go heap in use/DuckDB buffer manager): %s\n", strings.Join(series, " "))
	for _, run := range []pgbenchRun{r, ddl} {
		if run.failures() > 0 {
			b.Fatalf("%d failed transactions, %d aborted clients, exit %d: %v\n%s", run.failed, run.aborted, run.exit, run.errLines, tail(g.log.String(), 2048))
		}
	}
	if refreshErrs > 0 {
		b.Fatalf("%d of %d refreshes failed, the last: %v", refreshErrs, refreshes, lastRefreshErr)
	}
	if hi > lo+lo/5 {
		b.Fatalf("gateway RSS moved from %d MB to %d MB after the warm-up", lo>>20, hi>>20)
	}
	if goroutinesAfter > goroutinesBefore+5 {
		b.Fatalf("goroutines: %d before the clients, %d after they left", goroutinesBefore, goroutinesAfter)
	}
}

// processRSS is a process's resident set, from /proc.
func processRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
