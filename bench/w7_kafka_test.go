//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// W7, Kafka ingestion: SLUICE_BENCH_KAFKA_ROWS JSON messages (default
// 10,000,000, 88 bytes on average) over 8 partitions of a topic, produced
// once into franz-go's kfake broker, which runs in the benchmark process.
// Each round runs, in rotating order:
//
//   - sluice-view: REFRESH MATERIALIZED VIEW w7_v, a view AS SELECT * FROM
//     the KAFKA source (every message, metadata columns included, into one
//     Parquet file);
//   - sluice-pipeline: CREATE PIPELINE w7_p<k> AS SELECT * FROM the source,
//     whose first run reads every message at once (dropped afterwards,
//     untimed);
//   - franz-go-ceiling: a plain franz-go client (default options) consuming
//     the 8 partitions from their start to their ends and discarding the
//     records: the ingestion ceiling of this broker on this machine.
//
// Each Sluice side is timed from the statement to its completion, in the
// client. Rates are messages and message-value bytes per second.
//
// Target: Sluice ingests at least 50% of the ceiling's rows/s.
func BenchmarkW7Kafka(b *testing.B) {
	ctx := context.Background()
	g := gateway(b)
	gc := serverConn(b, g.URL)
	k := kafkaTopic(b)
	once(b, "W7 views", func() error {
		addSummary(printKafka)
		for _, q := range []string{
			fmt.Sprintf("CREATE SOURCE w7_ev FROM KAFKA WITH (brokers = '%s', topic = '%s', format = 'json')", k.addr, w7Topic),
			"CREATE MATERIALIZED VIEW w7_v AS SELECT * FROM w7_ev", // populated now, unmeasured
		} {
			if _, err := gc.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})

	name := "W7 kafka"
	detail := fmt.Sprintf("%d JSON messages, %.1f MB of values, %d partitions, kfake in the benchmark process", k.rows, float64(k.bytes)/1e6, w7Partitions)
	variants := []string{"sluice-view", "sluice-pipeline", "franz-go-ceiling"}
	refOf := map[string]string{"sluice-view": "franz-go-ceiling", "sluice-pipeline": "franz-go-ceiling"}
	for b.Loop() {
		for _, v := range round(name, variants, refOf, detail) {
			var (
				smp  sample
				rows int64
				err  error
			)
			self0 := procCPU(os.Getpid())
			switch v {
			case "sluice-view":
				smp, rows, err = timeRefresh(ctx, gc, g, "REFRESH MATERIALIZED VIEW w7_v", "w7_v")
			case "sluice-pipeline":
				w7Pipelines++
				p := "w7_p" + strconv.Itoa(w7Pipelines)
				smp, rows, err = timeRefresh(ctx, gc, g, "CREATE PIPELINE "+p+" AS SELECT * FROM w7_ev", p)
				if err == nil {
					_, err = gc.Exec(ctx, "DROP PIPELINE "+p)
				}
			case "franz-go-ceiling":
				start := time.Now()
				rows, err = k.consumeAll(ctx)
				smp.secs = time.Since(start).Seconds()
			}
			// The benchmark process's CPU: kfake serving the fetches, plus
			// the consumer itself for the ceiling.
			smp.client = procCPU(os.Getpid()) - self0
			if err != nil {
				b.Fatalf("%s: %v", v, err)
			}
			if rows != k.rows {
				b.Fatalf("%s: read %d messages, want %d", v, rows, k.rows)
			}
			record(b, name, v, smp)
			b.ReportMetric(float64(k.rows)/smp.secs, v+"-rows/s")
		}
	}
}

const (
	w7Topic      = "w7"
	w7Partitions = 8
)

var (
	kafkaRows   = rowsEnv("SLUICE_BENCH_KAFKA_ROWS", 10_000_000)
	w7Pipelines int // pipelines created so far
	w7          *kafkaFixture
)

// kafkaFixture is the kfake cluster and what was produced into it.
type kafkaFixture struct {
	addr   string
	rows   int64
	bytes  int64   // sum of the message values' lengths
	counts []int64 // messages per partition
}

// w7Message is message i: 80 to 95 bytes of JSON.
func w7Message(dst []byte, i int64) []byte {
	kinds := [...]string{"click", "view", "purchase", "scroll"}
	return fmt.Appendf(dst, `{"id":%d,"ts":"2024-11-10T%02d:%02d:%02dZ","user":"u%d","amount":%d.5,"kind":"%s"}`,
		i, i/3600%24, i/60%60, i%60, i*7919%100000, i%1000, kinds[i%4])
}

// kafkaTopic starts kfake (once) and produces kafkaRows messages round
// robin over the topic's partitions, in batches of up to 1 MB, without
// compression (so the value bytes are what travels).
func kafkaTopic(tb testing.TB) *kafkaFixture {
	once(tb, fmt.Sprintf("W7 kfake topic, %d messages", kafkaRows), func() error {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(w7Partitions, w7Topic))
		if err != nil {
			return err
		}
		fixMu.Lock()
		teardowns = append(teardowns, c.Close)
		fixMu.Unlock()
		f := &kafkaFixture{addr: c.ListenAddrs()[0], rows: kafkaRows, counts: make([]int64, w7Partitions)}
		prod, err := kgo.NewClient(kgo.SeedBrokers(f.addr), kgo.DefaultProduceTopic(w7Topic),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()),
			kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(1<<18))
		if err != nil {
			return err
		}
		defer prod.Close()
		ctx := context.Background()
		const chunk = 100_000
		recs := make([]*kgo.Record, 0, chunk)
		for lo := int64(1); lo <= f.rows; lo += chunk {
			recs = recs[:0]
			for i := lo; i < min(lo+chunk, f.rows+1); i++ {
				p := int32(i % w7Partitions)
				r := &kgo.Record{Partition: p, Value: w7Message(nil, i)}
				f.bytes += int64(len(r.Value))
				f.counts[p]++
				recs = append(recs, r)
			}
			if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				return err
			}
		}
		w7 = f
		return nil
	})
	return w7
}

