//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// stallSource is one part of three rows and then, while stall is set, a
// read that waits for its context (at most hold) before it ends: a
// connector blocked in the middle of a body. Each stalled read records how
// it ended.
type stallSource struct {
	schema *arrow.Schema
	stall  atomic.Bool
	hold   time.Duration
	ended  chan error // how each stalled read ended: its context's error, or nil after hold
}

func (s *stallSource) Schema() *arrow.Schema                  { return s.schema }
func (s *stallSource) Plan(context.Context) (ScanPlan, error) { return s, nil }
func (s *stallSource) Parts() int                             { return 1 }
func (s *stallSource) OpenPart(ctx context.Context, _ int) (BatchReader, error) {
	return &stallReader{s: s, ctx: ctx}, nil
}

type stallReader struct {
	s    *stallSource
	ctx  context.Context
	sent bool
}

func (r *stallReader) Close() error { return nil }
func (r *stallReader) Next() (arrow.RecordBatch, error) {
	if !r.sent {
		r.sent = true
		b := array.NewRecordBuilder(memory.DefaultAllocator, r.s.schema)
		defer b.Release()
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
		return b.NewRecordBatch(), nil
	}
	if !r.s.stall.Load() {
		return nil, io.EOF
	}
	select {
	case <-r.ctx.Done():
		r.s.ended <- r.ctx.Err()
		return nil, pgerr.New(pgerrcode.QueryCanceled, "read canceled: %v", r.ctx.Err())
	case <-time.After(r.s.hold):
		r.s.ended <- nil
		return nil, io.EOF
	}
}

// TestScanReadsUnderStatementContext checks that a statement's deadline or
// cancel reaches a scan's read in progress, not only DuckDB: the read
// stops at once instead of when it next returns. A statement prepared
// under a context that ends later runs each execution under that
// execution's context, and an execution after a cancelled one is not
// affected. The bind sees the context of the statement that binds it.
func TestScanReadsUnderStatementContext(t *testing.T) {
	db, c := openTest(t)
	src := &stallSource{
		schema: arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil),
		hold:   10 * time.Second,
		ended:  make(chan error, 8),
	}
	type key struct{}
	var bindSaw atomic.Value
	err := db.RegisterScan(context.Background(), "stall_scan", 1, 2, func(ctx context.Context, _ []string) (ScanSource, error) {
		v, _ := ctx.Value(key{}).(string)
		bindSaw.Store(v)
		return src, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// count runs r (a Query or a Stmt's Run) and reads its one value.
	count := func(res *Result, err error) (string, error) {
		if err != nil {
			return "", err
		}
		defer res.Rows.Close()
		if !res.Rows.Next() {
			return "", res.Rows.Err()
		}
		return res.Rows.Batch().Column(0).ValueStr(0), nil
	}
	const q = "SELECT count(*) FROM stall_scan('x')"
	// stalled runs run under a context that ends after 300 ms (by its
	// deadline, or cancelled), and checks that the stalled read ended
	// with it, promptly, and the statement with 57014.
	stalled := func(what string, run func(context.Context) (*Result, error), deadline bool) {
		t.Helper()
		src.stall.Store(true)
		defer src.stall.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		want := context.DeadlineExceeded
		if !deadline {
			ctx, cancel = context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(300*time.Millisecond, cancel)
			want = context.Canceled
		}
		start := time.Now()
		got, err := count(run(ctx))
		took := time.Since(start)
		if pgerr.Code(err) != pgerrcode.QueryCanceled {
			t.Fatalf("%s: got %q, %v; want 57014", what, got, err)
		}
		select {
		case readErr := <-src.ended:
			if !errors.Is(readErr, want) {
				t.Fatalf("%s: the stalled read ended with %v, want %v (its statement's context)", what, readErr, want)
			}
		default:
			t.Fatalf("%s: the statement ended (%v) while its read still waits", what, err)
		}
		if took > 3*time.Second {
			t.Fatalf("%s: took %v; the statement's context ended after 300 ms (the read would wait %v)", what, took, src.hold)
		}
		t.Logf("%s: 57014 after %v", what, took.Round(time.Millisecond))
	}
	stalled("query past its deadline", func(ctx context.Context) (*Result, error) { return c.Run(ctx, q) }, true)

	// Prepared under a context that ends right after: the executions
	// read under their own.
	pctx, pcancel := context.WithCancel(context.WithValue(context.Background(), key{}, "prepare"))
	st, err := c.Prepare(pctx, q)
	pcancel()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := bindSaw.Load(); got != "prepare" {
		t.Fatalf("the bind saw the context value %q, want the preparing statement's", got)
	}
	if got, err := count(st.Run(context.Background())); got != "3" || err != nil {
		t.Fatalf("execution after the prepare's context ended: %q, %v", got, err)
	}
	runStmt := func(ctx context.Context) (*Result, error) { return st.Run(ctx) }
	stalled("prepared statement cancelled", runStmt, false)
	if got, err := count(st.Run(context.Background())); got != "3" || err != nil {
		t.Fatalf("execution after a cancelled one: %q, %v", got, err)
	}
	stalled("prepared statement past its deadline", runStmt, true)
	if got, err := count(c.Run(context.Background(), q)); got != "3" || err != nil {
		t.Fatalf("query after the cancelled executions: %q, %v", got, err)
	}

	// Through database/sql (the materializer's refreshes): duckdb-go
	// hands the bind the call's context, and the reads follow it.
	sc, err := db.SQL().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	stalled("database/sql query past its deadline", func(ctx context.Context) (*Result, error) {
		var n int64
		if err := sc.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return nil, Translate(err)
		}
		return nil, fmt.Errorf("got %d rows", n)
	}, true)
	var n int64
	if err := sc.QueryRowContext(context.Background(), q).Scan(&n); err != nil || n != 3 {
		t.Fatalf("database/sql query after the timed-out one: %d, %v", n, err)
	}
}
