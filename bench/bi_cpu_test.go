//go:build duckdb_arrow

package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/testing/compat"
)

// BIQueriesCPU: the server CPU each catalog query of the BI compatibility
// suite (../shared/compat/bi_queries.sql beside the repository) costs, on
// the gateway and on PostgreSQL 15, over the suite's fixture (py_t with a
// row, a view and a materialized view over it) made on both, PostgreSQL's
// in a database and role named sluice as the suite assumes. For each query
// that succeeds on both servers:
//
//   - cold: a new connection runs the query once; the server's CPU for
//     that one run. Repeated on $SLUICE_BENCH_BI_COLD new connections
//     (default 5); the median is reported.
//   - warm: one open connection runs it once, then $SLUICE_BENCH_BI_RUNS
//     times (default 50); the CPU of those runs over their number.
//
// The server's CPU is the gateway process's (every thread: the sessions'
// goroutines and DuckDB's workers) or the PostgreSQL backend's
// (pg_backend_pid()), from /proc/<pid>/task/*/schedstat, which counts in
// nanoseconds where /proc/<pid>/stat counts in 10 ms ticks, too coarse for
// one query. The gateway's figure includes whatever else it did meanwhile
// (its scheduler's ticks), so it is an upper bound. Queries run with pgx's
// default, the extended protocol with the statement prepared once per
// connection; SLUICE_BENCH_BI_MODE=simple uses the simple protocol.
//
// Target (issue 11): every query under 5 ms of gateway CPU on an open
// connection.
func BenchmarkBIQueriesCPU(b *testing.B) {
	queries := biQueries(compat.LoadBIQueries(b, ".."))
	g := gateway(b)
	p := postgres(b)
	pgURL := biPGURL(p.URL)
	once(b, "bi cpu summary", func() error { addSummary(printBICPU); return nil })
	once(b, "bi cpu fixture", func() error { return biFixture(g.URL, p.URL, pgURL) })
	servers := []biServer{
		{name: "sluice", url: g.URL, pid: func(context.Context, *pgx.Conn) (int, error) { return g.cmd.Process.Pid, nil }},
		{name: "postgres", url: pgURL, pid: func(ctx context.Context, c *pgx.Conn) (int, error) {
			var pid int
			err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid)
			return pid, err
		}},
	}
	for b.Loop() {
		biCPURound(b, queries, servers)
	}
}

var (
	biRuns = envInt("SLUICE_BENCH_BI_RUNS", 50)
	biCold = envInt("SLUICE_BENCH_BI_COLD", 5)
	biMode = envString("SLUICE_BENCH_BI_MODE", "extended")

	biMu      sync.Mutex
	biOrder   []string                   // queries, by where, in file order
	biResults = map[string][]biMeasure{} // per query, one per round
	biFailed  = map[string]string{}      // queries left out, with why
)

// biQuery is one query of the suite, named by its line and client.
type biQuery struct {
	where, text string
}

func biQueries(suite []compat.BIQuery) []biQuery {
	var out []biQuery
	for _, q := range suite {
		out = append(out, biQuery{where: fmt.Sprintf("%d %s", q.Line, strings.SplitN(q.Client, " (", 2)[0]), text: q.Text})
	}
	return out
}

// biFixture makes the suite's fixture on both servers (idempotently, for
// servers other benchmarks share), PostgreSQL's in database sluice as role
// sluice (pgURL), which it creates through pgAdminURL.
func biFixture(gwURL, pgAdminURL, pgURL string) error {
	ctx := context.Background()
	admin, err := connect(ctx, pgAdminURL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = 'sluice'").Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := admin.Exec(ctx, "CREATE ROLE sluice SUPERUSER LOGIN"); err != nil {
			return err
		}
	}
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = 'sluice'").Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := admin.Exec(ctx, "CREATE DATABASE sluice OWNER sluice"); err != nil {
			return err
		}
	}
	for _, u := range []string{gwURL, pgURL} {
		conn, err := connect(ctx, u)
		if err != nil {
			return err
		}
		for _, s := range []string{
			"CREATE TABLE IF NOT EXISTS py_t (id INTEGER, name VARCHAR, amount DOUBLE PRECISION, day DATE)",
			"INSERT INTO py_t SELECT 1, 'a', 1.5, DATE '2024-01-01' WHERE NOT EXISTS (SELECT 1 FROM py_t)",
			"CREATE OR REPLACE VIEW py_v AS SELECT id, name FROM py_t",
			"CREATE MATERIALIZED VIEW IF NOT EXISTS py_mv AS SELECT day, count(*) AS n FROM py_t GROUP BY day",
		} {
			if _, err := conn.Exec(ctx, s); err != nil {
				conn.Close(ctx)
				return fmt.Errorf("%s: %s: %w", u, s, err)
			}
		}
		conn.Close(ctx)
	}
	return nil
}

// biPGURL is PostgreSQL's URL with role and database sluice.
func biPGURL(adminURL string) string {
	u, err := url.Parse(adminURL)
	if err != nil {
		panic(err)
	}
	u.User = url.User("sluice")
	u.Path = "/sluice"
	return u.String()
}

type biServer struct {
	name string
	url  string
	// pid is the process that serves conn.
	pid func(ctx context.Context, conn *pgx.Conn) (int, error)
}

// biMeasure is one round's figures for one query, in CPU seconds.
type biMeasure struct {
	cold, warm [2]float64 // per server: sluice, postgres
}

