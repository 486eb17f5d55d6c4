//go:build duckdb_arrow

package engine

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Sources that DuckDB cannot scan itself (Kafka, PostgreSQL, HTTP) reach it
// through one Go table function: name(arg, ...) binds its arguments to a
// ScanSource, whose parts DuckDB reads in parallel, one part per thread at a
// time, copying each Arrow batch into DuckDB's vectors (column by column,
// see arrowfill.go). A source's view is
// defined over the function, so SELECT, COPY, materialized views and
// pipelines all read it the same way.

// ScanSource is what a call of the function binds to: a schema, fixed
// when the statement is prepared, and a plan made afresh for each
// execution (a prepared statement executed twice reads new data).
type ScanSource interface {
	Schema() *arrow.Schema
	Plan(ctx context.Context) (ScanPlan, error)
}

// ScanPlan is one execution's read: independently readable parts.
type ScanPlan interface {
	Parts() int
	OpenPart(ctx context.Context, i int) (BatchReader, error)
}

// BatchReader yields record batches until io.EOF. The caller releases each
// batch before asking for the next.
type BatchReader interface {
	Next() (arrow.RecordBatch, error)
	Close() error
}

// ScanBinder binds a call's string arguments to a source.
type ScanBinder func(ctx context.Context, args []string) (ScanSource, error)

// MaxInt64Decimal is the largest precision of a decimal column the scan
// returns as its unscaled BIGINT (sqlplan.SourceScanSQL scales it back,
// exactly); wider decimals, and decimals inside lists, arrive as text.
const MaxInt64Decimal = 18

// scanTypeInfo is the DuckDB column type of an Arrow type a ScanSource may
// use; decimals are cast to their type by the view that wraps the function
// (connectors keep the precision in the field).
func scanTypeInfo(t arrow.DataType) (duckdb.TypeInfo, error) {
	if d, ok := t.(*arrow.Decimal128Type); ok && d.Precision <= MaxInt64Decimal {
		return duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	}
	return elemTypeInfo(t)
}

func elemTypeInfo(t arrow.DataType) (duckdb.TypeInfo, error) {
	var dt duckdb.Type
	switch t := t.(type) {
	case *arrow.BooleanType:
		dt = duckdb.TYPE_BOOLEAN
	case *arrow.Int16Type:
		dt = duckdb.TYPE_SMALLINT
	case *arrow.Int32Type:
		dt = duckdb.TYPE_INTEGER
	case *arrow.Int64Type:
		dt = duckdb.TYPE_BIGINT
	case *arrow.Float32Type:
		dt = duckdb.TYPE_FLOAT
	case *arrow.Float64Type:
		dt = duckdb.TYPE_DOUBLE
	case *arrow.StringType, *arrow.LargeStringType, *arrow.Decimal128Type:
		dt = duckdb.TYPE_VARCHAR
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		dt = duckdb.TYPE_BLOB
	case *arrow.Date32Type:
		dt = duckdb.TYPE_DATE
	case *arrow.TimestampType:
		dt = duckdb.TYPE_TIMESTAMP
		if t.TimeZone != "" {
			dt = duckdb.TYPE_TIMESTAMP_TZ
		}
	case *arrow.Time64Type:
		dt = duckdb.TYPE_TIME
	case *arrow.ListType:
		child, err := elemTypeInfo(t.Elem())
		if err != nil {
			return nil, err
		}
		return duckdb.NewListInfo(child)
	default:
		return nil, pgerr.Unsupported("a source column of Arrow type %s is not supported", t)
	}
	return duckdb.NewTypeInfo(dt)
}

// RegisterScan registers the table function name(VARCHAR × nargs) in the
// database; bind resolves each call. Each execution reads at most
// maxThreads parts at once (0 = 8): the bound on a scan's memory is that
// many batches in flight.
func (db *DB) RegisterScan(ctx context.Context, name string, nargs, maxThreads int, bind ScanBinder) error {
	if maxThreads <= 0 {
		maxThreads = 8
	}
	c, err := db.sqlDB.Conn(ctx)
	if err != nil {
		return Translate(err)
	}
	defer c.Close()
	args := make([]duckdb.TypeInfo, nargs)
	for i := range args {
		if args[i], err = duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR); err != nil {
			return err
		}
	}
	f := duckdb.ParallelChunkTableFunction{
		Config: duckdb.TableFunctionConfig{Arguments: args},
		BindArgumentsContext: func(ctx context.Context, _ map[string]any, vals ...any) (duckdb.ParallelChunkTableSource, error) {
			s := make([]string, len(vals))
			for i, v := range vals {
				if v == nil {
					return nil, fmt.Errorf("%s: argument %d is NULL", name, i+1)
				}
				s[i] = fmt.Sprint(v)
			}
			src, err := bind(ctx, s)
			if err != nil {
				return nil, udfError(err) // errors.go: keeps its SQLSTATE through DuckDB
			}
			return newScan(ctx, src, maxThreads)
		},
	}
	return duckdb.RegisterTableUDF(c, name, f)
}

