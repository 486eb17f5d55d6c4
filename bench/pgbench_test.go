//go:build duckdb_arrow

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Pgbench: PostgreSQL's own load generator against the gateway and against
// PostgreSQL 15 on the same machine, in the same run. Two scripts
// (testdata/pgbench): SELECT 1, and six introspection queries clients send
// on connect and while browsing (from the compatibility suite, over a table
// py_t the benchmark creates on both servers). Each script runs in the
// three query modes (-M simple, extended, prepared), with persistent
// connections and with -C (a new connection per transaction), as
//
//	pgbench -n -f script -M mode [-C] -c 8 -j 2 -T $SLUICE_BENCH_PGBENCH_SECONDS
//
// One benchmark call is one round: every (script, mode, -C) runs once
// against each server, the server that goes first alternating from one
// configuration to the next and from round to round. A run has failures
// when pgbench reports failed transactions, when a client aborts (any SQL
// error other than a serialization failure or deadlock aborts a pgbench 15
// client: "client N script M aborted in command ...") or when pgbench
// exits non-zero.
//
// Target: at least PostgreSQL's TPS in every mode, and no failures.
func BenchmarkPgbench(b *testing.B) {
	bin, reason := pgbenchBinary()
	if reason != "" {
		b.Skip(reason)
	}
	g := gateway(b)
	p := postgres(b)
	servers := []pgbenchServer{
		{name: "sluice", url: g.URL, log: g.log.String, cpu: g.cpu},
		{name: "postgres", url: p.URL, cpu: p.backendsCPU},
	}
	once(b, "pgbench summary", func() error { addSummary(printPgbench); return nil })
	once(b, "pgbench fixture", func() error { return pgbenchFixture(bin, servers) })
	for _, s := range pgbenchScripts {
		for _, mode := range []string{"simple", "extended", "prepared"} {
			for _, connect := range []bool{false, true} {
				c := pgbenchConfig{script: s, mode: mode, connect: connect}
				b.Run(c.String(), func(b *testing.B) {
					for b.Loop() {
						pgbenchRound(b, bin, c, servers)
					}
				})
			}
		}
	}
}

var (
	pgbenchSeconds = envInt("SLUICE_BENCH_PGBENCH_SECONDS", 60)
	// pgbenchScripts are the files in testdata/pgbench, without ".sql".
	pgbenchScripts = []string{"select1", "introspection"}

	pgbenchMu      sync.Mutex
	pgbenchConfigs []pgbenchConfig                      // in the order first run
	pgbenchRuns    = map[pgbenchConfig][][]pgbenchRun{} // per config, per round, one per server
	pgbenchRounds  = map[pgbenchConfig]int{}
)

// pgbenchBinary finds pgbench: $SLUICE_BENCH_PGBENCH, else beside the
// PostgreSQL server binaries, else on PATH.
func pgbenchBinary() (string, string) {
	if bin := os.Getenv("SLUICE_BENCH_PGBENCH"); bin != "" {
		return bin, ""
	}
	bin := filepath.Join(envString("SLUICE_BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"), "pgbench")
	if _, err := os.Stat(bin); err == nil {
		return bin, ""
	}
	if path, err := exec.LookPath("pgbench"); err == nil {
		return path, ""
	}
	return "", "pgbench not found beside the PostgreSQL binaries nor on PATH (install postgresql-15 or set SLUICE_BENCH_PGBENCH)"
}

type pgbenchServer struct {
	name string
	url  string
	log  func() string // the server's own log, when the benchmark holds it
	// cpu, when set, is the CPU time (s) the server has spent serving
	// clients so far; a run's difference is its server CPU.
	cpu func() float64
}

type pgbenchConfig struct {
	script  string
	mode    string
	connect bool // -C: a new connection per transaction
}

func (c pgbenchConfig) String() string {
	s := c.script + "-" + c.mode
	if c.connect {
		s += "-C"
	}
	return s
}

// pgbenchRun is one pgbench run against one server.
type pgbenchRun struct {
	server   string
	tps      float64
	txns     int64   // number of transactions actually processed
	failed   int64   // number of failed transactions, as pgbench counts them
	aborted  int     // clients that stopped on an error
	exit     int     // pgbench's exit status
	connMS   float64 // average (-C) or initial connection time, ms
	latMS    float64 // latency average, ms
	cpuSecs  float64 // the server's CPU time during the run, s (0: unknown)
	errLines []string
}

