package kafka

// Probing a range the consumer has stopped getting records for: asking
// the partition's leader directly whether any record is left before the
// range's end.

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// idleAfter is how long a consumer waits for records before it asks the
// broker directly whether its range has ended without a record at its
// last offset (a compacted tail, a control batch).
const idleAfter = 2 * time.Second

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