// scan is a bound call of the table function. DuckDB reads it with up
// to maxThreads threads; Init starts each execution.
//
// DuckDB calls Init and FillChunk with no context: each execution reads
// under the context of the statement that runs it, found through the
// connection's statementContext the bind got, and its reads end when that
// statement ends (readContext in stmtctx.go; through database/sql, the
// bind's context is the statement's). So a cancelled or timed-out statement
// stops a connector's read in progress (a body still arriving, a fetch
// waiting), not only DuckDB's asking for the next chunk; an execution of a
// statement prepared long before reads under that execution's context,
// never the prepare's.
type scan struct {
	src        ScanSource
	maxThreads int
	infos      []duckdb.ColumnInfo
	stmt       *statementContext // the binding Conn's; nil through database/sql
	bound      context.Context   // the bind's, for a scan bound through database/sql
	mu         sync.Mutex
	exec       *execution
}

// execution is one run of a bound scan: its plan, made by the first thread
// that asks, and the next part to hand out.
type execution struct {
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	plan   ScanPlan
	err    error
	next   atomic.Int64
}

// newScan binds src; ctx is the bind's (stmtctx.go).
func newScan(ctx context.Context, src ScanSource, maxThreads int) (*scan, error) {
	s := &scan{src: src, maxThreads: maxThreads, stmt: statementOf(ctx)}
	if s.stmt == nil {
		s.bound = ctx
	}
	for _, f := range src.Schema().Fields() {
		ti, err := scanTypeInfo(f.Type)
		if err != nil {
			return nil, err
		}
		s.infos = append(s.infos, duckdb.ColumnInfo{Name: f.Name, T: ti})
	}
	return s, nil
}

func (s *scan) ColumnInfos() []duckdb.ColumnInfo     { return s.infos }
func (s *scan) Cardinality() *duckdb.CardinalityInfo { return nil }

func (s *scan) Init() duckdb.ParallelTableSourceInfo {
	ctx, cancel := s.readContext()
	e := &execution{ctx: ctx, cancel: cancel}
	s.mu.Lock()
	if s.exec != nil {
		s.exec.cancel()
	}
	s.exec = e
	s.mu.Unlock()
	return duckdb.ParallelTableSourceInfo{MaxThreads: s.maxThreads}
}

// reader is one thread's state: the part it reads and the batch it is
// copying from. An abandoned state (a cancelled query) closes its reader
// when collected.
type reader struct {
	exec *execution
	mu   sync.Mutex
	r    BatchReader
	cur  arrow.RecordBatch
	off  int
}

type readerHandle struct{ *reader }

func (s *scan) NewLocalState() any {
	s.mu.Lock()
	r := &reader{exec: s.exec}
	s.mu.Unlock()
	h := &readerHandle{r}
	runtime.AddCleanup(h, func(r *reader) { r.close() }, r)
	return h
}

func (r *reader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.r != nil {
		r.r.Close()
		r.r = nil
	}
}

// FillChunk fills chunk from the thread's part. A connector's error keeps
// its SQLSTATE through DuckDB (udfError): a broker or server lost in the
// middle of a read is a connection error (08xxx), not DuckDB's Invalid
// Input (22023).
func (s *scan) FillChunk(state any, chunk duckdb.DataChunk) error {
	if err := s.fillChunk(state, chunk); err != nil {
		return udfError(err) // errors.go
	}
	return nil
}

func (s *scan) fillChunk(state any, chunk duckdb.DataChunk) error {
	r := state.(*readerHandle).reader
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.exec
	e.once.Do(func() { e.plan, e.err = s.src.Plan(e.ctx) })
	if e.err != nil {
		return e.err
	}
	for r.cur == nil || r.off >= int(r.cur.NumRows()) {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		if r.r == nil {
			i := int(e.next.Add(1) - 1)
			if i >= e.plan.Parts() {
				return chunk.SetSize(0)
			}
			br, err := e.plan.OpenPart(e.ctx, i)
			if err != nil {
				return err
			}
			r.r = br
		}
		b, err := r.r.Next()
		if errors.Is(err, io.EOF) {
			r.r.Close()
			r.r = nil
			continue
		}
		if err != nil {
			return err
		}
		r.cur, r.off = b, 0
	}
	n := min(int(r.cur.NumRows())-r.off, duckdb.GetDataChunkCapacity())
	for col := range s.infos {
		vec, err := chunk.GetVector(col)
		if err != nil {
			continue // not projected
		}
		if fillColumnFast(&vec, r.cur.Column(col), r.off, n) {
			continue
		}
		if err := fillColumn(chunk, col, r.cur.Column(col), r.off, n); err != nil {
			return fmt.Errorf("column %s: %w", s.infos[col].Name, err)
		}
	}
	r.off += n
	return chunk.SetSize(n)
}

