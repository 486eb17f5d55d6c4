package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A Connector opens sources of one kind (KAFKA, POSTGRES, HTTP). It
// declares its options, and Open validates them (Specs.Validate: 22023
// naming the option) and reaches the endpoint, bounded by ctx and by the
// connector's own timeouts, so an unreachable endpoint is a clear error,
// not a hang.
//
// Connectors that DuckDB scans natively (FILES) are not Connectors: they
// hand the engine a table expression instead (see connectors/files).
type Connector interface {
	// Name is the keyword after FROM, upper case: "KAFKA".
	Name() string
	// Options declares the options; docs/connectors.md documents the same.
	Options() Specs
	// Open validates cfg and returns a source whose schema is known.
	Open(ctx context.Context, cfg Config) (Source, error)
}

// Config is what CREATE SOURCE gave a connector.
type Config struct {
	// Location is the quoted text after FROM X (HTTP's URL), "" if none.
	Location string
	// Options are the raw WITH options; Open validates them.
	Options map[string]string
	// Allocator allocates the record batches' buffers.
	Allocator memory.Allocator
	// Logger is for the connector's own diagnostics. Never log secrets.
	Logger *slog.Logger
	// Timeout bounds each network call (connect, request). 0 = 10 s.
	Timeout time.Duration
	// Schema, when set, is the schema fixed when the source was created
	// (the gateway keeps it in the catalog): Open uses it instead of
	// inferring one, so a restart never changes a source's columns.
	Schema *arrow.Schema
}

// TimeoutOrDefault is c.Timeout, or 10 s when unset.
func (c Config) TimeoutOrDefault() time.Duration {
	if c.Timeout <= 0 {
		return 10 * time.Second
	}
	return c.Timeout
}

// Position records how far an incremental read got, in a connector's own
// text form (JSON): Kafka the next offset of each partition, PostgreSQL the
// last cursor value, HTTP the ETag or Last-Modified of the content read.
// The empty position is the start (for Kafka: start_offset). Positions are
// committed in the catalog with a pipeline run's output files, so a run
// reads exactly the data between its start and end positions.
type Position string

// Column types a connector may use: Boolean, Int16, Int32, Int64, Float32,
// Float64, String, Binary, Date32, Timestamp (microseconds, zone "" or
// "UTC"), Time64 (microseconds), Decimal128 (precision <= 38), and List of
// those. A String field whose metadata has TypeKey = "json" or "uuid"
// becomes a DuckDB JSON or UUID column.
const TypeKey = "sluice.type"

// A Source reads one configured source. It is safe for concurrent use:
// queries and pipeline runs read it at the same time.
type Source interface {
	// Schema is the columns every read returns, fixed when the source is
	// created (CREATE SOURCE reports it, queries bind to it).
	Schema() *arrow.Schema
	// Latest is the position a read that starts now ends at: Kafka's high
	// watermarks, the cursor column's maximum, the content's ETag. It is
	// how pipelines bound a run and how ON CHANGE sees new data.
	Latest(ctx context.Context) (Position, error)
	// Plan splits the read of everything after from up to and including
	// to into parts that can be read in parallel. from "" reads from the
	// start; to "" reads up to Latest. Reading the same (from, to] twice
	// returns the same rows.
	Plan(ctx context.Context, from, to Position) ([]Split, error)
	// Close releases clients and connections.
	Close() error
}

// Lagger is an optional power of a Source: Lag counts the records
// between two positions, (from, to], without reading them (Kafka: the
// offsets between them). It is how far a pipeline is behind, for metrics.
type Lagger interface {
	Lag(from, to Position) (int64, error)
}

// A Split is one independently readable part of a read: a Kafka partition's
// offset range, a key range of a PostgreSQL table, one HTTP document.
type Split interface {
	// Open starts reading. The reader ends when ctx ends.
	Open(ctx context.Context) (BatchReader, error)
}

// A BatchReader returns record batches with the source's schema, one at a
// time: the caller releases each before asking for the next, so memory
// stays bounded by the batch size times the readers in flight
// (backpressure comes from the caller not asking).
type BatchReader interface {
	// Next returns the next batch, or (nil, io.EOF) at the end.
	Next() (arrow.RecordBatch, error)
	Close() error
}

// Registry holds the connectors by name. It is a value built in
// cmd/gateway (tests build their own); registering a name twice panics, as
// database/sql.Register does.
type Registry struct {
	byName map[string]Connector
}

// NewRegistry returns a registry holding cs.
func NewRegistry(cs ...Connector) *Registry {
	r := &Registry{byName: map[string]Connector{}}
	for _, c := range cs {
		r.Register(c)
	}
	return r
}

// Register adds c; a duplicate name panics.
func (r *Registry) Register(c Connector) {
	name := strings.ToUpper(c.Name())
	if _, dup := r.byName[name]; dup {
		panic(fmt.Sprintf("connectors: %s registered twice", name))
	}
	r.byName[name] = c
}

// Lookup returns the connector called name (any case).
func (r *Registry) Lookup(name string) (Connector, bool) {
	if r == nil {
		return nil, false
	}
	c, ok := r.byName[strings.ToUpper(name)]
	return c, ok
}

// Names lists the registered connectors, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	n := make([]string, 0, len(r.byName))
	for k := range r.byName {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
