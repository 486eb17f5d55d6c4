package ddl

import (
	"context"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/sql"
)

// backfill runs REFRESH MATERIALIZED VIEW v PARTITION (col = value, ...):
// only the selected partitions are recomputed; the others' files are
// linked into the new version unchanged.
func (x *Executor) backfill(ctx context.Context, v catalog.View, st *sql.Refresh, progress func(string)) (Result, error) {
	pairs := make([][2]string, len(st.Partition))
	for i, p := range st.Partition {
		pairs[i] = [2]string{p.Column, p.Value.Text}
	}
	if _, err := x.mat.Backfill(ctx, v, pairs, progress); err != nil {
		return Result{}, err
	}
	return done("REFRESH MATERIALIZED VIEW"), nil
}
