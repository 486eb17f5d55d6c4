// Package kafka is the KAFKA connector: a topic read as a table of
// _partition, _offset, _timestamp, _key and the columns of the message
// values (JSON objects, CSV records or plain text).
//
// A read is planned as one split per partition, each an exact offset range
// [start, end) consumed by its own franz-go client. Positions are the next
// offset of each partition, so a pipeline run that commits its end position
// with its output files reads every committed record exactly once. Reads
// are read_committed: records of aborted transactions are never returned
// and Latest is each partition's last stable offset.
package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgerrcode"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// Name is the connector's keyword: CREATE SOURCE s FROM KAFKA WITH (...).
const Name = "KAFKA"

// Options declares the KAFKA options (documented in docs/connectors.md).
var Options = connectors.Specs{
	{Name: "brokers", Type: connectors.String, Doc: "required: bootstrap brokers, comma-separated host:port"},
	{Name: "topic", Type: connectors.String, Doc: "required: the topic to read"},
	{Name: "format", Type: connectors.Enum, Values: []string{"json", "csv", "text"}, Default: "json",
		Doc: "how message values are read: json (a JSON object per message, its fields are the columns), csv (one CSV record per message, no header) or text (one column, value)"},
	{Name: "start_offset", Type: connectors.Enum, Values: []string{"earliest", "latest"}, Default: "earliest",
		Doc: "where a read from the start position begins: earliest (the oldest retained record) or latest (the end: only records produced after the first committed position are read)"},
	{Name: "columns", Type: connectors.String,
		Doc: "json, csv: the value columns as \"name type, ...\" (bigint, integer, smallint, double, real, boolean, text, varchar, timestamp, timestamptz, date, numeric(p,s), json, uuid) instead of inferring them; names fold to lower case unless double-quoted; json matches names to top-level fields, csv takes fields by position"},
	{Name: "delimiter", Type: connectors.String, Default: ",", Doc: "csv: the field delimiter, one ASCII character"},
}

// Batch bounds: a batch holds up to maxBatchRows rows, and is cut early
// once its keys and values reach maxBatchBytes.
const (
	maxBatchRows  = 64 * 1024
	maxBatchBytes = 8 << 20
)

// Connector opens KAFKA sources. The zero value is ready to use.
type Connector struct{}

var _ connectors.Connector = Connector{}

// Name is "KAFKA".
func (Connector) Name() string { return Name }

// Options declares the options.
func (Connector) Options() connectors.Specs { return Options }

// settings are validated options.
type settings struct {
	brokers     []string
	topic       string
	format      string
	startLatest bool
	delim       byte
	columns     []arrow.Field // nil = infer
}

func parseSettings(raw map[string]string) (settings, error) {
	opts, err := Options.Validate(Name, raw)
	if err != nil {
		return settings{}, err
	}
	for _, spec := range Options {
		if _, ok := opts[spec.Name]; !ok && spec.Default != "" {
			opts[spec.Name] = spec.Default
		}
	}
	for _, req := range []string{"brokers", "topic"} {
		if strings.TrimSpace(opts[req]) == "" {
			return settings{}, pgerr.InvalidParameter("option %q is required for %s sources", req, Name)
		}
	}
	s := settings{
		topic:       strings.TrimSpace(opts["topic"]),
		format:      opts["format"],
		startLatest: opts["start_offset"] == "latest",
	}
	for _, b := range strings.Split(opts["brokers"], ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return settings{}, pgerr.InvalidParameter("invalid value for option \"brokers\": %q is not host:port", b)
		}
		s.brokers = append(s.brokers, b)
	}
	if len(s.brokers) == 0 {
		return settings{}, pgerr.InvalidParameter("option \"brokers\" is required for %s sources", Name)
	}
	if d, ok := raw["delimiter"]; ok {
		if s.format != "csv" {
			return settings{}, pgerr.InvalidParameter("option \"delimiter\" applies only to format 'csv'")
		}
		if len(d) != 1 || d[0] >= 0x80 || d[0] == '"' || d[0] == '\n' || d[0] == '\r' {
			return settings{}, pgerr.InvalidParameter("invalid value for option \"delimiter\": %q must be one ASCII character other than a quote or a line break", d)
		}
	}
	s.delim = opts["delimiter"][0]
	if text, ok := opts["columns"]; ok {
		if s.format == "text" {
			return settings{}, pgerr.InvalidParameter("option \"columns\" applies only to formats 'json' and 'csv'")
		}
		if s.columns, err = parseColumns(text); err != nil {
			return settings{}, pgerr.InvalidParameter("invalid value for option \"columns\": %v", err)
		}
	}
	return s, nil
}

