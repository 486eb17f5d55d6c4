package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-db/sluice/connectors"
)

func benchMessage(i int) string {
	return fmt.Sprintf(`{"id":%d,"user":"user-%d","event":"click","amount":%d.25,"ts":"2024-01-01T00:00:00Z","ok":%t,"tags":["a","b"]}`,
		i, i%1000, i%500, i%3 == 0)
}

// BenchmarkRead reads benchN JSON messages over 8 partitions from kfake,
// with a plain franz-go consumer (records polled and counted), with a
// franz-go client per partition (the connector's shape, no decoding) and
// with the connector (a split per partition, read in parallel into Arrow
// batches). The clients do without KIP-714 metrics, whose final push makes
// Close slow, so that what is compared is reading.
func BenchmarkRead(b *testing.B) {
	const benchN, parts = 200_000, 8
	c := newCluster(b)
	topic := c.topic(b, parts)
	recs := make([]*kgo.Record, benchN)
	size := 0
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % parts), Value: []byte(benchMessage(i))}
		size += len(recs[i].Value)
	}
	c.produceRecords(b, recs)
	recs = nil

	b.Run("franz-go", func(b *testing.B) {
		b.SetBytes(int64(size))
		cpu0 := cpuTime()
		for b.Loop() {
			offs := map[int32]kgo.Offset{}
			for p := range int32(parts) {
				offs[p] = kgo.NewOffset().AtStart()
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.DisableClientMetrics(),
				kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offs}))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for n < benchN {
				fs := cl.PollFetches(context.Background())
				if err := fs.Err0(); err != nil {
					b.Fatal(err)
				}
				fs.EachRecord(func(r *kgo.Record) { n++ })
			}
			cl.Close()
		}
		reportRate(b, benchN, cpu0)
	})

	// The connector's shape without its decoding: a client per
	// partition, read_committed, counting records.
	b.Run("franz-go-per-partition", func(b *testing.B) {
		b.SetBytes(int64(size))
		cpu0 := cpuTime()
		for b.Loop() {
			var wg sync.WaitGroup
			for p := range int32(parts) {
				wg.Go(func() {
					cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.DisableClientMetrics(), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
						kgo.FetchMaxPartitionBytes(fetchPartitionBytes), kgo.FetchMaxBytes(fetchBytes),
						kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().AtStart()}}))
					if err != nil {
						b.Error(err)
						return
					}
					defer cl.Close()
					for n := 0; n < benchN/parts; {
						fs := cl.PollFetches(context.Background())
						if err := fs.Err0(); err != nil {
							b.Error(err)
							return
						}
						n += fs.NumRecords()
					}
				})
			}
			wg.Wait()
		}
		reportRate(b, benchN, cpu0)
	})

	for _, format := range []string{"json", "text"} {
		name := "connector"
		if format != "json" {
			name += "-" + format // no decoding: the connector's own cost
		}
		b.Run(name, func(b *testing.B) { benchConnector(b, c.config(topic, "format", format), benchN, size) })
	}
}

func benchConnector(b *testing.B, cfg connectors.Config, benchN, size int) {
	src := open(b, cfg)
	b.SetBytes(int64(size))
	cpu0 := cpuTime()
	for b.Loop() {
		ctx := context.Background()
		splits, err := src.Plan(ctx, "", "")
		if err != nil {
			b.Fatal(err)
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total int
		)
		for _, sp := range splits {
			wg.Go(func() {
				r, err := sp.Open(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				defer r.Close()
				n := 0
				for {
					rec, err := r.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Error(err)
						return
					}
					n += int(rec.NumRows())
					rec.Release()
				}
				mu.Lock()
				total += n
				mu.Unlock()
			})
		}
		wg.Wait()
		if total != benchN {
			b.Fatalf("%d rows, want %d", total, benchN)
		}
	}
	reportRate(b, benchN, cpu0)
}

// BenchmarkDecodeJSON is the decoder alone: messages into Arrow builders.
func BenchmarkDecodeJSON(b *testing.B) {
	msgs := make([][]byte, 4096)
	size := 0
	for i := range msgs {
		msgs[i] = []byte(benchMessage(i))
		size += len(msgs[i])
	}
	sample := msgs[:100]
	fields, _, err := inferJSON(sample, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	schema := arrowSchema(fields)
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer rb.Release()
	dec, err := newDecoder(settings{format: "json"}, schema, rb)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	cpu0 := cpuTime()
	for b.Loop() {
		rb.Reserve(len(msgs))
		for _, m := range msgs {
			dec.decode(m)
		}
		for i := range numMeta {
			rb.Field(i).AppendNulls(len(msgs))
		}
		rb.NewRecordBatch().Release()
	}
	reportRate(b, len(msgs), cpu0)
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate reports messages per second of wall time and CPU time per
// million messages: the machine is shared, so CPU time is the steadier
// measure of cost.
func reportRate(b *testing.B, perOp int, cpu0 time.Duration) {
	msgs := float64(perOp) * float64(b.N)
	b.ReportMetric(msgs/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/msgs*1e6, "cpu-s/Mmsg")
}