// consumeAll reads every partition from its start to its end with one
// plain client, discarding the records, and returns how many it read.
func (f *kafkaFixture) consumeAll(ctx context.Context) (int64, error) {
	offs := make(map[int32]kgo.Offset, w7Partitions)
	for p := range int32(w7Partitions) {
		offs[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{w7Topic: offs}))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	got := make([]int64, w7Partitions)
	var n int64
	for !slices.Equal(got, f.counts) {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return n, err
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition]++
			n++
		})
	}
	return n, nil
}

// printKafka prints W7's rates: rows and MB of message values per second,
// and each side's rate as a share of the ceiling's (median of the
// per-round shares).
//
// It runs from printSummary, which holds resMu.
func printKafka() {
	w := byName["W7 kafka"]
	if w == nil || w7 == nil {
		return
	}
	ceil := w.samples["franz-go-ceiling"]
	fmt.Printf("\n### W7 kafka rates (%d messages, %.1f MB of values)\n\n", w7.rows, float64(w7.bytes)/1e6)
	fmt.Println("| variant | median s | rows/s | MB/s | gateway CPU s | benchmark process CPU s (kfake + consumer) | rows/s vs ceiling | target (>= 0.50) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|")
	for _, v := range w.variants {
		ss := w.samples[v]
		if len(ss) == 0 {
			continue
		}
		var secs, srv, cli, share []float64
		for i, s := range ss {
			secs, srv, cli = append(secs, s.secs), append(srv, s.server), append(cli, s.client)
			if i < len(ceil) {
				share = append(share, ceil[i].secs/s.secs)
			}
		}
		m := median(secs)
		verdict := "-"
		if v != "franz-go-ceiling" {
			verdict = "met"
			if median(share) < 0.5 {
				verdict = "not met"
			}
		}
		fmt.Printf("| %s | %.3f | %.0f | %.1f | %.2f | %.2f | %.2f | %s |\n",
			v, m, float64(w7.rows)/m, float64(w7.bytes)/1e6/m, median(srv), median(cli), median(share), verdict)
	}
}
