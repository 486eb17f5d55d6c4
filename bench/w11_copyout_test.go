//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// copyOutRows is W11's table size.
var copyOutRows = rowsEnv("SLUICE_BENCH_COPY_ROWS", 5_000_000)

// W11, COPY TO STDOUT: the whole narrow table (id bigint, name text, value
// double precision) read by pgconn's CopyTo in text, CSV and binary
// formats, from the gateway and from PostgreSQL 15 holding the same rows.
// Both send one CopyData message per row (what the protocol says and
// clients such as psycopg's Copy.rows() rely on); the client counts the
// bytes and checks the row count of the command tag.
func BenchmarkW11CopyOut(b *testing.B) {
	ctx := context.Background()
	p := postgres(b)
	g := gateway(b)
	gc, pc := serverConn(b, g.URL), serverConn(b, p.URL)
	const table = "copyout"
	once(b, "W11 data", func() error {
		if _, err := gc.Exec(ctx, "CREATE TABLE copyout AS "+narrowDuck(copyOutRows)); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		// narrowPG's statements with the table renamed.
		if _, err := pc.Exec(ctx, strings.ReplaceAll(narrowPG(copyOutRows), "narrow", table)); err != nil {
			return fmt.Errorf("postgresql: %w", err)
		}
		_, err := pc.Exec(ctx, "VACUUM (FREEZE, ANALYZE) "+table)
		return err
	})

	formats := map[string]string{"text": "", "csv": " (FORMAT csv)", "binary": " (FORMAT binary)"}
	variants := []string{"sluice-text", "postgres-text", "sluice-csv", "postgres-csv", "sluice-binary", "postgres-binary"}
	refOf := map[string]string{"sluice-text": "postgres-text", "sluice-csv": "postgres-csv", "sluice-binary": "postgres-binary"}
	detail := fmt.Sprintf("%d rows: id bigint, name text, value double precision; COPY %s TO STDOUT through pgconn.CopyTo", copyOutRows, table)
	for b.Loop() {
		for _, v := range round("W11 copy out", variants, refOf, detail) {
			side, format, _ := strings.Cut(v, "-")
			c, srvPID := gc, g.cmd.Process.Pid
			if side == "postgres" {
				c, srvPID = pc, int(pc.PgConn().PID())
			}
			var w countWriter
			srv0, cli0 := procCPU(srvPID), procCPU(os.Getpid())
			start := time.Now()
			tag, err := c.PgConn().CopyTo(ctx, &w, "COPY "+table+" TO STDOUT"+formats[format])
			secs := time.Since(start).Seconds()
			if err != nil {
				b.Fatalf("%s: %v", v, err)
			}
			if tag.RowsAffected() != copyOutRows {
				b.Fatalf("%s: %s, want COPY %d", v, tag, copyOutRows)
			}
			record(b, "W11 copy out", v, sample{secs: secs, server: procCPU(srvPID) - srv0, client: procCPU(os.Getpid()) - cli0})
			b.ReportMetric(float64(w.n), v+"-bytes")
		}
	}
}

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
