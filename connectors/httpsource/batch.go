package httpsource

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batchReader is what the CSV and JSON readers share: the response body,
// the batch being built, and how the read ended.
type batchReader struct {
	ctx    context.Context
	body   io.Closer
	schema *arrow.Schema
	bld    *array.RecordBuilder
	err    error
}

func newBatchReader(ctx context.Context, schema *arrow.Schema, alloc memory.Allocator, body io.Closer) batchReader {
	return batchReader{ctx: ctx, body: body, schema: schema, bld: array.NewRecordBuilder(alloc, schema)}
}

// rowDone is called after the n-th row of a batch; every 4096 rows it
// checks for a cancel.
func (r *batchReader) rowDone(n int) error {
	if n%4096 == 0 && r.ctx.Err() != nil {
		r.err = canceled(r.ctx, "the read")
		return r.err
	}
	return nil
}

// batch ends a batch of n rows: io.EOF when there are none.
func (r *batchReader) batch(n int) (arrow.RecordBatch, error) {
	if n == 0 {
		r.err = io.EOF
		return nil, io.EOF
	}
	return r.bld.NewRecordBatch(), nil
}

func (r *batchReader) Close() error {
	if r.bld == nil {
		return nil
	}
	r.bld.Release()
	r.bld = nil
	if r.err == nil {
		r.err = io.EOF
	}
	return r.body.Close()
}