// Open validates cfg, reaches the brokers (bounded by cfg's timeout) and
// fixes the schema: cfg.Schema when set, else the columns option, else one
// inferred from up to 1000 messages read from the start of the topic.
func (Connector) Open(ctx context.Context, cfg connectors.Config) (connectors.Source, error) {
	set, err := parseSettings(cfg.Options)
	if err != nil {
		return nil, err
	}
	s := &source{
		set:     set,
		alloc:   cfg.Allocator,
		log:     cfg.Logger,
		timeout: cfg.TimeoutOrDefault(),
		idle:    idleAfter,
		open:    map[*kgo.Client]struct{}{},
	}
	if s.alloc == nil {
		s.alloc = memory.DefaultAllocator
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("connector", Name, "topic", set.topic)
	if s.admin, err = kgo.NewClient(s.clientOpts()...); err != nil {
		return nil, pgerr.InvalidParameter("invalid value for option \"brokers\": %v", err)
	}
	if err := s.fixSchema(ctx, cfg.Schema); err != nil {
		s.admin.Close()
		return nil, err
	}
	return s, nil
}

// source is an open KAFKA source. It is safe for concurrent use: the admin
// client is, and every split reads through its own client.
type source struct {
	set     settings
	schema  *arrow.Schema
	alloc   memory.Allocator
	log     *slog.Logger
	timeout time.Duration
	admin   *kgo.Client // metadata and ListOffsets
	pools   recordPools // of the split clients

	// idle is how long a split waits for records before it probes
	// (idleAfter; tests shorten it). dropControl makes split clients
	// drop control records, so that tests can reach the probe.
	idle        time.Duration
	dropControl bool

	mu     sync.Mutex
	open   map[*kgo.Client]struct{} // split clients, closed by Close
	closed bool
}

func (s *source) Schema() *arrow.Schema { return s.schema }

// Close closes the admin client and every split client still open; their
// readers then fail.
func (s *source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for cl := range open {
		cl.Close()
	}
	s.admin.Close()
	return nil
}

// clientOpts bounds every network call of a client by the timeout.
func (s *source) clientOpts(extra ...kgo.Opt) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SeedBrokers(s.set.brokers...),
		kgo.ClientID("sluice"),
		kgo.DialTimeout(s.timeout),
		kgo.RequestTimeoutOverhead(s.timeout),
		kgo.RetryTimeout(s.timeout),
		kgo.WithLogger(kgoLogger{s.log}),
		// KIP-714 pushes: closing a client would wait (up to 1 s) for a
		// final push, and a split's client lives for one read.
		kgo.DisableClientMetrics(),
	}, extra...)
}

// fixSchema checks the topic exists and sets s.schema.
func (s *source) fixSchema(ctx context.Context, stored *arrow.Schema) error {
	if _, err := s.metadata(ctx, s.admin); err != nil {
		return err
	}
	if stored != nil {
		return s.useSchema(stored)
	}
	var value []arrow.Field
	switch {
	case s.set.columns != nil:
		value = s.set.columns
	case s.set.format == "text":
		value = textFields()
	default:
		sample, err := s.sample(ctx)
		if err != nil {
			return err
		}
		if len(sample) == 0 {
			return pgerr.InvalidParameter("cannot infer the columns of %s messages from topic %q: it is empty; set option \"columns\"", s.set.format, s.set.topic)
		}
		if s.set.format == "csv" {
			value = inferCSV(sample, s.set.delim)
		} else {
			var valid int
			if value, valid, err = inferJSON(sample, s.log); err != nil {
				return pgerr.InvalidParameter("cannot infer the columns of topic %q: %v; set option \"columns\"", s.set.topic, err)
			}
			if valid == 0 {
				return pgerr.InvalidParameter("cannot infer the columns of topic %q: none of its first %d messages is a JSON object; set option \"columns\" or format", s.set.topic, len(sample))
			}
		}
		if len(value) == 0 {
			return pgerr.InvalidParameter("cannot infer the columns of topic %q: its first %d messages hold no fields; set option \"columns\"", s.set.topic, len(sample))
		}
	}
	return s.useSchema(arrowSchema(value))
}