func biCPURound(b *testing.B, queries []biQuery, servers []biServer) {
	ctx := context.Background()
	var over5 int
	maxWarm := 0.0
	for _, q := range queries {
		var m biMeasure
		failed := ""
		for i, s := range servers {
			cold, warm, err := biMeasureQuery(ctx, s, q.text)
			if err != nil {
				failed = fmt.Sprintf("fails on %s: %v", s.name, err)
				break
			}
			m.cold[i], m.warm[i] = cold, warm
		}
		biMu.Lock()
		if _, seen := biResults[q.where]; !seen && biFailed[q.where] == "" {
			biOrder = append(biOrder, q.where)
		}
		if failed != "" {
			biFailed[q.where] = failed
		} else {
			biResults[q.where] = append(biResults[q.where], m)
		}
		biMu.Unlock()
		if failed != "" {
			b.Logf("line %s: %s", q.where, failed)
			continue
		}
		maxWarm = max(maxWarm, m.warm[0])
		if m.warm[0] >= 0.005 {
			over5++
		}
	}
	b.ReportMetric(maxWarm*1000, "sluice-max-warm-cpu-ms")
	b.ReportMetric(float64(over5), "sluice-queries-over-5ms")
}

// biMeasureQuery returns the server's CPU seconds for query on a new
// connection (the median of biCold) and per run on an open one.
func biMeasureQuery(ctx context.Context, s biServer, query string) (cold, warm float64, err error) {
	var args []any
	if biMode == "simple" {
		args = []any{pgx.QueryExecModeSimpleProtocol}
	}
	run := func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		rows.Close()
		return rows.Err()
	}
	open := func() (*pgx.Conn, int, error) {
		c, err := connect(ctx, s.url)
		if err != nil {
			return nil, 0, err
		}
		pid, err := s.pid(ctx, c)
		if err != nil {
			c.Close(ctx)
			return nil, 0, err
		}
		return c, pid, nil
	}
	var colds []float64
	for range biCold {
		c, pid, err := open()
		if err != nil {
			return 0, 0, err
		}
		before := threadsCPU(pid)
		err = run(c)
		colds = append(colds, threadsCPU(pid)-before)
		c.Close(ctx)
		if err != nil {
			return 0, 0, sqlstate(err)
		}
	}
	c, pid, err := open()
	if err != nil {
		return 0, 0, err
	}
	defer c.Close(ctx)
	if err := run(c); err != nil {
		return 0, 0, sqlstate(err)
	}
	before := threadsCPU(pid)
	for range biRuns {
		if err := run(c); err != nil {
			return 0, 0, sqlstate(err)
		}
	}
	return median(colds), (threadsCPU(pid) - before) / float64(biRuns), nil
}

// sqlstate shortens a server's error to its SQLSTATE and message.
func sqlstate(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Errorf("%s %s", pgErr.Code, pgErr.Message)
	}
	return err
}

// threadsCPU is the CPU time every live thread of process pid has used,
// in seconds, from /proc/<pid>/task/*/schedstat (nanoseconds); procCPU
// where that is missing. A thread that ends between two readings takes
// its time with it, so a difference can come out low; the gateway's
// threads (Go's and DuckDB's) live as long as the process.
func threadsCPU(pid int) float64 {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return procCPU(pid)
	}
	var ns int64
	for _, task := range tasks {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			continue // the thread has ended
		}
		f := strings.Fields(string(raw))
		if len(f) == 0 {
			return procCPU(pid)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return procCPU(pid)
		}
		ns += n
	}
	return float64(ns) / 1e9
}

func printBICPU() {
	biMu.Lock()
	defer biMu.Unlock()
	if len(biOrder) == 0 {
		return
	}
	rounds := 0
	for _, ms := range biResults {
		rounds = max(rounds, len(ms))
	}
	fmt.Printf("\n### BI queries, server CPU per query (%s protocol; cold: median of %d new connections, one run each; warm: %d runs on an open connection; medians of %d round(s); ratio = sluice warm / postgres warm)\n\n",
		biMode, biCold, biRuns, rounds)
	fmt.Println("| line client | sluice cold ms | sluice warm ms | postgres cold ms | postgres warm ms | ratio | warm < 5 ms |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	met := 0
	for _, where := range biOrder {
		ms := biResults[where]
		if len(ms) == 0 {
			fmt.Printf("| %s | - | - | - | - | - | %s |\n", where, biFailed[where])
			continue
		}
		var col [4][]float64
		var ratios []float64
		for _, m := range ms {
			col[0] = append(col[0], m.cold[0])
			col[1] = append(col[1], m.warm[0])
			col[2] = append(col[2], m.cold[1])
			col[3] = append(col[3], m.warm[1])
			if m.warm[1] > 0 {
				ratios = append(ratios, m.warm[0]/m.warm[1])
			}
		}
		verdict := "no"
		if median(col[1]) < 0.005 {
			verdict = "yes"
			met++
		}
		fmt.Printf("| %s | %.2f | %.2f | %.2f | %.3f | %.2fx | %s |\n", where,
			median(col[0])*1000, median(col[1])*1000, median(col[2])*1000, median(col[3])*1000, median(ratios), verdict)
	}
	fmt.Printf("\n%d of %d queries under 5 ms of sluice CPU warm", met, len(biResults))
	if len(biFailed) > 0 {
		fmt.Printf("; left out (failing on a server): %s", strings.Join(slices.Sorted(maps.Keys(biFailed)), ", "))
	}
	fmt.Println()
}
