//go:build duckdb_arrow

package bench

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-db/sluice/internal/engine"
)

// TestMain runs the benchmarks, then stops every server they started and
// prints the summary of medians and ratios.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "bench: interrupted, stopping servers")
		teardown()
		os.Exit(2)
	}()
	defer teardown()
	code := m.Run()
	printSummary()
	return code
}

// Sizes and settings, from the environment.

func envFloat(name string, def float64) float64 {
	if v := os.Getenv(name); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			panic(fmt.Sprintf("%s=%q: %v", name, v, err))
		}
		return f
	}
	return def
}

// rowsEnv is the row count of a dataset: its own variable, else the
// default times SLUICE_BENCH_SCALE.
func rowsEnv(name string, def int64) int64 {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 64)
		if err != nil || n <= 0 {
			panic(fmt.Sprintf("%s=%q: not a positive row count", name, v))
		}
		return n
	}
	return max(1000, int64(math.Round(float64(def)*envFloat("SLUICE_BENCH_SCALE", 1))))
}

// envInt is a count that SLUICE_BENCH_SCALE does not change (files, rounds).
func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if err != nil || n <= 0 {
			panic(fmt.Sprintf("%s=%q: not a positive count", name, v))
		}
		return n
	}
	return def
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var (
	narrowRows   = rowsEnv("SLUICE_BENCH_ROWS", 10_000_000)
	lineitemRows = rowsEnv("SLUICE_BENCH_LINEITEM_ROWS", 6_000_000)
	refreshRows  = rowsEnv("SLUICE_BENCH_REFRESH_ROWS", 10_000_000)
	csvRows      = rowsEnv("SLUICE_BENCH_CSV_ROWS", 7_500_000)
	memoryLimit  = envString("SLUICE_BENCH_MEMORY_LIMIT", "8GB")
)

// Shared fixtures: created on first use, torn down once by TestMain.

var (
	fixMu     sync.Mutex
	workDir   string // temporary directory for everything the benchmarks write
	gw        *gatewayProc
	gwErr     error
	pg        *pgServer
	pgErr     error
	refDB     *engine.DB
	refConn   *engine.Conn
	refErr    error
	teardowns []func()
	tornDown  bool
)

