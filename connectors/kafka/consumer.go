package kafka

// The consumer: one franz-go client reading exact offset ranges of
// partitions, read_committed, and the pools its records come from.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

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
