//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// W2, refresh: REFRESH MATERIALIZED VIEW ... PARTITION BY (day) over a
// generated table, against DuckDB's own COPY (same query) TO dir (FORMAT
// PARQUET, PARTITION_BY (day)) in process. duckdb-copy is the reference as
// DuckDB ships (snappy); duckdb-copy-zstd adds COMPRESSION zstd, Sluice's
// default codec, to separate the codec's cost from Sluice's own.
//
// Targets: at most 1.1x DuckDB's time at 30 partitions; at 2,500
// partitions faster than DuckDB's COPY with at least 10x fewer files.
func BenchmarkW2Refresh(b *testing.B) {
	for _, p := range []struct{ name, col string }{{"p30", "day30"}, {"p2500", "day2500"}} {
		b.Run(p.name, func(b *testing.B) {
			query := fmt.Sprintf("SELECT id, %s, customer, amount, note FROM events", p.col)
			copyBench(b, copySet{
				name:        "W2 refresh " + p.name,
				detail:      fmt.Sprintf("%d rows, PARTITION BY (%s)", refreshRows, p.col),
				view:        "events_" + p.name,
				rows:        refreshRows,
				partitioned: true,
				setup: func(ctx context.Context, gc *pgx.Conn) error {
					once(b, "W2 events", func() error {
						src := "CREATE TABLE events AS " + eventsDuck(refreshRows)
						if _, err := gc.Exec(ctx, src); err != nil {
							return fmt.Errorf("gateway: %w", err)
						}
						_, err := reference(b).Exec(ctx, src)
						return err
					})
					_, err := gc.Exec(ctx, fmt.Sprintf("CREATE MATERIALIZED VIEW events_%s PARTITION BY (%s) AS %s WITH NO DATA", p.name, p.col, query))
					return err
				},
				refCopy: func(dir, extra string) string {
					return fmt.Sprintf("COPY (%s) TO '%s' (FORMAT PARQUET, PARTITION_BY (%s)%s)", query, dir, p.col, extra)
				},
				sortedCopy: func(dir string) string {
					return fmt.Sprintf("COPY (%s ORDER BY %s) TO '%s' (FORMAT PARQUET, PARTITION_BY (%s), COMPRESSION zstd)", query, p.col, dir, p.col)
				},
			})
		})
	}
}

// copySet is one Sluice refresh against DuckDB's COPY of the same query.
type copySet struct {
	name, detail, view string
	rows               int64
	partitioned        bool // the reference COPY writes a directory, else one file
	// setup creates the input and the view (WITH NO DATA) in the gateway.
	setup func(ctx context.Context, gc *pgx.Conn) error
	// refCopy is the reference COPY writing into path, with extra options.
	refCopy func(path, extra string) string
	// sortedCopy, when set, is a diagnostic variant run only with
	// SLUICE_BENCH_SORTED=1: the same COPY (zstd) of the query ORDER BY
	// the partition column.
	sortedCopy func(path string) string
}

func copyBench(b *testing.B, s copySet) {
	ctx := context.Background()
	g := gateway(b)
	ref := reference(b)
	gc := serverConn(b, g.URL)
	once(b, s.name+" setup", func() error { return s.setup(ctx, gc) })
	out := filepath.Join(benchDir(b), "ref-out")

	variants := []string{"sluice", "duckdb-copy", "duckdb-copy-zstd"}
	refOf := map[string]string{"sluice": "duckdb-copy", "duckdb-copy-zstd": "duckdb-copy", "duckdb-copy-sorted-zstd": "duckdb-copy"}
	if s.sortedCopy != nil && os.Getenv("SLUICE_BENCH_SORTED") == "1" {
		variants = append(variants, "duckdb-copy-sorted-zstd")
	}
	for b.Loop() {
		for _, v := range round(s.name, variants, refOf, s.detail) {
			var (
				smp  sample
				rows int64
				err  error
			)
			time.Sleep(idleBefore)
			switch v {
			case "sluice":
				srv0 := procCPU(g.cmd.Process.Pid)
				start := time.Now()
				_, err = gc.Exec(ctx, "REFRESH MATERIALIZED VIEW "+s.view)
				smp.secs = time.Since(start).Seconds()
				smp.server = procCPU(g.cmd.Process.Pid) - srv0
				if err == nil {
					err = gc.QueryRow(ctx, `SELECT rows_out, files_written FROM sluice.runs
						WHERE object = $1 ORDER BY run_id DESC LIMIT 1`, s.view).Scan(&rows, &smp.files)
				}
			case "duckdb-copy", "duckdb-copy-zstd", "duckdb-copy-sorted-zstd":
				extra := ""
				if v == "duckdb-copy-zstd" {
					extra = ", COMPRESSION zstd"
				}
				dir := filepath.Join(out, v)
				_ = os.RemoveAll(dir)
				if err = os.MkdirAll(out, 0o755); err != nil {
					break
				}
				path := dir
				if !s.partitioned {
					if err = os.MkdirAll(dir, 0o755); err != nil {
						break
					}
					path = filepath.Join(dir, "out.parquet")
				}
				srv0 := procCPU(os.Getpid())
				start := time.Now()
				copySQL := s.refCopy(path, extra)
				if v == "duckdb-copy-sorted-zstd" {
					copySQL = s.sortedCopy(path)
				}
				rows, err = ref.Exec(ctx, copySQL)
				smp.secs = time.Since(start).Seconds()
				smp.server = procCPU(os.Getpid()) - srv0
				if err == nil {
					smp.files, err = countParquet(dir)
				}
				_ = os.RemoveAll(dir)
			}
			if err != nil {
				b.Fatalf("%s: %v", v, err)
			}
			if rows != s.rows {
				b.Fatalf("%s: wrote %d rows, want %d", v, rows, s.rows)
			}
			record(b, s.name, v, smp)
		}
	}
}

// idleBefore is the pause before every variant, so that each starts
// from the same memory state. DuckDB (glibc builds) gives its freed memory
// back to the system once a worker thread has been idle for 0.5 s
// (malloc_trim in TaskScheduler::ExecuteForever), and the next large
// statement faults it in again: 10,000,000 rows through a partitioned
// COPY fault about 40,000 pages afresh, 0.3 to 0.5 s of CPU. The
// gateway's DuckDB always idles that long before its variant (the
// reference variants run in between), while a reference variant run
// straight after the other one started warm; the pause makes every
// variant start as a statement after idle time does.
const idleBefore = time.Second

func countParquet(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".parquet") {
			n++
		}
		return err
	})
	return n, err
}
