package gateway

import (
	"context"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/wire"
)

// backfill runs REFRESH MATERIALIZED VIEW v PARTITION (col = value, ...):
// only the selected partitions are recomputed; the others' files are
// linked into the new version unchanged.
func (s *session) backfill(ctx context.Context, v catalog.View, st *sql.Refresh, w wire.ResultWriter) (*cursor, error) {
	pairs := make([][2]string, len(st.Partition))
	for i, p := range st.Partition {
		pairs[i] = [2]string{p.Column, p.Value.Text}
	}
	if _, err := s.g.mat.Backfill(ctx, v, pairs, s.progress(w)); err != nil {
		return nil, err
	}
	return s.done("REFRESH MATERIALIZED VIEW"), nil
}
