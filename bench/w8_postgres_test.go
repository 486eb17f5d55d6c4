//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-db/sluice/internal/testing/testpg"
)

// W8, PostgreSQL snapshot: a table of SLUICE_BENCH_PG_SNAPSHOT_ROWS rows
// (default 10,000,000: bigint primary key, timestamptz, text,
// numeric(12,2), int) in PostgreSQL 15, read whole into Parquet. Each round
// runs, in rotating order:
//
//   - sluice: REFRESH MATERIALIZED VIEW w8_snap, a view AS SELECT * FROM a
//     POSTGRES source over the table (cursor_column id; the connector
//     splits a read of more than 1M rows into parallel = 4 ranges of the
//     primary key, each its own connection and COPY ... TO STDOUT (FORMAT
//     binary));
//   - sluice-parallel1: the same over a source WITH (parallel = 1): one
//     connection, one COPY;
//   - psql-copy-binary: psql -c "COPY public.w8 TO STDOUT (FORMAT binary)"
//     with its output to /dev/null, the process started and waited for.
//
// Target: Sluice takes at most 1.5x psql's time.
func BenchmarkW8Postgres(b *testing.B) {
	ctx := context.Background()
	g := gateway(b)
	p := postgres(b)
	gc := serverConn(b, g.URL)
	n := pgSnapshotRows
	psql := filepath.Join(testpg.Bin(), "psql")
	if _, err := os.Stat(psql); err != nil {
		if psql, err = exec.LookPath("psql"); err != nil {
			b.Skip("psql not found beside the server's binaries nor on PATH")
		}
	}
	once(b, "W8 table and views", func() error {
		addSummary(printPostgresCPU)
		pc, err := connect(ctx, p.URL)
		if err != nil {
			return err
		}
		defer pc.Close(ctx)
		start := time.Now()
		for _, q := range []string{
			"CREATE TABLE w8 (id bigint PRIMARY KEY, ts timestamptz NOT NULL, name text, amount numeric(12,2), qty int)",
			fmt.Sprintf(`INSERT INTO w8 SELECT i, timestamptz '2024-01-01 00:00:00+00' + i * interval '3 seconds',
  'customer ' || (i * 7919 %% 100000), ((i * 7919) %% 10000000) / 100.0, (i %% 1000)::int
FROM generate_series(1::bigint, %d) g(i)`, n),
			"VACUUM (FREEZE, ANALYZE) w8",
		} {
			if _, err := pc.Exec(ctx, q); err != nil {
				return fmt.Errorf("postgresql: %.40s: %w", q, err)
			}
		}
		fmt.Fprintf(os.Stderr, "bench: W8 %d rows loaded in PostgreSQL: %.1fs\n", n, time.Since(start).Seconds())
		for _, q := range []string{
			fmt.Sprintf("CREATE SOURCE w8_src FROM POSTGRES WITH (dsn = '%s', table = 'public.w8', cursor_column = 'id')", p.URL),
			fmt.Sprintf("CREATE SOURCE w8_src1 FROM POSTGRES WITH (dsn = '%s', table = 'public.w8', cursor_column = 'id', parallel = 1)", p.URL),
			// Populated now, unmeasured: every round refreshes a view
			// that has a version.
			"CREATE MATERIALIZED VIEW w8_snap AS SELECT * FROM w8_src",
			"CREATE MATERIALIZED VIEW w8_snap1 AS SELECT * FROM w8_src1",
		} {
			if _, err := gc.Exec(ctx, q); err != nil {
				return fmt.Errorf("gateway: %.40s: %w", q, err)
			}
		}
		// Read the table once, unmeasured, so every side finds it cached.
		_, err = runPsql(psql, p.URL)
		return err
	})

	name := "W8 postgres"
	detail := fmt.Sprintf("%d rows (bigint, timestamptz, text, numeric(12,2), int) of PostgreSQL 15 into Parquet", n)
	variants := []string{"sluice", "sluice-parallel1", "psql-copy-binary"}
	refOf := map[string]string{"sluice": "psql-copy-binary", "sluice-parallel1": "psql-copy-binary"}
	pmPid, err := postmasterPid(p)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, v := range round(name, variants, refOf, detail) {
			var (
				smp  sample
				rows = n
				err  error
			)
			pg0 := childrenCPU(pmPid)
			switch v {
			case "sluice":
				smp, rows, err = timeRefresh(ctx, gc, g, "REFRESH MATERIALIZED VIEW w8_snap", "w8_snap")
			case "sluice-parallel1":
				smp, rows, err = timeRefresh(ctx, gc, g, "REFRESH MATERIALIZED VIEW w8_snap1", "w8_snap1")
			case "psql-copy-binary":
				var ps *os.ProcessState
				start := time.Now()
				ps, err = runPsql(psql, p.URL)
				smp.secs = time.Since(start).Seconds()
				if ps != nil {
					smp.client = (ps.UserTime() + ps.SystemTime()).Seconds()
				}
			}
			if err != nil {
				b.Fatalf("%s: %v", v, err)
			}
			if rows != n {
				b.Fatalf("%s: wrote %d rows, want %d", v, rows, n)
			}
			// The backends that served the read have exited (Sluice's
			// range connections close at the end of the read, psql's at
			// its exit); the postmaster reaps them and adds their CPU
			// time to its children's.
			time.Sleep(300 * time.Millisecond)
			pgCPU[v] = append(pgCPU[v], childrenCPU(pmPid)-pg0)
			record(b, name, v, smp)
		}
	}
}

var (
	pgSnapshotRows = rowsEnv("SLUICE_BENCH_PG_SNAPSHOT_ROWS", 10_000_000)
	pgCPU          = map[string][]float64{} // W8: PostgreSQL backends' CPU seconds per variant and round
)

// runPsql copies the table out in binary format to /dev/null.
func runPsql(psql, url string) (*os.ProcessState, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	var stderr syncBuffer
	cmd := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", "COPY public.w8 TO STDOUT (FORMAT binary)")
	cmd.Stdout, cmd.Stderr = devnull, &stderr
	if err := cmd.Run(); err != nil {
		return cmd.ProcessState, fmt.Errorf("psql: %v: %s", err, stderr.String())
	}
	return cmd.ProcessState, nil
}

// printPostgresCPU prints W8's CPU split: the gateway's, PostgreSQL's
// backends' and psql's, medians per variant.
//
// It runs from printSummary, which holds resMu.
func printPostgresCPU() {
	w := byName["W8 postgres"]
	if w == nil {
		return
	}
	fmt.Printf("\n### W8 postgres CPU (%d rows; medians)\n\n", pgSnapshotRows)
	fmt.Println("| variant | median s | rows/s | gateway CPU s | PostgreSQL backends CPU s | psql CPU s |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, v := range w.variants {
		ss := w.samples[v]
		if len(ss) == 0 {
			continue
		}
		var secs, srv, cli []float64
		for _, s := range ss {
			secs, srv, cli = append(secs, s.secs), append(srv, s.server), append(cli, s.client)
		}
		fmt.Printf("| %s | %.3f | %.0f | %.2f | %.2f | %.2f |\n", v, median(secs), float64(pgSnapshotRows)/median(secs), median(srv), median(pgCPU[v]), median(cli))
	}
}
