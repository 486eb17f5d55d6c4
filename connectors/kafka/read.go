package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// split reads the records of one partition in [start, end).
type split struct {
	src        *source
	partition  int32
	start, end int64
}

func (sp *split) String() string {
	return fmt.Sprintf("%s %q partition %d [%d, %d)", Name, sp.src.set.topic, sp.partition, sp.start, sp.end)
}

// Open starts a client consuming the partition from start. The reader
// keeps ctx: its Next has none of its own, and it ends when ctx ends.
func (sp *split) Open(ctx context.Context) (connectors.BatchReader, error) {
	if err := ctx.Err(); err != nil {
		return nil, canceled(err)
	}
	c, err := sp.src.newConsumer(map[int32][2]int64{sp.partition: {sp.start, sp.end}}, true)
	if err != nil {
		return nil, err
	}
	r, err := newBatchReader(ctx, sp.src, c)
	if err != nil {
		c.close()
		return nil, err
	}
	return r, nil
}

// batchReader builds record batches from a consumer's records. It builds
// one batch ahead, in a goroutine of its own (started by the first Next,
// ended by the end of the range, an error, ctx or Close), so that polling
// and decoding the next batch overlap the caller's work on the last one.
type batchReader struct {
	ctx    context.Context // the goroutine's: Open's, cancelled by Close
	cancel context.CancelFunc
	ahead  chan built // the goroutine's batches; closed when it ends
	err    error      // the error Next returned, returned again

	cons *consumer
	rb   *array.RecordBuilder
	part *array.Int32Builder
	off  *array.Int64Builder
	ts   *array.TimestampBuilder
	key  *column
	dec  decoder
	done bool

	// The builders are sized before each batch, so they do not grow by
	// copying: rows from the range left, text bytes per row from the
	// last batch.
	strs     []*array.StringBuilder
	lastData []int
	lastRows int
}

func newBatchReader(ctx context.Context, s *source, c *consumer) (*batchReader, error) {
	rb := array.NewRecordBuilder(s.alloc, s.schema)
	ctx, cancel := context.WithCancel(ctx)
	r := &batchReader{
		ctx:    ctx,
		cancel: cancel,
		cons:   c,
		rb:     rb,
		part:   rb.Field(0).(*array.Int32Builder),
		off:    rb.Field(1).(*array.Int64Builder),
		ts:     rb.Field(2).(*array.TimestampBuilder),
	}
	var err error
	if r.key, err = newColumn(s.schema.Field(3), rb.Field(3), false); err != nil {
		cancel()
		rb.Release()
		return nil, err
	}
	if r.dec, err = newDecoder(s.set, s.schema, rb); err != nil {
		cancel()
		rb.Release()
		return nil, err
	}
	for i := numMeta - 1; i < s.schema.NumFields(); i++ {
		if b, ok := rb.Field(i).(*array.StringBuilder); ok {
			r.strs = append(r.strs, b)
		}
	}
	r.lastData = make([]int, len(r.strs))
	return r, nil
}

// newDecoder builds the value decoder for schema's value fields.
func newDecoder(set settings, schema *arrow.Schema, rb *array.RecordBuilder) (decoder, error) {
	cols := make([]*column, 0, schema.NumFields()-numMeta)
	for i := numMeta; i < schema.NumFields(); i++ {
		c, err := newColumn(schema.Field(i), rb.Field(i), set.format == "json")
		if err != nil {
			return nil, pgerr.New(pgerrcode.DataCorrupted, "%s source: %v", Name, err)
		}
		cols = append(cols, c)
	}
	switch set.format {
	case "text":
		if len(cols) != 1 {
			return nil, pgerr.New(pgerrcode.DataCorrupted, "%s source: format 'text' has one value column, the schema has %d", Name, len(cols))
		}
		return &textDecoder{col: cols[0]}, nil
	case "csv":
		return &csvDecoder{cols: cols, delim: set.delim}, nil
	}
	return newJSONDecoder(cols), nil
}

// built is a batch the goroutine built, or the error that ended it.
type built struct {
	b   arrow.RecordBatch
	err error
}

// Next returns up to maxBatchRows rows (fewer once maxBatchBytes of keys
// and values are in), or io.EOF once the range is read.
func (r *batchReader) Next() (arrow.RecordBatch, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.rb == nil {
		return nil, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		r.err = canceled(err)
		return nil, r.err
	}
	if r.ahead == nil {
		r.ahead = make(chan built, 1)
		go r.buildAhead()
	}
	res, ok := <-r.ahead
	if !ok { // ended by ctx, or after its last batch and io.EOF
		if err := r.ctx.Err(); err != nil {
			r.err = canceled(err)
			return nil, r.err
		}
		return nil, io.EOF
	}
	if res.err != nil {
		r.err = res.err
	}
	return res.b, res.err
}

// buildAhead builds batches until the range is read, an error, or the
// reader is closed; each waits in r.ahead for Next.
func (r *batchReader) buildAhead() {
	defer close(r.ahead)
	for {
		b, err := r.build()
		select {
		case r.ahead <- built{b, err}:
		case <-r.ctx.Done():
			if b != nil {
				b.Release()
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// build reads and decodes the next batch (io.EOF at the end).
func (r *batchReader) build() (arrow.RecordBatch, error) {
	if r.done {
		return nil, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		return nil, canceled(err)
	}
	n := int(min(maxBatchRows, r.cons.remaining()))
	r.rb.Reserve(n)
	if r.lastRows > 0 {
		for i, b := range r.strs {
			b.ReserveData(int(min(int64(r.lastData[i])*int64(n)/int64(r.lastRows), maxBatchBytes)))
		}
	}
	rows, size := 0, 0
	for rows < maxBatchRows && size < maxBatchBytes {
		rec, err := r.cons.next(r.ctx)
		if errors.Is(err, io.EOF) {
			r.done = true
			break
		}
		if err != nil {
			return nil, err
		}
		// Reserved: a range of n offsets holds at most n rows.
		r.part.UnsafeAppend(rec.Partition)
		r.off.UnsafeAppend(rec.Offset)
		r.ts.UnsafeAppend(arrow.Timestamp(rec.Timestamp.UnixMicro()))
		if rec.Key == nil {
			r.key.appendNull()
		} else {
			r.key.appendString(rec.Key)
		}
		r.dec.decode(rec.Value)
		rows++
		size += len(rec.Key) + len(rec.Value)
		rec.Recycle() // copied into the builders
		if rows == extrapolateAfter && r.lastRows == 0 && n > 2*rows {
			// The first batch: size the text from its first rows.
			for _, b := range r.strs {
				b.ReserveData(int(min(int64(b.DataLen())*int64(n)/int64(rows)*9/8, maxBatchBytes)))
			}
		}
	}
	if rows == 0 {
		return nil, io.EOF
	}
	for i, b := range r.strs {
		r.lastData[i] = b.DataLen()
	}
	r.lastRows = rows
	return r.rb.NewRecordBatch(), nil
}

// Close stops the goroutine and the client and frees the builders and
// the batch built ahead.
func (r *batchReader) Close() error {
	r.cancel()
	if r.ahead != nil {
		for res := range r.ahead {
			if res.b != nil {
				res.b.Release()
			}
		}
	}
	if r.rb != nil {
		r.rb.Release()
		r.rb = nil
		r.cons.close()
	}
	return nil
}
