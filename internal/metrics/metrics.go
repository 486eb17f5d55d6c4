// Package metrics defines Sluice's Prometheus metrics (prefix sluice_) and
// records them. It implements the observers the recording parts define
// (wire.Observer, materialize.Observer), so that those never import
// Prometheus, and collects at scrape time what is read from the catalog,
// the scheduler, the connectors, DuckDB and the object storage cache
// (collect.go). docs/operations.md lists every metric.
//
// Labels hold only bounded values: object and schema names (bounded by the
// catalog, and removed when the object is dropped), constraint names,
// SQLSTATE classes, DuckDB's memory tags and fixed reasons; never query
// text, user input or role names.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/wire"
)

// Metrics records the gateway's metrics on the registry it was made with.
type Metrics struct {
	connOpen    prometheus.Gauge
	connTotal   prometheus.Counter
	connRefused *prometheus.CounterVec
	queries     *prometheus.CounterVec
	queriesOK   prometheus.Counter // queries{outcome="ok",sqlstate_class="00"}, the hot path's
	queryTime   prometheus.Histogram
	rowsSent    prometheus.Counter
	bytesSent   prometheus.Counter

	runs         *prometheus.CounterVec
	runTime      *prometheus.HistogramVec
	rowsWritten  *prometheus.CounterVec
	filesWritten *prometheus.CounterVec
	bytesWritten *prometheus.CounterVec
	retries      *prometheus.CounterVec
	violations   *prometheus.CounterVec
	// objectVecs are the vectors with schema and object labels, pruned of
	// dropped objects (prune).
	objectVecs []vec

	collectErrors *prometheus.CounterVec
	col           *collector

	mu sync.Mutex // guards seen and col's Inspector
	// seen holds the objects that have series, with when they got their
	// first one: an object absent from the catalog when a scrape began is
	// pruned only if it was seen before then.
	seen map[catalog.Ref]time.Time
}

// vec is a metric vector labelled by object.
type vec interface {
	prometheus.Collector
	DeletePartialMatch(prometheus.Labels) int
}

var (
	_ wire.Observer        = (*Metrics)(nil)
	_ materialize.Observer = (*Metrics)(nil)
)

// Buckets of the duration histograms, in seconds.
var (
	// A query: from a cached SELECT 1 (tens of microseconds) to a
	// minutes-long scan.
	queryBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	// A refresh or pipeline run: from a small view to an hour.
	runBuckets = []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
)

// Label names.
const (
	lSchema  = "schema"
	lObject  = "object"
	lKind    = "kind" // materialized_view or pipeline
	lTrigger = "trigger"
	lOutcome = "outcome"
)

// New makes the metrics and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	obj := []string{lSchema, lObject, lKind}
	m := &Metrics{
		connOpen: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_connections_open",
			Help: "Client connections open now (from accept to close, startup included)."}),
		connTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_connections_total",
			Help: "Client connections accepted."}),
		connRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connections_refused_total",
			Help: "Connections refused before their session started, by reason."}, []string{"reason"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_queries_total",
			Help: "Queries (simple Query messages, extended Executes, failed Parses and Binds) by outcome and SQLSTATE class."},
			[]string{lOutcome, "sqlstate_class"}),
		queryTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_query_duration_seconds",
			Help: "Duration of queries, from the message's arrival to its last row buffered.", Buckets: queryBuckets}),
		rowsSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_rows_sent_total",
			Help: "Rows sent to clients (DataRow and COPY TO STDOUT)."}),
		bytesSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_sent_bytes_total",
			Help: "Bytes written to client connections."}),

		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_refresh_runs_total",
			Help: "Refresh attempts and pipeline runs (rows of sluice.runs) by object, trigger and outcome."},
			[]string{lSchema, lObject, lKind, lTrigger, lOutcome}),
		runTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_refresh_duration_seconds",
			Help: "Duration of refresh attempts and pipeline runs.", Buckets: runBuckets}, obj),
		rowsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_refresh_rows_written_total",
			Help: "Rows written by successful refreshes and pipeline runs."}, obj),
		filesWritten: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_refresh_files_written_total",
			Help: "Parquet files written by successful refreshes and pipeline runs."}, obj),
		bytesWritten: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_refresh_written_bytes_total",
			Help: "Bytes of Parquet written by successful refreshes and pipeline runs."}, obj),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_refresh_retries_total",
			Help: "Failed attempts that were retried."}, obj),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_quality_violations_total",
			Help: "Rows violating an EXPECT constraint, by constraint and its action (FAIL, DROP ROW, WARN)."},
			[]string{lSchema, lObject, lKind, "constraint", "action"}),

		collectErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_metrics_collect_errors_total",
			Help: "Scrape-time collections that failed or timed out, by part (ready, objects, scheduler, connectors, duckdb)."}, []string{"part"}),

		seen: map[catalog.Ref]time.Time{},
	}
	m.queriesOK = m.queries.WithLabelValues("ok", "00")
	m.objectVecs = []vec{m.runs, m.runTime, m.rowsWritten, m.filesWritten, m.bytesWritten, m.retries, m.violations}
	m.col = &collector{m: m, now: time.Now, timeout: CollectTimeout}
	// The vectors labelled by object are collected by m.col, after it
	// pruned the dropped objects.
	reg.MustRegister(m.connOpen, m.connTotal, m.connRefused, m.queries, m.queryTime, m.rowsSent, m.bytesSent,
		m.collectErrors, m.col)
	for _, r := range []string{wire.RefusedTooManyClients, wire.RefusedTLSRequired, wire.RefusedAuthFailed, wire.RefusedProtocol, wire.RefusedSession} {
		m.connRefused.WithLabelValues(r) // present at 0, so rate() sees the first refusal
	}
	return m
}