func benchDir(tb testing.TB) string {
	fixMu.Lock()
	defer fixMu.Unlock()
	if workDir == "" {
		d, err := os.MkdirTemp("", "sluice-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		// PostgreSQL runs as user postgres and needs to enter it.
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		workDir = d
		teardowns = append(teardowns, func() { os.RemoveAll(d) })
	}
	return workDir
}

// teardown stops the servers and removes the files, in reverse order of
// creation. It runs once.
func teardown() {
	fixMu.Lock()
	defer fixMu.Unlock()
	if tornDown {
		return
	}
	tornDown = true
	for i := len(teardowns) - 1; i >= 0; i-- {
		teardowns[i]()
	}
}

// gateway returns the shared gateway process, starting it on first use.
func gateway(tb testing.TB) *gatewayProc {
	dir := benchDir(tb)
	fixMu.Lock()
	defer fixMu.Unlock()
	if gw == nil && gwErr == nil {
		gw, gwErr = startGateway(dir)
		if gwErr == nil {
			g := gw
			teardowns = append(teardowns, g.stop)
		}
	}
	if gwErr != nil {
		tb.Fatalf("gateway: %v", gwErr)
	}
	return gw
}

// postgres returns the shared PostgreSQL server, or skips when its
// binaries are missing.
func postgres(tb testing.TB) *pgServer {
	dir := benchDir(tb)
	if reason := pgMissing(); reason != "" {
		tb.Skip(reason)
	}
	fixMu.Lock()
	defer fixMu.Unlock()
	if pg == nil && pgErr == nil {
		pg, pgErr = startPG(filepath.Join(dir, "pg"))
		if pgErr == nil {
			p := pg
			teardowns = append(teardowns, p.stop)
		}
	}
	if pgErr != nil {
		tb.Fatalf("postgresql: %v", pgErr)
	}
	return pg
}

// reference returns a connection to the in-process DuckDB the reference
// side runs on: its own database file, same memory limit and thread count
// as the gateway's.
func reference(tb testing.TB) *engine.Conn {
	dir := benchDir(tb)
	fixMu.Lock()
	defer fixMu.Unlock()
	if refConn == nil && refErr == nil {
		ctx := context.Background()
		tmp := filepath.Join(dir, "ref-tmp")
		if refErr = os.MkdirAll(tmp, 0o755); refErr == nil {
			refDB, refErr = engine.Open(ctx, engine.Config{
				Path: filepath.Join(dir, "reference.duckdb"), MemoryLimit: memoryLimit, TempDir: tmp,
			})
		}
		if refErr == nil {
			refConn, refErr = refDB.Connect(ctx)
			db, c := refDB, refConn
			teardowns = append(teardowns, func() {
				if c != nil {
					c.Close()
				}
				db.Close()
			})
		}
	}
	if refErr != nil {
		tb.Fatalf("reference DuckDB: %v", refErr)
	}
	return refConn
}

// once runs setup for key a single time per process; a failure is
// remembered and fails every later caller too.
var (
	onceMu   sync.Mutex
	onceRuns = map[string]*onceRun{}
)

type onceRun struct {
	mu   sync.Mutex
	done bool
	err  error
}

func once(tb testing.TB, key string, setup func() error) {
	tb.Helper()
	onceMu.Lock()
	r := onceRuns[key]
	if r == nil {
		r = &onceRun{}
		onceRuns[key] = r
	}
	onceMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.done {
		start := time.Now()
		r.err = setup()
		r.done = true
		if r.err == nil {
			fmt.Fprintf(os.Stderr, "bench: setup %s: %.1fs\n", key, time.Since(start).Seconds())
		}
	}
	if r.err != nil {
		tb.Fatalf("setup %s: %v", key, r.err)
	}
}

// Results: every benchmark call is one round that runs each variant once,
// in an order rotated from round to round. The summary reports the median
// time of each variant and its ratio to the reference.

type sample struct {
	secs   float64
	files  int64   // files written, when the variant writes files
	server float64 // CPU seconds of the server process (or DuckDB's, in process)
	client float64 // CPU seconds of the benchmark process, the pgx client
}

type workload struct {
	name     string
	ref      string   // the variant the others are compared with (per group)
	variants []string // in the order to report
	groups   map[string]string
	samples  map[string][]sample
	rounds   int
	detail   string
}

var (
	resMu     sync.Mutex
	workloads []*workload
	byName    = map[string]*workload{}
	// extraSummaries print the results of workloads that are not one time
	// per variant and round (W4's latency distribution), after the tables.
	extraSummaries []func()
)

// addSummary registers f to print at the end, once.
func addSummary(f func()) {
	resMu.Lock()
	extraSummaries = append(extraSummaries, f)
	resMu.Unlock()
}

// round returns the variants of workload name in this round's order, and
// registers the workload on first use. refOf maps a variant to the
// variant it is compared with ("" for none).
func round(name string, variants []string, refOf map[string]string, detail string) []string {
	resMu.Lock()
	defer resMu.Unlock()
	w := byName[name]
	if w == nil {
		w = &workload{name: name, variants: variants, groups: refOf, samples: map[string][]sample{}, detail: detail}
		workloads = append(workloads, w)
		byName[name] = w
	}
	k := w.rounds % len(variants)
	w.rounds++
	return append(slices.Clone(variants[k:]), variants[:k]...)
}

func record(b *testing.B, name, variant string, s sample) {
	resMu.Lock()
	byName[name].samples[variant] = append(byName[name].samples[variant], s)
	resMu.Unlock()
	b.ReportMetric(s.secs, variant+"-s")
	b.ReportMetric(s.server, variant+"-server-cpu-s")
	if s.files > 0 {
		b.ReportMetric(float64(s.files), variant+"-files")
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printSummary() {
	resMu.Lock()
	defer resMu.Unlock()
	if len(workloads) == 0 && len(extraSummaries) == 0 {
		return
	}
	defer func() {
		for _, f := range extraSummaries {
			f()
		}
	}()
	fmt.Println()
	fmt.Println("## Summary (medians; ratio = median of the per-round ratios variant/reference)")
	for _, w := range workloads {
		fmt.Printf("\n### %s (%s), %d rounds\n\n", w.name, w.detail, w.rounds)
		fmt.Println("| variant | median s | min s | max s | server CPU s | client CPU s | files | vs | ratio |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|---:|")
		for _, v := range w.variants {
			ss := w.samples[v]
			if len(ss) == 0 {
				continue
			}
			secs := make([]float64, len(ss))
			srv := make([]float64, len(ss))
			cli := make([]float64, len(ss))
			for i, s := range ss {
				secs[i], srv[i], cli[i] = s.secs, s.server, s.client
			}
			files := "-"
			if ss[len(ss)-1].files > 0 {
				files = strconv.FormatInt(ss[len(ss)-1].files, 10)
			}
			ref, ratio := w.groups[v], "-"
			if rs := w.samples[ref]; ref != "" && len(rs) > 0 {
				var rr []float64
				for i := range min(len(ss), len(rs)) {
					rr = append(rr, ss[i].secs/rs[i].secs)
				}
				ratio = fmt.Sprintf("%.2fx", median(rr))
				if median(rr) < 0.1 { // W5, W6: targets of 0.05x
					ratio = fmt.Sprintf("%.3fx", median(rr))
				}
			}
			if ref == "" {
				ref = "-"
			}
			fmt.Printf("| %s | %.3f | %.3f | %.3f | %.2f | %.2f | %s | %s | %s |\n", v, median(secs), slices.Min(secs), slices.Max(secs), median(srv), median(cli), files, ref, ratio)
		}
	}
}
