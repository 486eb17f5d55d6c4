package materialize

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/sqlplan"
)

// orderRows is enough rows for DuckDB to write an unordered COPY with
// more than one thread (measured: 2 or 3 runs out of order at 3M rows
// when an ORDER BY is not kept).
const orderRows = 3_000_017

// shuffled is orderRows distinct keys in an order unrelated to their value.
const shuffled = "SELECT (i * 7919) % 3000017 AS k FROM range(3000017) t(i)"

// outOfOrder counts the rows of a Parquet file (or glob) not below the
// row before them in the file; rows counts all.
func outOfOrder(t *testing.T, h *harness, glob string) (bad, rows int64) {
	t.Helper()
	q := fmt.Sprintf(`SELECT count(*) FILTER (WHERE k >= prev), count(*) FROM (
		SELECT k, lag(k) OVER (ORDER BY filename, file_row_number) AS prev FROM read_parquet('%s', file_row_number = true, filename = true))`, glob)
	if err := h.db.SQL().QueryRowContext(t.Context(), q).Scan(&bad, &rows); err != nil {
		t.Fatal(err)
	}
	return bad, rows
}

// A refresh drops insertion order only when DuckDB's plan of the query
// depends on no order: the rows of a view whose query has ORDER BY are in
// the file in that order; an order-free view's rows are all there.
func TestRefreshKeepsOrderBy(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	conn, err := h.db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE VIEW main.desc_keys AS "+shuffled+" ORDER BY k DESC"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		free  bool
	}{
		{shuffled, true},
		{"SELECT k % 7 AS g, count(*) AS n FROM (" + shuffled + ") GROUP BY g", true},
		{shuffled + " ORDER BY k DESC", false},
		{"SELECT k FROM main.desc_keys", false}, // the view's ORDER BY
		{"SELECT * FROM (" + shuffled + " ORDER BY k) WHERE k > 5", false},
		{shuffled + " LIMIT 10", false},
		{"SELECT k, row_number() OVER () AS n FROM (" + shuffled + ")", false},
	} {
		if got := orderFree(ctx, conn, c.query); got != c.free {
			t.Errorf("orderFree(%s) = %v, want %v", c.query, got, c.free)
		}
	}
	if orderFree(ctx, conn, "SELECT * FROM no_such_table") {
		t.Error("a query that cannot be planned must keep the order")
	}

	for _, c := range []struct {
		name, query string
		ordered     bool
	}{
		{"ordered", shuffled + " ORDER BY k DESC", true},
		{"through_view", "SELECT k FROM main.desc_keys", true},
		{"unordered", shuffled, false},
	} {
		v := h.view(t, c.name, c.query, nil, nil)
		run, err := h.mat.Refresh(ctx, v, "manual", nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if run.RowsOut != orderRows {
			t.Fatalf("%s: %d rows written, want %d", c.name, run.RowsOut, orderRows)
		}
		got, err := h.cat.GetView(ctx, catalog.Ref{Schema: "main", Name: c.name})
		if err != nil {
			t.Fatal(err)
		}
		bad, rows := outOfOrder(t, h, filepath.Join(got.VersionPath, "*.parquet"))
		if rows != orderRows {
			t.Fatalf("%s: %d rows read back, want %d", c.name, rows, orderRows)
		}
		if c.ordered && bad != 0 {
			t.Errorf("%s: %d rows out of the query's ORDER BY in the written file", c.name, bad)
		}
		var distinct, sum int64
		if err := h.db.SQL().QueryRowContext(ctx, "SELECT count(DISTINCT k), sum(k) FROM main."+c.name).Scan(&distinct, &sum); err != nil {
			t.Fatal(err)
		}
		if distinct != orderRows || sum != orderRows*(orderRows-1)/2 {
			t.Errorf("%s: %d distinct keys summing to %d, want every key of 0..%d once", c.name, distinct, sum, orderRows-1)
		}
	}
}

// A pipeline run's file keeps the order of its query's ORDER BY, however
// many rows it writes.
func TestPipelineKeepsOrderBy(t *testing.T) {
	f := newSchedFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := f.cat.DB().ExecContext(ctx, "COPY ("+shuffled+") TO '"+filepath.Join(dir, "keys.parquet")+"' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	scan, err := files.New(filepath.Join(dir, "*.parquet"), dir, map[string]string{"format": "parquet"})
	if err != nil {
		t.Fatal(err)
	}
	src := catalog.Ref{Schema: "public", Name: "keys"}
	sid, _ := f.cat.NextID(ctx)
	if err := f.cat.CreateSource(ctx, catalog.Source{ID: sid, Ref: src, Connector: "files", Location: scan.Path, Options: scan.Options}, scan.SQL()); err != nil {
		t.Fatal(err)
	}
	m := f.sched.opts.Materializer
	cols := []sqlplan.Column{{Name: "k", Type: "BIGINT"}}
	for _, c := range []struct {
		name, query string
		ordered     bool
	}{
		{"pipe_ordered", "SELECT k FROM keys ORDER BY k DESC", true},
		{"pipe_unordered", "SELECT k FROM keys", false},
	} {
		ref := catalog.Ref{Schema: "public", Name: c.name}
		pid, _ := f.cat.NextID(ctx)
		p := catalog.Pipeline{ID: pid, Ref: ref, Query: c.query, PartitionBy: []string{}, Options: map[string]string{},
			Refresh: "manual", Status: "empty", Columns: []catalog.Column{{Name: "k", Type: "BIGINT"}}, Sources: []string{"keys"}, Path: m.PipelinePath(pid)}
		if err := f.cat.CreatePipeline(ctx, p, []catalog.Dependency{{Object: ref, ObjectKind: catalog.KindPipeline, DependsOn: src, DependsOnKind: catalog.KindSource}},
			sqlplan.EmptyViewSQL(cols)); err != nil {
			t.Fatal(err)
		}
		run, err := m.RefreshPipeline(ctx, ref, "manual", nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if run.RowsOut != orderRows {
			t.Fatalf("%s: %d rows written, want %d", c.name, run.RowsOut, orderRows)
		}
		var bad, rows int64
		q := fmt.Sprintf(`SELECT count(*) FILTER (WHERE k >= prev), count(*) FROM (
			SELECT k, lag(k) OVER (ORDER BY filename, file_row_number) AS prev FROM read_parquet('%s', file_row_number = true, filename = true))`,
			filepath.Join(m.PipelinePath(pid), "data", "*.parquet"))
		if err := f.cat.DB().QueryRowContext(ctx, q).Scan(&bad, &rows); err != nil {
			t.Fatal(err)
		}
		if rows != orderRows {
			t.Fatalf("%s: %d rows read back, want %d", c.name, rows, orderRows)
		}
		if c.ordered && bad != 0 {
			t.Errorf("%s: %d rows out of the query's ORDER BY in the written file", c.name, bad)
		}
	}
}
