//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

// W3, ingest: a materialized view over a CSV source (about 1 GB at the
// default size, the lineitem-shaped rows of W1, generated once by DuckDB)
// written to Parquet, against DuckDB's COPY (SELECT * FROM read_csv(...))
// TO 'file' (FORMAT PARQUET) in process.
//
// Target: at most 1.05x DuckDB's time.
func BenchmarkW3Ingest(b *testing.B) {
	dir := filepath.Join(benchDir(b), "csv")
	glob := filepath.Join(dir, "*.csv")
	var size int64
	once(b, "W3 csv", func() error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		file := filepath.Join(dir, "lineitem.csv")
		if _, err := reference(b).Exec(context.Background(), fmt.Sprintf("COPY (%s) TO '%s' (HEADER)", lineitemDuck(csvRows), file)); err != nil {
			return err
		}
		return nil
	})
	if fi, err := os.Stat(filepath.Join(dir, "lineitem.csv")); err == nil {
		size = fi.Size()
	}
	copyBench(b, copySet{
		name:   "W3 ingest",
		detail: fmt.Sprintf("%d rows, %.2f GB of CSV, 16 columns", csvRows, float64(size)/1e9),
		view:   "ingest",
		rows:   csvRows,
		setup: func(ctx context.Context, gc *pgx.Conn) error {
			if _, err := gc.Exec(ctx, fmt.Sprintf("CREATE SOURCE lineitem_csv FROM FILES '%s' WITH (format = 'csv', header = true)", glob)); err != nil {
				return err
			}
			_, err := gc.Exec(ctx, "CREATE MATERIALIZED VIEW ingest AS SELECT * FROM lineitem_csv WITH NO DATA")
			return err
		},
		refCopy: func(path, extra string) string {
			return fmt.Sprintf("COPY (SELECT * FROM read_csv('%s', header = true)) TO '%s' (FORMAT PARQUET%s)", glob, path, extra)
		},
	})
}
