//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// W5, incremental cost: a pipeline PARTITION BY (day) over a FILES source
// of SLUICE_BENCH_INCR_FILES Parquet files (default 100) holding
// SLUICE_BENCH_INCR_ROWS rows (default 10,000,000) over 365 days in time
// order. Each round lands one more file of 1% of the rows (the next days,
// written beside the source's directory and renamed in), then times
//
//   - pipeline-1pct: REFRESH PIPELINE w5_p, which reads only the new file;
//   - full-recompute: REFRESH MATERIALIZED VIEW w5_full, a view PARTITION BY
//     (day) of the same query over the same source, recomputed from every
//     file (the same result as the pipeline's).
//
// Target: the pipeline run takes at most 5% of the full recompute's time.
func BenchmarkW5Incremental(b *testing.B) {
	ctx := context.Background()
	g := gateway(b)
	gc := serverConn(b, g.URL)
	n, files := incrRows, incrFiles
	step := max(1, n/100) // rows of each new file: 1% of the initial input
	base := eventFiles(b, n, files)
	dir := filepath.Join(benchDir(b), "w5-events")
	aside := filepath.Join(benchDir(b), "w5-aside")
	const query = "SELECT id, day, customer, amount, note FROM w5_events"
	once(b, "W5 incremental", func() error {
		for _, d := range []string{dir, aside} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		ents, err := os.ReadDir(base)
		if err != nil {
			return err
		}
		for _, e := range ents { // the same files, without copying them
			if err := os.Link(filepath.Join(base, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
		for _, q := range []string{
			fmt.Sprintf("CREATE SOURCE w5_events FROM FILES '%s' WITH (format = 'parquet')", filepath.Join(dir, "*.parquet")),
			"CREATE PIPELINE w5_p PARTITION BY (day) AS " + query,
			"CREATE MATERIALIZED VIEW w5_full PARTITION BY (day) AS " + query,
		} {
			start := time.Now()
			if _, err := gc.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
			fmt.Fprintf(os.Stderr, "bench: W5 %.40s...: %.1fs\n", q, time.Since(start).Seconds())
		}
		return nil
	})

	name := "W5 incremental"
	detail := fmt.Sprintf("%d rows in %d Parquet files + 1 file of %d rows (1%%) per round, PARTITION BY (day), 365 days", n, files, step)
	variants := []string{"pipeline-1pct", "full-recompute"}
	refOf := map[string]string{"pipeline-1pct": "full-recompute"}
	for b.Loop() {
		// Land the round's new file: the rows after everything landed so far.
		k := incrLanded
		lo := n + int64(k)*step + 1
		fname := fmt.Sprintf("new-%04d.parquet", k)
		tmp := filepath.Join(aside, fname)
		if _, err := reference(b).Exec(ctx, fmt.Sprintf("COPY (%s) TO '%s' (FORMAT PARQUET)", eventsByDay(lo, lo+step-1, n), tmp)); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, fname)); err != nil {
			b.Fatal(err)
		}
		incrLanded++
		total := n + int64(incrLanded)*step

		for _, v := range round(name, variants, refOf, detail) {
			stmt, object, want := "REFRESH PIPELINE w5_p", "w5_p", step
			if v == "full-recompute" {
				stmt, object, want = "REFRESH MATERIALIZED VIEW w5_full", "w5_full", total
			}
			smp, rows, err := timeRefresh(ctx, gc, g, stmt, object)
			if err != nil {
				b.Fatalf("%s: %v", v, err)
			}
			if rows != want {
				b.Fatalf("%s: wrote %d rows, want %d", v, rows, want)
			}
			record(b, name, v, smp)
		}
	}
}

var (
	incrRows   = rowsEnv("SLUICE_BENCH_INCR_ROWS", 10_000_000)
	incrFiles  = envInt("SLUICE_BENCH_INCR_FILES", 100)
	incrLanded int // new files landed so far
)

// timeRefresh runs stmt (a REFRESH of object) and returns its time, the
// gateway's CPU time, the files its run wrote and the rows it wrote, from
// sluice.runs.
func timeRefresh(ctx context.Context, gc *pgx.Conn, g *gatewayProc, stmt, object string) (sample, int64, error) {
	var smp sample
	srv0 := procCPU(g.cmd.Process.Pid)
	start := time.Now()
	_, err := gc.Exec(ctx, stmt)
	smp.secs = time.Since(start).Seconds()
	smp.server = procCPU(g.cmd.Process.Pid) - srv0
	if err != nil {
		return smp, 0, err
	}
	var rows int64
	var status string
	err = gc.QueryRow(ctx, `SELECT status, rows_out, files_written FROM sluice.runs
		WHERE object = $1 ORDER BY run_id DESC LIMIT 1`, object).Scan(&status, &rows, &smp.files)
	if err == nil && status != "succeeded" {
		err = fmt.Errorf("last run of %s is %s", object, status)
	}
	return smp, rows, err
}

// eventsByDay is rows lo..hi of W5's and W6's input: n rows spread over
// the 365 days from 2024-01-01 in time order (rows past n continue into
// the days after), so that a file holds a few consecutive days.
func eventsByDay(lo, hi, n int64) string {
	return fmt.Sprintf(`SELECT
  i AS id,
  DATE '2024-01-01' + ((i - 1) * 365 // %d)::INTEGER AS day,
  (i * 7919 %% 100000)::INTEGER AS customer,
  ((i %% 100000) / 100.0)::DOUBLE AS amount,
  'event ' || i AS note
FROM range(%d, %d) t(i)`, n, lo, hi+1)
}

// eventFiles writes (once) n rows of eventsByDay as files Parquet files of
// consecutive rows, and returns their directory. W5 and W6 share it when
// their sizes are the same.
func eventFiles(tb testing.TB, n int64, files int) string {
	dir := filepath.Join(benchDir(tb), fmt.Sprintf("events-%d-%d", n, files))
	once(tb, fmt.Sprintf("events by day, %d rows in %d Parquet files", n, files), func() error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		ref := reference(tb)
		for k := range int64(files) {
			lo, hi := k*n/int64(files)+1, (k+1)*n/int64(files)
			if hi < lo {
				continue
			}
			path := filepath.Join(dir, fmt.Sprintf("part-%04d.parquet", k))
			if _, err := ref.Exec(context.Background(), fmt.Sprintf("COPY (%s) TO '%s' (FORMAT PARQUET)", eventsByDay(lo, hi, n), path)); err != nil {
				return err
			}
		}
		return nil
	})
	return dir
}
