package kafka

// Positions and planning: the topic's metadata and offsets, Latest, the
// JSON form of a position, and Plan's one split per partition.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// topicMeta is what a Metadata request tells of the topic.
type topicMeta struct {
	id         [16]byte
	partitions []int32         // sorted
	leaders    map[int32]int32 // partition -> broker
}

// metadata asks the brokers about the topic, bounded by the timeout.
func (s *source) metadata(ctx context.Context, cl *kgo.Client) (topicMeta, error) {
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(s.set.topic)
	req.Topics = append(req.Topics, t)
	req.AllowAutoTopicCreation = false
	resp, err := req.RequestWith(tctx, cl)
	if err != nil {
		return topicMeta{}, s.netErr(ctx, "asking for the metadata of topic", err)
	}
	for _, rt := range resp.Topics {
		if rt.Topic == nil || *rt.Topic != s.set.topic {
			continue
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return topicMeta{}, s.kafkaErr(err)
		}
		m := topicMeta{id: rt.TopicID, leaders: map[int32]int32{}}
		for _, p := range rt.Partitions {
			m.partitions = append(m.partitions, p.Partition)
			m.leaders[p.Partition] = p.Leader
		}
		slices.Sort(m.partitions)
		if len(m.partitions) == 0 {
			return topicMeta{}, s.kafkaErr(kerr.UnknownTopicOrPartition)
		}
		return m, nil
	}
	return topicMeta{}, s.kafkaErr(kerr.UnknownTopicOrPartition)
}

// listOffsets returns, per partition, the earliest retained offset
// (at = -2) or the last stable offset (at = -1).
func (s *source) listOffsets(ctx context.Context, partitions []int32, at int64) (map[int32]int64, error) {
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	req.IsolationLevel = 1 // read_committed: -1 answers the last stable offset
	t := kmsg.NewListOffsetsRequestTopic()
	t.Topic = s.set.topic
	for _, p := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p
		rp.Timestamp = at
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(tctx, s.admin)
	if err != nil {
		return nil, s.netErr(ctx, "listing the offsets of topic", err)
	}
	out := make(map[int32]int64, len(partitions))
	for _, rt := range resp.Topics {
		if rt.Topic != s.set.topic {
			continue
		}
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				return nil, s.kafkaErr(fmt.Errorf("partition %d: %w", rp.Partition, err))
			}
			out[rp.Partition] = rp.Offset
		}
	}
	for _, p := range partitions {
		if _, ok := out[p]; !ok {
			return nil, pgerr.New(pgerrcode.ConnectionFailure, "%s topic %q: the brokers gave no offset for partition %d", Name, s.set.topic, p)
		}
	}
	return out, nil
}

// Latest is the last stable offset of every partition (the high watermark
// when no transaction is open): the next offset a read would reach.
func (s *source) Latest(ctx context.Context) (connectors.Position, error) {
	m, err := s.metadata(ctx, s.admin)
	if err != nil {
		return "", err
	}
	ends, err := s.listOffsets(ctx, m.partitions, -1)
	if err != nil {
		return "", err
	}
	return formatPosition(ends), nil
}

// formatPosition writes {"0":120,"1":98}, partitions in numeric order.
func formatPosition(next map[int32]int64) connectors.Position {
	ps := make([]int32, 0, len(next))
	for p := range next {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", strconv.Itoa(int(p)), next[p])
	}
	b.WriteByte('}')
	return connectors.Position(b.String())
}

// parsePosition reads a position; "" is nil.
func parsePosition(pos connectors.Position) (map[int32]int64, error) {
	if pos == "" {
		return nil, nil
	}
	var raw map[string]int64
	if err := json.Unmarshal([]byte(pos), &raw); err != nil || raw == nil {
		return nil, pgerr.InvalidParameter("invalid %s position %q: want a JSON object of partition to next offset, like {\"0\":120}", Name, string(pos))
	}
	out := make(map[int32]int64, len(raw))
	for k, v := range raw {
		p, err := strconv.ParseInt(k, 10, 32)
		if err != nil || p < 0 || v < 0 {
			return nil, pgerr.InvalidParameter("invalid %s position %q: partition %q offset %d", Name, string(pos), k, v)
		}
		out[int32(p)] = v
	}
	return out, nil
}

// Lag counts the offsets between from and to over every partition to
// names (connectors.Lagger). A partition from does not name counts from
// offset 0, and from "" with start_offset = 'latest' is no lag (the first
// read is empty): records deleted by retention are counted as if they
// were still there.
func (s *source) Lag(from, to connectors.Position) (int64, error) {
	if from == "" && s.set.startLatest {
		return 0, nil
	}
	fromOff, err := parsePosition(from)
	if err != nil {
		return 0, err
	}
	toOff, err := parsePosition(to)
	if err != nil {
		return 0, err
	}
	var n int64
	for p, end := range toOff {
		if d := end - fromOff[p]; d > 0 {
			n += d
		}
	}
	return n, nil
}

// Plan splits the read of (from, to] into one split per partition with
// records in [start, end):
//
//   - end is to's offset for the partition, or its last stable offset when
//     to is ""; a partition to does not name is not read (it is newer
//     than to);
//   - start is from's offset; a partition from does not name (added since)
//     starts at its earliest offset; when from is "" every partition
//     starts at its earliest offset, or with start_offset = 'latest' at
//     end, so the first read is empty and later ones read what follows.
//
// A start below the earliest retained offset (records deleted by
// retention) starts at the earliest, with a warning; a start or an end
// beyond the last stable offset is an error (22023), as offsets never go
// back unless the topic was created anew.
func (s *source) Plan(ctx context.Context, from, to connectors.Position) ([]connectors.Split, error) {
	fromOff, err := parsePosition(from)
	if err != nil {
		return nil, err
	}
	toOff, err := parsePosition(to)
	if err != nil {
		return nil, err
	}
	m, err := s.metadata(ctx, s.admin)
	if err != nil {
		return nil, err
	}
	latest, err := s.listOffsets(ctx, m.partitions, -1)
	if err != nil {
		return nil, err
	}
	earliest, err := s.listOffsets(ctx, m.partitions, -2)
	if err != nil {
		return nil, err
	}
	var splits []connectors.Split
	for _, p := range m.partitions {
		end := latest[p]
		if toOff != nil {
			e, ok := toOff[p]
			if !ok {
				continue
			}
			if e > end {
				return nil, pgerr.InvalidParameter("%s position %q: partition %d ends at offset %d, before %d", Name, string(to), p, end, e)
			}
			end = e
		}
		var start int64
		switch {
		case fromOff != nil:
			var ok bool
			if start, ok = fromOff[p]; !ok {
				start = earliest[p]
			} else if start > latest[p] {
				return nil, pgerr.InvalidParameter("%s position %q: partition %d ends at offset %d, before %d (was topic %q deleted and created again?)", Name, string(from), p, latest[p], start, s.set.topic)
			}
		case s.set.startLatest:
			start = end
		default:
			start = earliest[p]
		}
		if start < earliest[p] {
			s.log.Warn("kafka: records were deleted before they were read", "partition", p, "from", start, "earliest", earliest[p])
			start = earliest[p]
		}
		if start >= end {
			continue
		}
		splits = append(splits, &split{src: s, partition: p, start: start, end: end})
	}
	return splits, nil
}