// cpuPerTxn is the server's CPU time per transaction, µs (0: unknown).
func (r pgbenchRun) cpuPerTxn() float64 {
	if r.cpuSecs <= 0 || r.txns == 0 {
		return 0
	}
	return r.cpuSecs / float64(r.txns) * 1e6
}

// failures counts what the target calls failed transactions: pgbench's
// own count, plus one for each aborted client (its transaction did not
// complete), plus one if pgbench exited non-zero without either.
func (r pgbenchRun) failures() int64 {
	n := r.failed + int64(r.aborted)
	if n == 0 && r.exit != 0 {
		n = 1
	}
	return n
}

func pgbenchRound(b *testing.B, bin string, c pgbenchConfig, servers []pgbenchServer) {
	pgbenchMu.Lock()
	k := pgbenchRounds[c]
	pgbenchRounds[c]++
	if k == 0 {
		pgbenchConfigs = append(pgbenchConfigs, c)
	}
	nth := slices.Index(pgbenchConfigs, c)
	pgbenchMu.Unlock()
	// The first server alternates between configurations and rounds.
	order := []int{0, 1}
	if (k+nth)%2 == 1 {
		order = []int{1, 0}
	}
	runs := make([]pgbenchRun, len(servers))
	for _, i := range order {
		s := servers[i]
		args := []string{"-n", "-f", pgbenchScript(c.script), "-M", c.mode, "-c", "8", "-j", "2", "-T", strconv.Itoa(pgbenchSeconds)}
		if c.connect {
			args = append(args, "-C")
		}
		r, err := runPgbench(bin, s, args)
		if err != nil {
			b.Fatalf("%s on %s: %v", c, s.name, err)
		}
		if r.failures() > 0 {
			b.Logf("%s on %s: %d failed transactions, %d clients aborted, exit %d:\n%s", c, s.name, r.failed, r.aborted, r.exit, strings.Join(r.errLines, "\n"))
			if s.log != nil {
				b.Logf("%s log (last 2 kB):\n%s", s.name, tail(s.log(), 2048))
			}
		}
		runs[i] = r
		b.ReportMetric(r.tps, s.name+"-tps")
		b.ReportMetric(float64(r.failures()), s.name+"-failed")
	}
	pgbenchMu.Lock()
	pgbenchRuns[c] = append(pgbenchRuns[c], runs)
	pgbenchMu.Unlock()
}

func pgbenchScript(name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", "pgbench", name+".sql"))
	if err != nil {
		panic(err)
	}
	return p
}

// pgbenchFixture creates the table the introspection queries look for on
// both servers, then runs each script once in each mode against each
// server. A script that fails on PostgreSQL is a broken benchmark; one
// that fails on Sluice is a result, logged here and counted in the runs.
func pgbenchFixture(bin string, servers []pgbenchServer) error {
	ctx := context.Background()
	for _, s := range servers {
		conn, err := connect(ctx, s.url)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		_, err = conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS py_t (id INTEGER, name VARCHAR, amount DOUBLE PRECISION, day DATE)")
		conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("%s: creating py_t: %w", s.name, err)
		}
	}
	for _, script := range pgbenchScripts {
		for _, mode := range []string{"simple", "extended", "prepared"} {
			for _, s := range servers {
				r, err := runPgbench(bin, s, []string{"-n", "-f", pgbenchScript(script), "-M", mode, "-c", "1", "-j", "1", "-t", "1"})
				if err != nil {
					return fmt.Errorf("%s -M %s on %s: %w", script, mode, s.name, err)
				}
				if r.failures() == 0 && r.txns == 1 {
					continue
				}
				msg := fmt.Sprintf("%s -M %s on %s: %d of 1 transactions, exit %d:\n%s", script, mode, s.name, r.txns, r.exit, strings.Join(r.errLines, "\n"))
				if s.log == nil {
					return errors.New(msg)
				}
				fmt.Fprintf(os.Stderr, "bench: pgbench check failed: %s\n", msg)
			}
		}
	}
	return nil
}

var (
	pgbenchTPS     = regexp.MustCompile(`(?m)^tps = ([0-9.]+) `)
	pgbenchTxns    = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
	pgbenchFailed  = regexp.MustCompile(`(?m)^number of failed transactions: ([0-9]+)`)
	pgbenchConn    = regexp.MustCompile(`(?m)^(?:average|initial) connection time = ([0-9.]+) ms`)
	pgbenchLatency = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
	pgbenchAborted = regexp.MustCompile(`client [0-9]+ (?:script [0-9]+ )?aborted`)
)

