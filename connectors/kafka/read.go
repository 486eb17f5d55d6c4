package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgerrcode"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// Fetch sizing of a split's client: one partition per client, so the
// partition limit is the one that matters.
const (
	fetchPartitionBytes = 8 << 20
	fetchBytes          = 16 << 20
	fetchMaxWait        = 50 * time.Millisecond // ranges end at or before the data's end: no use waiting long
	probeBytes          = 1 << 20
	extrapolateAfter    = 1024 // rows before a first batch's text is sized
)

// idleAfter is how long a consumer waits for records before it asks the
// broker directly whether its range has ended without a record at its
// last offset (a compacted tail, a control batch).
const idleAfter = 2 * time.Second

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

// batchReader builds record batches from a consumer's records.
type batchReader struct {
	ctx  context.Context
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
	r := &batchReader{
		ctx:  ctx,
		cons: c,
		rb:   rb,
		part: rb.Field(0).(*array.Int32Builder),
		off:  rb.Field(1).(*array.Int64Builder),
		ts:   rb.Field(2).(*array.TimestampBuilder),
	}
	var err error
	if r.key, err = newColumn(s.schema.Field(3), rb.Field(3), false); err != nil {
		rb.Release()
		return nil, err
	}
	if r.dec, err = newDecoder(s.set, s.schema, rb); err != nil {
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

// Next returns up to maxBatchRows rows (fewer once maxBatchBytes of keys
// and values are in), or io.EOF once the range is read.
func (r *batchReader) Next() (arrow.RecordBatch, error) {
	if r.done || r.rb == nil {
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

// Close stops the client and frees the builders.
func (r *batchReader) Close() error {
	if r.rb != nil {
		r.rb.Release()
		r.rb = nil
		r.cons.close()
	}
	return nil
}

// partRange is a partition's range [next, end) still to read.
type partRange struct {
	p         int32
	next, end int64
	probed    int64 // where the last probe got to
	done      bool
}

// consumer returns the records of partition ranges from one client that
// consumes those partitions directly, from exact offsets, read_committed.
// It keeps control records (transaction markers) so that a range ending
// with one is seen to end; it drops them and anything at or past a
// range's end.
type consumer struct {
	src     *source
	cl      *kgo.Client
	parts   map[int32]*partRange
	pending int
	last    *partRange
	pooled  bool        // records are recycled
	fs      kgo.Fetches // the last poll's
	at      struct{ f, t, p, r int }
}

// newConsumer starts a client reading ranges. With pooled, records come
// from s.pools and the caller must Recycle each record next returns once
// done with it (it then holds no reference to its key or value).
func (s *source) newConsumer(ranges map[int32][2]int64, pooled bool) (*consumer, error) {
	c := &consumer{src: s, parts: make(map[int32]*partRange, len(ranges)), pooled: pooled}
	offs := make(map[int32]kgo.Offset, len(ranges))
	for p, r := range ranges {
		c.parts[p] = &partRange{p: p, next: r[0], end: r[1], probed: r[0]}
		offs[p] = kgo.NewOffset().At(r[0])
		c.pending++
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, pgerr.New(pgerrcode.ObjectNotInPrerequisiteState, "the %s source is closed", Name)
	}
	opts := s.clientOpts(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.set.topic: offs}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(fetchMaxWait),
		// A session saves little for a client of one bounded range, and
		// closing one waits for the fetch in flight: Close would take
		// up to fetchMaxWait.
		kgo.DisableFetchSessions(),
		kgo.FetchMaxPartitionBytes(fetchPartitionBytes),
		kgo.FetchMaxBytes(fetchBytes),
	)
	if !s.dropControl {
		opts = append(opts, kgo.KeepControlRecords())
	}
	if pooled {
		opts = append(opts, kgo.WithPools(&s.pools))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, pgerr.New(pgerrcode.InternalError, "%s: creating a client: %v", Name, err)
	}
	c.cl = cl
	s.open[cl] = struct{}{}
	return c, nil
}

// close closes the client unless the source's Close already did.
func (c *consumer) close() {
	c.src.mu.Lock()
	_, mine := c.src.open[c.cl]
	delete(c.src.open, c.cl)
	c.src.mu.Unlock()
	if mine {
		c.cl.Close()
	}
}

// next returns the next data record in range, or io.EOF once every range
// is read.
func (c *consumer) next(ctx context.Context) (*kgo.Record, error) {
	for {
		for r := c.buffered(); r != nil; r = c.buffered() {
			if c.take(r) {
				return r, nil
			}
			if c.pooled {
				r.Recycle()
			}
		}
		if c.pending == 0 {
			return nil, io.EOF
		}
		if err := c.poll(ctx); err != nil {
			return nil, err
		}
	}
}

// take reports whether r is a data record in its partition's range, and
// moves the range on.
func (c *consumer) take(r *kgo.Record) bool {
	pr := c.last
	if pr == nil || pr.p != r.Partition {
		if pr = c.parts[r.Partition]; pr == nil {
			return false
		}
		c.last = pr
	}
	if pr.done || r.Offset < pr.next {
		return false
	}
	if r.Offset >= pr.end {
		c.finish(pr)
		return false
	}
	pr.next = r.Offset + 1
	if pr.next >= pr.end {
		c.finish(pr)
	}
	return !r.Attrs.IsControl()
}

// buffered returns the next record of the last poll, nil when all are
// returned.
func (c *consumer) buffered() *kgo.Record {
	for c.at.f < len(c.fs) {
		f := &c.fs[c.at.f]
		for c.at.t < len(f.Topics) {
			t := &f.Topics[c.at.t]
			for c.at.p < len(t.Partitions) {
				if rs := t.Partitions[c.at.p].Records; c.at.r < len(rs) {
					c.at.r++
					return rs[c.at.r-1]
				}
				c.at.p, c.at.r = c.at.p+1, 0
			}
			c.at.t, c.at.p = c.at.t+1, 0
		}
		c.at.f, c.at.t = c.at.f+1, 0
	}
	return nil
}

// remaining bounds the records left to read.
func (c *consumer) remaining() int64 {
	var n int64
	for _, pr := range c.parts {
		if !pr.done {
			n += pr.end - pr.next
		}
	}
	return n
}

func (c *consumer) finish(pr *partRange) {
	if pr.done {
		return
	}
	pr.done = true
	c.pending--
	if c.pending > 0 {
		c.cl.PauseFetchPartitions(map[string][]int32{c.src.set.topic: {pr.p}})
	}
}

// poll fills buf with the next fetched records. When none come for
// idleAfter it probes the unfinished ranges.
func (c *consumer) poll(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return canceled(err)
	}
	pctx, cancel := context.WithTimeout(ctx, c.src.idle)
	fs := c.cl.PollFetches(pctx)
	cancel()
	if err := ctx.Err(); err != nil {
		return canceled(err)
	}
	var ferr error
	fs.EachError(func(_ string, p int32, err error) {
		if ferr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			ferr = fmt.Errorf("partition %d: %w", p, err)
		}
	})
	if ferr != nil {
		return c.fetchErr(ferr)
	}
	c.fs, c.at = fs, struct{ f, t, p, r int }{}
	if fs.Empty() {
		return c.probe(ctx)
	}
	return nil
}

func (c *consumer) fetchErr(err error) error {
	if errors.Is(err, kgo.ErrClientClosed) {
		return pgerr.New(pgerrcode.ObjectNotInPrerequisiteState, "%s topic %q: the source was closed during the read", Name, c.src.set.topic)
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return c.src.kafkaErr(err)
	}
	e := pgerr.New(pgerrcode.ConnectionFailure, "%s topic %q: reading from brokers %v: %v", Name, c.src.set.topic, c.src.set.brokers, err)
	e.Cause = err
	return e
}

// probe fetches directly at each unfinished range's next offset: when the
// broker has no record left before the range's end (the tail was compacted
// away, or the consumer skipped batches it never hands out), the range is
// done. A probe the brokers do not answer within the timeout fails the
// read, so a broker lost mid-read is an error, not a hang.
func (c *consumer) probe(ctx context.Context) error {
	m, err := c.src.metadata(ctx, c.cl)
	if err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, c.src.timeout)
	defer cancel()
	for _, pr := range c.parts {
		if pr.done {
			continue
		}
		leader, ok := m.leaders[pr.p]
		if !ok || leader < 0 {
			continue
		}
		off := max(pr.next, pr.probed)
		for off < pr.end {
			req := kmsg.NewPtrFetchRequest()
			req.MaxWaitMillis = 0
			req.MinBytes = 0
			req.MaxBytes = probeBytes
			req.IsolationLevel = 1
			req.SessionEpoch = -1
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = c.src.set.topic, m.id
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = pr.p, off, probeBytes
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(tctx, c.cl.Broker(int(leader)))
			if err != nil {
				return c.src.netErr(ctx, "probing partition "+fmt.Sprint(pr.p)+" of topic", err)
			}
			got := probedPartition(resp, pr.p)
			if got == nil || got.ErrorCode != 0 {
				break // the consumer sees the same error and deals with it
			}
			// Control records are dropped here: only data records
			// are worth waiting for.
			fp, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
				Offset:         off,
				IsolationLevel: kgo.ReadCommitted(),
				Topic:          c.src.set.topic,
				Partition:      pr.p,
			}, got, kgo.DefaultDecompressor(), nil)
			if fp.Err != nil || hasRecordBefore(fp.Records, off, pr.end) || next <= off {
				break // records to come through the consumer, or nothing yet
			}
			off = next
		}
		pr.probed = off
		if off >= pr.end {
			c.src.log.Debug("kafka: range ended without a record at its last offset", "partition", pr.p, "end", pr.end)
			c.finish(pr)
		}
	}
	return nil
}

