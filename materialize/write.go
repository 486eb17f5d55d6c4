package materialize

// Writing a refresh's files: DuckDB's partitioned COPY and the files it
// reports, large files split, and the per-partition statistics.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sqlplan"
)

type writtenFile struct {
	path  string
	rows  int64
	bytes int64
}

// orderFree reports whether query's rows may be written in any order: its
// plan, as DuckDB makes it on conn, depends on no order of rows
// (sqlplan.OrderFree). Any doubt (the plan cannot be made or read) keeps
// the order; a query that cannot be planned fails in the COPY that
// follows, with its own error.
func orderFree(ctx context.Context, conn *sql.Conn, query string) bool {
	var key, plan string
	if err := conn.QueryRowContext(ctx, sqlplan.OrderSQL(query)).Scan(&key, &plan); err != nil {
		return false
	}
	free, err := sqlplan.OrderFree(plan)
	return err == nil && free
}

// copyFiles runs a COPY ... RETURN_STATS and returns the files it wrote.
func copyFiles(ctx context.Context, conn *sql.Conn, copySQL string) ([]writtenFile, error) {
	rows, err := conn.QueryContext(ctx, copySQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	for _, need := range []string{"filename", "count", "file_size_bytes"} {
		if _, ok := idx[need]; !ok {
			return nil, pgerr.New("XX000", "COPY RETURN_STATS did not return column %q", need)
		}
	}
	var files []writtenFile
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		files = append(files, writtenFile{
			path:  fmt.Sprint(vals[idx["filename"]]),
			rows:  toInt64(vals[idx["count"]]),
			bytes: toInt64(vals[idx["file_size_bytes"]]),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// DuckDB may report a file that ended up empty; keep only real files.
	// A file it wrote rows to exists: only those without rows are looked
	// at (no stat per file of a 2,500-partition write).
	out := files[:0]
	for _, f := range files {
		if f.rows > 0 {
			out = append(out, f)
			continue
		}
		if _, err := os.Stat(f.path); err == nil {
			out = append(out, f)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return out, nil
}

// splitLarge rewrites each file larger than target (by a quarter, so a file
// just over the target is left alone) into files of about target bytes in
// the same partition directory.
func splitLarge(ctx context.Context, conn *sql.Conn, files []writtenFile, target int64, compression string) ([]writtenFile, error) {
	var out []writtenFile
	for i, f := range files {
		if f.bytes <= target+target/4 {
			out = append(out, f)
			continue
		}
		tmp := filepath.Join(filepath.Dir(f.path), ".split-"+strconv.Itoa(i))
		parts, err := copyFiles(ctx, conn, sqlplan.SplitSQL(f.path, tmp, target, compression))
		if err != nil {
			return nil, err
		}
		if err := os.Remove(f.path); err != nil {
			return nil, err
		}
		for j, p := range parts {
			dst := filepath.Join(filepath.Dir(f.path), fmt.Sprintf("part_%d_%d.parquet", i, j))
			if err := os.Rename(p.path, dst); err != nil {
				return nil, err
			}
			p.path = dst
			out = append(out, p)
		}
		if err := os.Remove(tmp); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case uint64:
		return int64(n)
	case int:
		return int64(n)
	}
	i, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	return i
}

// partitionStats groups written files by their partition directory
// (relative to the staging root, e.g. "day=2024-11-14").
func partitionStats(root string, files []writtenFile) []catalog.PartitionStat {
	by := map[string]*catalog.PartitionStat{}
	for _, f := range files {
		rel, err := filepath.Rel(root, filepath.Dir(f.path))
		if err != nil || rel == "." {
			rel = ""
		}
		rel = filepath.ToSlash(rel)
		ps, ok := by[rel]
		if !ok {
			ps = &catalog.PartitionStat{Partition: rel}
			by[rel] = ps
		}
		ps.Files++
		ps.Rows += f.rows
		ps.Bytes += f.bytes
	}
	out := make([]catalog.PartitionStat, 0, len(by))
	for _, ps := range by {
		out = append(out, *ps)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}
