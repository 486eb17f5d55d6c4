package materialize

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/sqlplan"
)

// Backfill recomputes the partitions of v selected by partition (column,
// value pairs of REFRESH ... PARTITION (...)) and publishes a new version
// made of the recomputed partitions and, as hard links, the current
// version's other files: those are neither read nor rewritten. The run's
// trigger is "backfill"; retries, timeout and quality gates apply as to a
// full refresh (the constraints are checked on the recomputed rows).
func (m *Materializer) Backfill(ctx context.Context, v catalog.View, partition [][2]string, progress Progress) (*catalog.Run, error) {
	unlock := m.lock(v.ID)
	defer unlock()
	if progress == nil {
		progress = func(string) {}
	}
	v, err := m.opts.Catalog.GetView(ctx, v.Ref)
	if err != nil {
		return nil, err
	}
	conn, err := m.conn(ctx)
	if err != nil {
		return nil, err
	}
	if err := m.authorize(ctx, conn, v.Ref, v.Query); err != nil {
		conn.Close()
		return nil, err
	}
	cols, err := describe(ctx, conn, v.Query)
	if err != nil {
		conn.Close()
		return nil, m.translate(err)
	}
	filters, err := sqlplan.BindPartition(cols, v.PartitionBy, partition)
	if err == nil {
		// A value its column's type cannot hold fails here (22P02,
		// 22007, 22008), before any run is recorded.
		_, err = partitionValues(ctx, conn, filters)
	}
	conn.Close()
	if err != nil {
		return nil, m.translate(err)
	}
	return m.attempts(ctx, m.viewAttempt(v, progress, filters), "backfill", progress)
}

// partitionValues returns DuckDB's text of each filter's typed value, by
// column: how the partition's directory is named.
func partitionValues(ctx context.Context, conn *sql.Conn, filters []sqlplan.PartitionFilter) (map[string]string, error) {
	vals := make([]sql.NullString, len(filters))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := conn.QueryRowContext(ctx, sqlplan.PartitionValuesSQL(filters)).Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(filters))
	for i, f := range filters {
		out[f.Column] = vals[i].String
	}
	return out, nil
}

// backfill is a planned partition backfill.
type backfill struct {
	query       string            // the view's query restricted to the partitions
	values      map[string]string // column -> DuckDB's text of the value
	current     []catalog.PartitionStat
	currentPath string
}

func (m *Materializer) planBackfill(ctx context.Context, conn *sql.Conn, v catalog.View, filters []sqlplan.PartitionFilter) (*backfill, error) {
	values, err := partitionValues(ctx, conn, filters)
	if err != nil {
		return nil, err
	}
	b := &backfill{query: sqlplan.BackfillQuery(v.Query, filters), values: values, currentPath: v.VersionPath}
	if v.Version > 0 {
		if b.current, err = m.opts.Catalog.Partitions(ctx, v.ID); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// linkKept hard-links the files of every current partition that was not
// recomputed into staging, beside the recomputed ones, and returns the
// new version's partitions. A recomputed partition that is now empty is
// simply absent. When the current version was written with another
// encryption key than key (an ALTER changed the option), the kept files
// are rewritten instead, decrypted with the old key and encrypted with the
// new one, so that the new version has one key, as its view reads it.
func (m *Materializer) linkKept(ctx context.Context, b *backfill, v catalog.View, staging string, recomputed []catalog.PartitionStat, key string) ([]catalog.PartitionStat, error) {
	var from, to []byte
	rekey := v.VersionKey != key
	if rekey {
		var err error
		if from, err = m.key(v.VersionKey); err != nil {
			return nil, err
		}
		if to, err = m.key(key); err != nil {
			return nil, err
		}
	}
	fresh := make(map[string]bool, len(recomputed))
	for _, p := range recomputed {
		fresh[p.Partition] = true
	}
	stats := append([]catalog.PartitionStat(nil), recomputed...)
	for _, p := range b.current {
		if p.Partition == "" || fresh[p.Partition] || sqlplan.InPartitions(p.Partition, b.values) {
			continue
		}
		src := filepath.Join(b.currentPath, filepath.FromSlash(p.Partition))
		dst := filepath.Join(staging, filepath.FromSlash(p.Partition))
		entries, err := os.ReadDir(src)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, err
		}
		var bytes int64
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			if !rekey {
				if err := os.Link(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
					return nil, err
				}
				continue
			}
			out := filepath.Join(dst, e.Name())
			if err := rewriteParquet(ctx, filepath.Join(src, e.Name()), out, from, to); err != nil {
				return nil, err
			}
			fi, err := os.Stat(out)
			if err != nil {
				return nil, err
			}
			bytes += fi.Size()
		}
		if rekey {
			p.Bytes = bytes
		}
		stats = append(stats, p)
	}
	sort.Slice(stats, func(i, j int) bool { return stats[i].Partition < stats[j].Partition })
	return stats, nil
}
