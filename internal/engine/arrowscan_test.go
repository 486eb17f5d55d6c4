//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// memSource is an in-memory ScanSource: parts of rows numbered from 0,
// each part several batches; plans counts executions.
type memSource struct {
	schema *arrow.Schema
	parts  int
	rows   int // per part
	batch  int
	plans  atomic.Int64
	fail   error // returned by OpenPart
}

func (m *memSource) Schema() *arrow.Schema { return m.schema }
func (m *memSource) Plan(context.Context) (ScanPlan, error) {
	m.plans.Add(1)
	return m, nil
}
func (m *memSource) Parts() int { return m.parts }
func (m *memSource) OpenPart(_ context.Context, i int) (BatchReader, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	return &memReader{m: m, part: i}, nil
}

type memReader struct {
	m    *memSource
	part int
	done int
}

func (r *memReader) Close() error { return nil }
func (r *memReader) Next() (arrow.RecordBatch, error) {
	if r.done >= r.m.rows {
		return nil, io.EOF
	}
	n := min(r.m.batch, r.m.rows-r.done)
	b := array.NewRecordBuilder(memory.DefaultAllocator, r.m.schema)
	defer b.Release()
	for i := range n {
		id := int64(r.part*r.m.rows + r.done + i)
		b.Field(0).(*array.Int64Builder).Append(id)
		if id%10 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append("s" + string(rune('a'+id%26)))
		}
		b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(id * 125))
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(id * 1_000_000))
		lb := b.Field(4).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{int32(id), 7}, nil)
	}
	r.done += n
	return b.NewRecordBatch(), nil
}

func TestScanFunction(t *testing.T) {
	db, c := openTest(t)
	ctx := context.Background()
	src := &memSource{
		schema: arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "d", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}},
			{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
			{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		}, nil),
		parts: 5, rows: 10_000, batch: 3000,
	}
	var bound atomic.Int64
	err := db.RegisterScan(ctx, "test_scan", 1, 4, func(_ context.Context, args []string) (ScanSource, error) {
		if args[0] != "mem" {
			return nil, errors.New("no source " + args[0])
		}
		bound.Add(1)
		return src, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	query := func(q string) string {
		t.Helper()
		rows, err := c.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			b := rows.Batch()
			for i := range int(b.NumRows()) {
				var cells []string
				for _, col := range b.Columns() {
					cells = append(cells, col.ValueStr(i))
				}
				out = append(out, strings.Join(cells, "|"))
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return strings.Join(out, "\n")
	}
	if got, want := query("SELECT count(*), count(s), sum(id)::BIGINT, sum(d)::VARCHAR, max(ts)::VARCHAR, sum(l[1])::BIGINT FROM test_scan('mem')"),
		"50000|45000|1249975000|156246875000|1970-01-01 13:53:19+00|1249975000"; got != want {
		t.Fatalf("aggregate: %s, want %s", got, want)
	}
	if got := query("SELECT id, s, d, l FROM test_scan('mem') WHERE id IN (0, 1, 42) ORDER BY id"); got != "0|(null)|0|[0,7]\n1|sb|125|[1,7]\n42|sq|5250|[42,7]" {
		t.Fatalf("rows: %q", got)
	}
	// A prepared statement plans again at each execution.
	before := src.plans.Load()
	st, err := c.Prepare(ctx, "SELECT count(*) FROM test_scan('mem')")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for range 2 {
		res, err := st.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res.Rows.Close()
	}
	if got := src.plans.Load() - before; got != 2 {
		t.Fatalf("two executions planned %d times", got)
	}
	// A read error is the statement's error, and the connection goes on.
	src.fail = errors.New("broker gone")
	if _, err := c.Query(ctx, "SELECT count(*) FROM test_scan('mem')"); err == nil || !strings.Contains(err.Error(), "broker gone") {
		t.Fatalf("failing read: %v", err)
	}
	// A connector's SQLSTATE survives DuckDB: a broker lost mid-read is
	// 08006, not Invalid Input's 22023.
	src.fail = pgerr.New(pgerrcode.ConnectionFailure, "broker lost mid-read")
	_, err = c.Query(ctx, "SELECT count(*) FROM test_scan('mem')")
	if pe := pgerr.As(err); err == nil || pe.Code != pgerrcode.ConnectionFailure || pe.Message != "broker lost mid-read" {
		t.Fatalf("failing read with a SQLSTATE: %v", err)
	}
	if _, err := c.Query(ctx, "SELECT * FROM test_scan('nope')"); err == nil || !strings.Contains(err.Error(), "no source nope") {
		t.Fatalf("bad bind: %v", err)
	}
	if got := query("SELECT 1"); got != "1" {
		t.Fatal(got)
	}
}

func TestListFunctionFoldsIntoTableFunction(t *testing.T) {
	db, c := openTest(t)
	ctx := context.Background()
	dir := t.TempDir()
	file := dir + "/x.parquet"
	if _, err := c.Exec(ctx, "COPY (SELECT 41 AS a UNION ALL SELECT 1) TO '"+file+"'"); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	err := db.RegisterListFunction(ctx, "test_files", func(_ context.Context, arg string) ([]string, error) {
		calls.Add(1)
		if arg != "s3://b/x" {
			return nil, errors.New("no such object " + arg)
		}
		return []string{file}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.Query(ctx, "SELECT sum(a)::BIGINT FROM read_parquet(test_files('s3://b/x'))")
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() || rows.Batch().Column(0).ValueStr(0) != "42" {
		t.Fatalf("sum: %v", rows.Err())
	}
	rows.Close()
	if calls.Load() == 0 {
		t.Fatal("the function was not called")
	}
	if _, err := c.Query(ctx, "SELECT * FROM read_parquet(test_files('s3://b/y'))"); err == nil || !strings.Contains(err.Error(), "no such object") {
		t.Fatalf("failing call: %v", err)
	}
}