// runPgbench runs pgbench with args against server s and parses its
// report. An error means pgbench did not run at all; its failures are in
// the result.
func runPgbench(bin string, s pgbenchServer, args []string) (pgbenchRun, error) {
	u, err := url.Parse(s.url)
	if err != nil {
		return pgbenchRun{}, err
	}
	args = append(args, "-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username(), strings.TrimPrefix(u.Path, "/"))
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() { // no PG* variable may change the connection
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=30")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := pgbenchRun{server: s.name}
	var cpu0 float64
	if s.cpu != nil {
		cpu0 = s.cpu()
	}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return r, err
		}
		r.exit = exit.ExitCode()
	}
	if s.cpu != nil {
		r.cpuSecs = s.cpu() - cpu0
	}
	out, errOut := stdout.String(), stderr.String()
	parse := func(re *regexp.Regexp) string {
		if m := re.FindStringSubmatch(out); m != nil {
			return m[1]
		}
		return ""
	}
	r.tps, _ = strconv.ParseFloat(parse(pgbenchTPS), 64)
	r.txns, _ = strconv.ParseInt(parse(pgbenchTxns), 10, 64)
	r.failed, _ = strconv.ParseInt(parse(pgbenchFailed), 10, 64)
	r.connMS, _ = strconv.ParseFloat(parse(pgbenchConn), 64)
	r.latMS, _ = strconv.ParseFloat(parse(pgbenchLatency), 64)
	r.aborted = len(pgbenchAborted.FindAllString(errOut, -1))
	for line := range strings.Lines(errOut) {
		if len(r.errLines) < 10 {
			r.errLines = append(r.errLines, strings.TrimRight(line, "\n"))
		}
	}
	if r.exit != 0 && r.aborted == 0 && strings.TrimSpace(out) != "" && pgbenchTPS.FindString(out) == "" {
		// pgbench gave up before running (bad script, no connection).
		r.errLines = append(r.errLines, strings.TrimSpace(out))
	}
	return r, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func printPgbench() {
	pgbenchMu.Lock()
	defer pgbenchMu.Unlock()
	if len(pgbenchConfigs) == 0 {
		return
	}
	fmt.Printf("\n### pgbench (-n -c 8 -j 2 -T %d; medians of %d round(s); ratio = median of the per-round ratios sluice/postgres)\n\n",
		pgbenchSeconds, slices.Max(slices.Collect(maps.Values(pgbenchRounds))))
	fmt.Println("| script | mode | -C | sluice tps | postgres tps | ratio | sluice server µs/txn | postgres server µs/txn | CPU ratio | sluice failed | postgres failed | sluice conn ms | postgres conn ms | target |")
	fmt.Println("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, c := range pgbenchConfigs {
		rounds := pgbenchRuns[c]
		var stps, ptps, ratios, sconn, pconn, scpu, pcpu, cpuRatios []float64
		var sfail, pfail int64
		for _, r := range rounds {
			s, p := r[0], r[1]
			stps, ptps = append(stps, s.tps), append(ptps, p.tps)
			sconn, pconn = append(sconn, s.connMS), append(pconn, p.connMS)
			scpu, pcpu = append(scpu, s.cpuPerTxn()), append(pcpu, p.cpuPerTxn())
			if p.tps > 0 {
				ratios = append(ratios, s.tps/p.tps)
			}
			if s.cpuPerTxn() > 0 && p.cpuPerTxn() > 0 {
				cpuRatios = append(cpuRatios, s.cpuPerTxn()/p.cpuPerTxn())
			}
			sfail += s.failures()
			pfail += p.failures()
		}
		connect, verdict := "", "met"
		if c.connect {
			connect = "-C"
		}
		if median(ratios) < 1 || sfail > 0 {
			verdict = "not met"
		}
		fmt.Printf("| %s | %s | %s | %.1f | %.1f | %.2fx | %.1f | %.1f | %.2fx | %d | %d | %.2f | %.2f | %s |\n",
			c.script, c.mode, connect, median(stps), median(ptps), median(ratios), median(scpu), median(pcpu), median(cpuRatios),
			sfail, pfail, median(sconn), median(pconn), verdict)
	}
}