func probedPartition(resp *kmsg.FetchResponse, p int32) *kmsg.FetchResponseTopicPartition {
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			if rp := &resp.Topics[i].Partitions[j]; rp.Partition == p {
				return rp
			}
		}
	}
	return nil
}

func hasRecordBefore(rs []*kgo.Record, from, end int64) bool {
	for _, r := range rs {
		if r.Offset >= from && r.Offset < end {
			return true
		}
	}
	return false
}

// recordPools recycles split clients' record slices and decompression
// buffers (kgo.PoolRecords, kgo.PoolDecompressBytes), which otherwise are
// most of a read's garbage. Safe for concurrent use.
type recordPools struct {
	recs  sync.Pool // *[]kgo.Record
	bytes sync.Pool // *[]byte
}

func (p *recordPools) GetRecords(n int) []kgo.Record {
	if v, ok := p.recs.Get().(*[]kgo.Record); ok && cap(*v) >= n {
		return (*v)[:n]
	}
	return make([]kgo.Record, n)
}

func (p *recordPools) PutRecords(rs []kgo.Record) { p.recs.Put(&rs) }

func (p *recordPools) GetDecompressBytes([]byte, kgo.CompressionCodecType) []byte {
	if v, ok := p.bytes.Get().(*[]byte); ok {
		return *v
	}
	return nil
}

func (p *recordPools) PutDecompressBytes(b []byte) { p.bytes.Put(&b) }
