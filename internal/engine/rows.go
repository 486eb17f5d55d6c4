//go:build duckdb_arrow

package engine

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/arrowmapping"
	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/sluice-db/sluice/internal/pgcodec"
)

// Rows is a streamed result: DuckDB produces one chunk (up to 2048 rows)
// per Next, converted to an Arrow record batch. It keeps the context of the
// statement that opened it, so cancelling that context interrupts the
// query while rows are being fetched.
type Rows struct {
	ctx    context.Context
	c      *Conn
	res    mapping.Result
	ps     *mapping.PreparedStatement // destroyed on Close when owned
	end    func()                     // ends the statement (stmtctx.go)
	query  string
	opts   arrowmapping.ArrowOptions
	schema *arrow.Schema
	cols   []pgcodec.Column
	cur    arrow.RecordBatch
	err    error
	closed bool
}

func newRows(ctx context.Context, c *Conn, res mapping.Result, query string) (*Rows, error) {
	r := &Rows{ctx: ctx, c: c, res: res, query: query, opts: arrowmapping.ResultGetArrowOptions(&res)}
	n := mapping.ColumnCount(&r.res)
	names := make([]string, n)
	types := make([]mapping.LogicalType, n)
	for i := range n {
		names[i] = mapping.ColumnName(&r.res, i)
		types[i] = mapping.ColumnLogicalType(&r.res, i)
	}
	schema, ed := arrowmapping.NewArrowSchema(r.opts, types, names)
	for i := range types {
		mapping.DestroyLogicalType(&types[i])
	}
	if err := errorData(ed); err != nil {
		r.closed = true
		arrowmapping.DestroyArrowOptions(&r.opts)
		mapping.DestroyResult(&r.res)
		return nil, Translate(err)
	}
	r.schema = schema
	r.cols = pgcodec.ColumnsFromSchema(schema)
	return r, nil
}

// errorData turns DuckDB error data into an error, destroying it.
func errorData(ed mapping.ErrorData) error {
	defer mapping.DestroyErrorData(&ed)
	if !mapping.ErrorDataHasError(ed) {
		return nil
	}
	return &duckdb.Error{Type: duckdb.ErrorType(mapping.ErrorDataErrorType(ed)), Msg: mapping.ErrorDataMessage(ed)}
}

// Columns describes the result columns.
func (r *Rows) Columns() []pgcodec.Column { return r.cols }

// Schema returns the Arrow schema of the batches.
func (r *Rows) Schema() *arrow.Schema { return r.schema }

// Next fetches the next batch. It returns false at the end or on error.
func (r *Rows) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.closed || r.err != nil {
		return false
	}
	if err := r.ctx.Err(); err != nil {
		r.err = Translate(err)
		return false
	}
	stop := r.c.interruptOn(r.ctx)
	chunk := mapping.FetchChunk(r.res)
	stop()
	if chunk.Ptr == nil {
		if msg := mapping.ResultError(&r.res); msg != "" {
			r.err = resultError(r.ctx, &r.res, r.query)
		} else if err := r.ctx.Err(); err != nil {
			r.err = Translate(err)
		}
		return false
	}
	rec, ed := arrowmapping.DataChunkToArrowArray(r.opts, r.schema, chunk)
	mapping.DestroyDataChunk(&chunk)
	if err := errorData(ed); err != nil {
		r.err = Translate(err)
		return false
	}
	r.cur = rec
	return true
}

// Batch returns the current batch, valid until the next call to Next or
// Close.
func (r *Rows) Batch() arrow.RecordBatch { return r.cur }

// Err returns the error that ended the iteration, if any.
func (r *Rows) Err() error { return r.err }

// Close releases the result; called early, it stops the query.
func (r *Rows) Close() error {
	if r.closed {
		return r.err
	}
	r.closed = true
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.end != nil {
		// First: a read still in progress (a result closed early) stops
		// now rather than hold up the result's destruction.
		r.end()
		r.end = nil
	}
	arrowmapping.DestroyArrowOptions(&r.opts)
	mapping.DestroyResult(&r.res)
	if r.ps != nil {
		mapping.DestroyPrepare(r.ps)
		r.ps = nil
	}
	if r.c.active == r {
		r.c.active = nil
	}
	return r.err
}