// useSchema checks schema can be read with these options (a stored schema
// comes from the catalog) and sets it.
func (s *source) useSchema(schema *arrow.Schema) error {
	meta := metaFields()
	if schema.NumFields() < numMeta+1 {
		return pgerr.New(pgerrcode.DataCorrupted, "the stored schema of this %s source has %d columns, fewer than the metadata columns and one value column", Name, schema.NumFields())
	}
	for i, f := range meta {
		if g := schema.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
			return pgerr.New(pgerrcode.DataCorrupted, "the stored schema of this %s source does not start with its metadata column %s", Name, f.Name)
		}
	}
	for _, f := range schema.Fields()[numMeta:] {
		if _, err := kindOf(f); err != nil {
			return pgerr.New(pgerrcode.DataCorrupted, "the stored schema of this %s source: %v", Name, err)
		}
	}
	s.schema = schema
	return nil
}

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

// sample reads up to sampleSize messages from the start of the topic,
// spread over the partitions, for schema inference.
func (s *source) sample(ctx context.Context) ([][]byte, error) {
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
	per := max(1, sampleSize/len(m.partitions))
	ranges := map[int32][2]int64{}
	for _, p := range m.partitions {
		start := earliest[p]
		if end := min(latest[p], start+int64(per)); start < end {
			ranges[p] = [2]int64{start, end}
		}
	}
	if len(ranges) == 0 {
		return nil, nil
	}
	c, err := s.newConsumer(ranges, false)
	if err != nil {
		return nil, err
	}
	defer c.close()
	// The sample is bounded by the timeout as any other network call.
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var out [][]byte
	for len(out) < sampleSize {
		r, err := c.next(tctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() == nil && tctx.Err() != nil {
				return nil, pgerr.New(pgerrcode.ConnectionFailure, "%s topic %q: reading a sample of messages to infer the columns took longer than %v; set option \"columns\"", Name, s.set.topic, s.timeout)
			}
			return nil, err
		}
		out = append(out, r.Value)
	}
	return out, nil
}

// netErr translates a failed request: 57014 when ctx ended, else the
// brokers are unreachable (08001) or answered an error.
func (s *source) netErr(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return canceled(ctxErr)
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return s.kafkaErr(err)
	}
	e := pgerr.New(pgerrcode.SQLClientUnableToEstablishSQLConnection,
		"%s: %s %q: cannot reach brokers %s within %v: %v", Name, what, s.set.topic, strings.Join(s.set.brokers, ","), s.timeout, err)
	e.Cause = err
	return e
}

// kafkaErr translates an error code a broker answered.
func (s *source) kafkaErr(err error) error {
	var code string
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		e := pgerr.InvalidParameter("%s topic %q does not exist (brokers %s)", Name, s.set.topic, strings.Join(s.set.brokers, ","))
		e.Cause = err
		return e
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		code = pgerrcode.InsufficientPrivilege
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		code = pgerrcode.InvalidAuthorizationSpecification
	default:
		code = pgerrcode.ConnectionFailure
	}
	e := pgerr.New(code, "%s topic %q: %v", Name, s.set.topic, err)
	e.Cause = err
	return e
}

// canceled is a context's end as 57014.
func canceled(err error) error {
	e := pgerr.New(pgerrcode.QueryCanceled, "canceling the %s read: %v", Name, err)
	e.Cause = err
	return e
}

// kgoLogger sends franz-go's warnings and errors to the source's logger.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if level == kgo.LogLevelError {
		l.log.Error("kafka client: "+msg, keyvals...)
		return
	}
	l.log.Warn("kafka client: "+msg, keyvals...)
}