// fillColumn copies rows [off, off+n) of arr into the chunk's column col.
func fillColumn(chunk duckdb.DataChunk, col int, arr arrow.Array, off, n int) error {
	set := func(i int, v any) error { return chunk.SetValue(col, i, v) }
	switch a := arr.(type) {
	case *array.Boolean:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.Int16:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.Int32:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.Int64:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.Float32:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.Float64:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.String:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.LargeString:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.Binary:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.LargeBinary:
		return fill(chunk, col, a, off, n, a.Value)
	case *array.Decimal128:
		dt := a.DataType().(*arrow.Decimal128Type)
		if dt.Precision <= MaxInt64Decimal { // the unscaled value fits: no text
			return fill(chunk, col, a, off, n, func(i int) int64 { return int64(a.Value(i).LowBits()) })
		}
		return fill(chunk, col, a, off, n, func(i int) string { return a.Value(i).ToString(dt.Scale) })
	case *array.Date32:
		return fill(chunk, col, a, off, n, func(i int) time.Time { return a.Value(i).ToTime() })
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return fill(chunk, col, a, off, n, func(i int) time.Time { return a.Value(i).ToTime(unit).UTC() })
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		return fill(chunk, col, a, off, n, func(i int) time.Time { return a.Value(i).ToTime(unit) })
	case *array.List:
		for i := range n {
			row := off + i
			if a.IsNull(row) {
				if err := set(i, nil); err != nil {
					return err
				}
				continue
			}
			start, end := a.ValueOffsets(row)
			vals := make([]any, 0, end-start)
			for j := int(start); j < int(end); j++ {
				vals = append(vals, scalarValue(a.ListValues(), j))
			}
			if err := set(i, vals); err != nil {
				return err
			}
		}
		return nil
	}
	return pgerr.New(pgerrcode.FeatureNotSupported, "a source column of Arrow type %s is not supported", arr.DataType())
}

// fill writes one typed column, NULLs included.
func fill[T any](chunk duckdb.DataChunk, col int, a arrow.Array, off, n int, value func(int) T) error {
	nulls := a.NullN() > 0
	for i := range n {
		row := off + i
		if nulls && a.IsNull(row) {
			if err := chunk.SetValue(col, i, nil); err != nil {
				return err
			}
			continue
		}
		if err := duckdb.SetChunkValue(chunk, col, i, value(row)); err != nil {
			return err
		}
	}
	return nil
}

// scalarValue is element j of a list's values, as duckdb-go takes it.
func scalarValue(a arrow.Array, j int) any {
	if a.IsNull(j) {
		return nil
	}
	switch a := a.(type) {
	case *array.Boolean:
		return a.Value(j)
	case *array.Int16:
		return a.Value(j)
	case *array.Int32:
		return a.Value(j)
	case *array.Int64:
		return a.Value(j)
	case *array.Float32:
		return a.Value(j)
	case *array.Float64:
		return a.Value(j)
	case *array.String:
		return a.Value(j)
	case *array.Binary:
		return a.Value(j)
	case *array.Decimal128:
		return a.Value(j).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Date32:
		return a.Value(j).ToTime()
	case *array.Timestamp:
		return a.Value(j).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC()
	}
	return a.ValueStr(j)
}

// ListFunction computes a list of strings from one string argument; see
// RegisterListFunction.
type ListFunction func(ctx context.Context, arg string) ([]string, error)

// RegisterListFunction registers the scalar function name(VARCHAR) →
// VARCHAR[]. DuckDB folds a call with a constant argument when it binds the
// statement, so a call inside a table function's arguments
// (read_parquet(name('s3://...'))) runs once per bind: that is how object
// storage sources turn a URL into the local files of the cache.
func (db *DB) RegisterListFunction(ctx context.Context, name string, fn ListFunction) error {
	c, err := db.sqlDB.Conn(ctx)
	if err != nil {
		return Translate(err)
	}
	defer c.Close()
	vt, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	if err != nil {
		return err
	}
	lt, err := duckdb.NewListInfo(vt)
	if err != nil {
		return err
	}
	return duckdb.RegisterScalarUDF(c, name, listFunc{in: vt, out: lt, fn: fn})
}

type listFunc struct {
	in, out duckdb.TypeInfo
	fn      ListFunction
}

func (f listFunc) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{f.in}, ResultTypeInfo: f.out}
}

func (f listFunc) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowContextExecutor: func(ctx context.Context, values []driver.Value) (any, error) {
		arg, ok := values[0].(string)
		if !ok {
			return nil, fmt.Errorf("argument must be text, got %T", values[0])
		}
		out, err := f.fn(ctx, arg)
		if err != nil {
			return nil, udfError(err) // errors.go
		}
		list := make([]any, len(out))
		for i, s := range out {
			list[i] = s
		}
		return list, nil
	}}
}
