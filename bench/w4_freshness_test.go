//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// W4, freshness: a FILES source over a landing directory of JSON files, a
// materialized view REFRESH ON CHANGE over it (w4_up) and a downstream ON
// CHANGE view over that one (w4_down), created anew each round over a new
// landing directory holding one file. Each round then lands
// SLUICE_BENCH_FRESH_FILES files (default 50) one at a time, each written in
// a directory beside the landing one and renamed into it, and measures for
// each the time from the rename until its rows are visible in w4_down,
// polled with a one-row query every 20 ms. The refreshes' own run time is
// the two runs' finished_at - started_at in sluice.runs.
//
// Before each rename the benchmark waits a random 0 to 1 s, so that files
// land at uniformly random moments of the scheduler's poll of the source
// (every 1 s by default; the gateway binary has no option to change it).
//
// Target: under 2 s plus the refreshes' own run time.
func BenchmarkW4Freshness(b *testing.B) {
	ctx := context.Background()
	g := gateway(b)
	gc := serverConn(b, g.URL)
	aside := filepath.Join(benchDir(b), "w4-aside")
	once(b, "W4 freshness", func() error {
		addSummary(printFreshness)
		return os.MkdirAll(aside, 0o755)
	})

	for b.Loop() {
		freshMu.Lock()
		roundNo := len(freshRounds)
		freshRounds = append(freshRounds, nil)
		freshMu.Unlock()
		// Every round starts over: a new landing directory holding one
		// file, and a new source and views over it.
		landing := filepath.Join(benchDir(b), fmt.Sprintf("w4-landing-%d", roundNo+1))
		if err := os.MkdirAll(landing, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := landJSON(aside, landing, 0); err != nil {
			b.Fatal(err)
		}
		for _, q := range []string{
			fmt.Sprintf("CREATE SOURCE w4_landing FROM FILES '%s' WITH (format = 'json')", filepath.Join(landing, "*.json")),
			"CREATE MATERIALIZED VIEW w4_up REFRESH ON CHANGE AS SELECT id, file_no, value FROM w4_landing",
			"CREATE MATERIALIZED VIEW w4_down REFRESH ON CHANGE AS SELECT file_no, count(*) AS n, sum(value) AS total FROM w4_up GROUP BY file_no",
		} {
			if _, err := gc.Exec(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
		rng := rand.New(rand.NewPCG(4, uint64(roundNo)))
		var lat []float64
		for k := 1; k <= freshFiles; k++ {
			s, err := landOne(ctx, gc, aside, landing, k, time.Duration(rng.Int64N(int64(time.Second))))
			if err != nil {
				b.Fatalf("file %d: %v", k, err)
			}
			freshMu.Lock()
			freshRounds[roundNo] = append(freshRounds[roundNo], s)
			freshMu.Unlock()
			lat = append(lat, s.latency)
		}
		// The scheduler stops polling this round's files.
		for _, q := range []string{"DROP MATERIALIZED VIEW w4_down", "DROP MATERIALIZED VIEW w4_up", "DROP SOURCE w4_landing"} {
			if _, err := gc.Exec(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
		b.ReportMetric(median(lat), "latency-median-s")
		b.ReportMetric(percentile(lat, 99), "latency-p99-s")
	}
}

var (
	freshFiles = envInt("SLUICE_BENCH_FRESH_FILES", 50)
	freshRows  = rowsEnv("SLUICE_BENCH_FRESH_ROWS", 1000)

	freshMu     sync.Mutex
	freshRounds [][]freshSample
)

// freshSample is one landed file, in seconds.
type freshSample struct {
	latency float64 // rename -> rows visible in w4_down (as the poll saw it)
	detect  float64 // rename -> w4_up's refresh started
	upRun   float64 // w4_up's refresh, finished_at - started_at
	gap     float64 // w4_up's refresh finished -> w4_down's started
	downRun float64 // w4_down's refresh, finished_at - started_at
	seen    float64 // w4_down's refresh finished -> the poll saw the rows
}

func (s freshSample) ownRun() float64 { return s.upRun + s.downRun }

// writeAside writes file k (freshRows JSON lines) in the directory beside
// the landing one and returns its path there and in the landing directory.
func writeAside(aside, landing string, k int) (tmp, final string, err error) {
	var sb strings.Builder
	base := int64(k) * freshRows
	for j := range freshRows {
		fmt.Fprintf(&sb, `{"id":%d,"file_no":%d,"value":%g}`+"\n", base+j, k, float64(j)*0.5)
	}
	name := fmt.Sprintf("f%05d.json", k)
	tmp, final = filepath.Join(aside, name), filepath.Join(landing, name)
	return tmp, final, os.WriteFile(tmp, []byte(sb.String()), 0o644)
}

// landJSON writes file k aside, then renames it into the landing directory.
func landJSON(aside, landing string, k int) error {
	tmp, final, err := writeAside(aside, landing, k)
	if err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

// landOne lands file k after pause and waits until w4_down shows its rows.
func landOne(ctx context.Context, gc *pgx.Conn, aside, landing string, k int, pause time.Duration) (freshSample, error) {
	var s freshSample
	var lastRun int64
	if err := gc.QueryRow(ctx, "SELECT coalesce(max(run_id), 0) FROM sluice.runs").Scan(&lastRun); err != nil {
		return s, err
	}
	// Write aside now, rename after the pause.
	tmp, final, err := writeAside(aside, landing, k)
	if err != nil {
		return s, err
	}
	time.Sleep(pause)
	landed := time.Now()
	if err := os.Rename(tmp, final); err != nil {
		return s, err
	}
	var visible time.Time
	deadline := landed.Add(2 * time.Minute)
	for next := landed; ; {
		var n int64
		err := gc.QueryRow(ctx, "SELECT n FROM w4_down WHERE file_no = $1", pgx.QueryExecModeSimpleProtocol, k).Scan(&n)
		if err == nil && n == freshRows {
			visible = time.Now()
			break
		}
		if err != nil && err != pgx.ErrNoRows {
			return s, fmt.Errorf("poll: %w", err)
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("rows not visible in w4_down after %v", time.Since(landed))
		}
		next = next.Add(20 * time.Millisecond)
		time.Sleep(time.Until(next))
	}
	s.latency = visible.Sub(landed).Seconds()

	// The runs that made the rows visible: the first refresh of w4_up
	// since the landing, and the first of w4_down after it.
	rows, err := gc.Query(ctx, `SELECT object, trigger, started_at, finished_at FROM sluice.runs
		WHERE run_id > $1 AND object IN ('w4_up', 'w4_down') AND status = 'succeeded' ORDER BY run_id`, lastRun)
	if err != nil {
		return s, err
	}
	var up, down [2]time.Time
	for rows.Next() {
		var obj, trigger string
		var st, fin time.Time
		if err := rows.Scan(&obj, &trigger, &st, &fin); err != nil {
			rows.Close()
			return s, err
		}
		if trigger != "change" {
			rows.Close()
			return s, fmt.Errorf("run of %s with trigger %q, want change", obj, trigger)
		}
		switch {
		case obj == "w4_up" && up[0].IsZero():
			up = [2]time.Time{st, fin}
		case obj == "w4_down" && down[0].IsZero() && !up[0].IsZero():
			down = [2]time.Time{st, fin}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, err
	}
	if up[0].IsZero() || down[0].IsZero() {
		return s, fmt.Errorf("no ON CHANGE runs of w4_up and w4_down after run %d", lastRun)
	}
	s.detect = up[0].Sub(landed).Seconds()
	s.upRun = up[1].Sub(up[0]).Seconds()
	s.gap = down[0].Sub(up[1]).Seconds()
	s.downRun = down[1].Sub(down[0]).Seconds()
	s.seen = visible.Sub(down[1]).Seconds()
	return s, nil
}

// percentile is the nearest-rank p-th percentile (p99 of 50 values is the
// largest).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func printFreshness() {
	freshMu.Lock()
	defer freshMu.Unlock()
	var all []freshSample
	for _, r := range freshRounds {
		all = append(all, r...)
	}
	if len(all) == 0 {
		return
	}
	fmt.Printf("\n### W4 freshness (%d rounds x %d files of %d JSON rows; scheduler poll 1 s, the default)\n\n", len(freshRounds), freshFiles, freshRows)
	fmt.Println("| measure (per file) | median s | p99 s | min s | max s |")
	fmt.Println("|---|---:|---:|---:|---:|")
	row := func(name string, f func(freshSample) float64) {
		xs := make([]float64, len(all))
		for i, s := range all {
			xs[i] = f(s)
		}
		fmt.Printf("| %s | %.3f | %.3f | %.3f | %.3f |\n", name, median(xs), percentile(xs, 99), slices.Min(xs), slices.Max(xs))
	}
	row("land -> visible in w4_down", func(s freshSample) float64 { return s.latency })
	row("own run time (w4_up + w4_down refreshes)", freshSample.ownRun)
	row("latency - own run time", func(s freshSample) float64 { return s.latency - s.ownRun() })
	row("land -> w4_up refresh starts", func(s freshSample) float64 { return s.detect })
	row("w4_up refresh", func(s freshSample) float64 { return s.upRun })
	row("w4_up finished -> w4_down starts", func(s freshSample) float64 { return s.gap })
	row("w4_down refresh", func(s freshSample) float64 { return s.downRun })
	row("w4_down finished -> poll sees rows", func(s freshSample) float64 { return s.seen })
	if len(freshRounds) > 1 {
		fmt.Println()
		for i, r := range freshRounds {
			xs := make([]float64, len(r))
			for j, s := range r {
				xs[j] = s.latency
			}
			if len(xs) > 0 {
				fmt.Printf("round %d: latency median %.3f s, p99 %.3f s (%d files)\n", i+1, median(xs), percentile(xs, 99), len(xs))
			}
		}
	}
	over := make([]float64, len(all))
	for i, s := range all {
		over[i] = s.latency - s.ownRun()
	}
	verdict := "met"
	if percentile(over, 99) >= 2 {
		verdict = "not met"
	}
	fmt.Printf("\ntarget (latency under 2 s plus the own run time, at p99): %s (p99 of latency - own run time %.3f s)\n", verdict, percentile(over, 99))
}