// ConnectionOpened implements wire.Observer.
func (m *Metrics) ConnectionOpened() {
	m.connOpen.Inc()
	m.connTotal.Inc()
}

// ConnectionClosed implements wire.Observer.
func (m *Metrics) ConnectionClosed() { m.connOpen.Dec() }

// ConnectionRefused implements wire.Observer.
func (m *Metrics) ConnectionRefused(reason string) { m.connRefused.WithLabelValues(reason).Inc() }

// QueryDone implements wire.Observer: on success two atomic adds and one
// histogram observation, no label lookup.
func (m *Metrics) QueryDone(elapsed time.Duration, sqlstate string, rows int64) {
	if sqlstate == "" {
		m.queriesOK.Inc()
	} else {
		m.queries.WithLabelValues("error", sqlstateClass(sqlstate)).Inc()
	}
	m.queryTime.Observe(elapsed.Seconds())
	if rows > 0 {
		m.rowsSent.Add(float64(rows))
	}
}

// BytesSent implements wire.Observer.
func (m *Metrics) BytesSent(n int) { m.bytesSent.Add(float64(n)) }

// sqlstateClass is the first two characters of a SQLSTATE; anything that
// is not one (five digits or upper case letters) is XX, so the label stays
// bounded.
func sqlstateClass(code string) string {
	if len(code) != 5 {
		return "XX"
	}
	for i := range 5 {
		if c := code[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return "XX"
		}
	}
	return code[:2]
}

// kindLabel is a kind as a label value: materialized_view or pipeline.
func kindLabel(k catalog.Kind) string {
	if k == catalog.KindPipeline {
		return "pipeline"
	}
	return "materialized_view"
}

// RunDone implements materialize.Observer.
func (m *Metrics) RunDone(run *catalog.Run, kind catalog.Kind, outcome string, elapsed time.Duration) {
	m.saw(run.Object)
	s, o, k := run.Object.Schema, run.Object.Name, kindLabel(kind)
	m.runs.WithLabelValues(s, o, k, run.Trigger, outcome).Inc()
	m.runTime.WithLabelValues(s, o, k).Observe(elapsed.Seconds())
	rows, files, bytes := m.rowsWritten.WithLabelValues(s, o, k), m.filesWritten.WithLabelValues(s, o, k), m.bytesWritten.WithLabelValues(s, o, k)
	m.retries.WithLabelValues(s, o, k) // present at 0
	if outcome == materialize.RunSucceeded {
		rows.Add(float64(run.RowsOut))
		files.Add(float64(run.FilesWritten))
		bytes.Add(float64(run.BytesWritten))
	}
}

// Retried implements materialize.Observer.
func (m *Metrics) Retried(ref catalog.Ref, kind catalog.Kind) {
	m.saw(ref)
	m.retries.WithLabelValues(ref.Schema, ref.Name, kindLabel(kind)).Inc()
}

// Violations implements materialize.Observer.
func (m *Metrics) Violations(ref catalog.Ref, kind catalog.Kind, c catalog.Constraint, rows int64) {
	m.saw(ref)
	m.violations.WithLabelValues(ref.Schema, ref.Name, kindLabel(kind), c.Name, c.Action).Add(float64(rows))
}

// saw notes that ref has series.
func (m *Metrics) saw(ref catalog.Ref) {
	m.mu.Lock()
	if _, ok := m.seen[ref]; !ok {
		m.seen[ref] = time.Now()
	}
	m.mu.Unlock()
}

// prune removes the series of objects seen before since and absent from
// live (dropped).
func (m *Metrics) prune(live map[catalog.Ref]bool, since time.Time) {
	m.mu.Lock()
	var gone []catalog.Ref
	for ref, at := range m.seen {
		if !live[ref] && at.Before(since) {
			gone = append(gone, ref)
			delete(m.seen, ref)
		}
	}
	m.mu.Unlock()
	for _, ref := range gone {
		for _, v := range m.objectVecs {
			v.DeletePartialMatch(prometheus.Labels{lSchema: ref.Schema, lObject: ref.Name})
		}
	}
}
