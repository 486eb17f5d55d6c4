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
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

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
