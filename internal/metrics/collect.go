package metrics

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/materialize"
)

// Inspector is what the scrape-time collector reads (internal/gateway's
// Gateway implements it). Each call is bounded by its ctx.
type Inspector interface {
	Ready(ctx context.Context) error
	ObjectStates(ctx context.Context) ([]materialize.ObjectState, error)
	SchedulerQueue(ctx context.Context) (materialize.QueueState, error)
	Backlogs(ctx context.Context) ([]materialize.Backlog, error)
	EngineStats(ctx context.Context) (engine.Stats, error)
}

// ObjectCache is the object storage's local cache (connectors/s3.Store).
type ObjectCache interface {
	CacheStats() s3.CacheStats
}

// CollectTimeout bounds each part of a scrape-time collection; a part that
// takes longer is left out of that scrape (and counted in
// sluice_metrics_collect_errors_total).
const CollectTimeout = 5 * time.Second

// Inspect makes every scrape read in: object freshness, the scheduler's
// queue, pipelines' backlogs and connector lag, DuckDB's memory and
// temporary files; and, when cache is not nil, the object storage cache's
// counters. Call it once, before the metrics are served.
func (m *Metrics) Inspect(in Inspector, cache ObjectCache) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.col.in, m.col.cache = in, cache
}

var (
	objLabels     = []string{lSchema, lObject, lKind}
	backlogLabels = []string{lSchema, lObject, "source"}

	descLastSuccess = prometheus.NewDesc("sluice_object_last_success_timestamp_seconds",
		"When the object's last successful refresh or run ended (Unix time); absent before the first.", objLabels, nil)
	descStaleness = prometheus.NewDesc("sluice_object_staleness_seconds",
		"Seconds since the object's last successful refresh or run; absent before the first.", objLabels, nil)
	descTarget = prometheus.NewDesc("sluice_object_freshness_target_seconds",
		"The freshness the object's schedule promises: EVERY's interval or the gap between two CRON ticks; absent for MANUAL and ON CHANGE.", objLabels, nil)
	descFailing = prometheus.NewDesc("sluice_object_failing",
		"1 when the object's last refresh or run failed after its retries, else 0.", objLabels, nil)
	descSuspended = prometheus.NewDesc("sluice_object_suspended",
		"1 when the object's schedule is suspended, else 0.", objLabels, nil)

	descReady = prometheus.NewDesc("sluice_ready",
		"1 when the gateway is ready (/readyz: catalog open, DuckDB answers, scheduler running), else 0.", nil, nil)

	descQueueDepth = prometheus.NewDesc("sluice_scheduler_queue_depth",
		"Scheduled refreshes that are due and not started.", nil, nil)
	descQueueLag = prometheus.NewDesc("sluice_scheduler_lag_seconds",
		"How long the oldest due refresh that has not started has been due (0 when none is).", nil, nil)

	descPendingFiles = prometheus.NewDesc("sluice_pipeline_pending_files",
		"Files a pipeline's FILES source lists that no committed run consumed.", backlogLabels, nil)
	descPendingBytes = prometheus.NewDesc("sluice_pipeline_pending_bytes",
		"Bytes of the files of sluice_pipeline_pending_files.", backlogLabels, nil)
	descBehind = prometheus.NewDesc("sluice_connector_behind",
		"1 when a connector source's latest position is past the one the pipeline committed, else 0.", backlogLabels, nil)
	descLagRecords = prometheus.NewDesc("sluice_connector_lag_records",
		"Records a pipeline is behind a connector source (Kafka: offsets behind the high watermarks); absent for connectors that cannot count them.", backlogLabels, nil)

	descMemory = prometheus.NewDesc("sluice_duckdb_memory_bytes",
		"Memory DuckDB's buffer manager holds, by tag (duckdb_memory()).", []string{"tag"}, nil)
	descTempStorage = prometheus.NewDesc("sluice_duckdb_temporary_storage_bytes",
		"Bytes DuckDB spilled to the temporary directory, by tag (duckdb_memory()).", []string{"tag"}, nil)
	descTempFiles = prometheus.NewDesc("sluice_duckdb_temp_files",
		"Files in DuckDB's temporary directory (duckdb_temporary_files()).", nil, nil)
	descTempBytes = prometheus.NewDesc("sluice_duckdb_temp_files_bytes",
		"Bytes of the files in DuckDB's temporary directory.", nil, nil)

	descCacheHits = prometheus.NewDesc("sluice_s3_cache_hits_total",
		"Objects a read found in the object storage cache.", nil, nil)
	descCacheMisses = prometheus.NewDesc("sluice_s3_cache_misses_total",
		"Objects a read had to download into the object storage cache.", nil, nil)
	descCacheDownloaded = prometheus.NewDesc("sluice_s3_cache_downloaded_bytes_total",
		"Bytes downloaded into the object storage cache.", nil, nil)
	descCacheBytes = prometheus.NewDesc("sluice_s3_cache_bytes",
		"Bytes the object storage cache holds (running downloads' reservations included).", nil, nil)
	descCacheObjects = prometheus.NewDesc("sluice_s3_cache_objects",
		"Objects the object storage cache holds.", nil, nil)
	descCacheCapacity = prometheus.NewDesc("sluice_s3_cache_capacity_bytes",
		"The object storage cache's capacity (object_storage.cache_size).", nil, nil)
)

// collector reads its Inspector at scrape time, prunes the series of
// dropped objects, then collects the vectors labelled by object: a
// dropped object is gone from the very scrape that sees it gone.
type collector struct {
	m     *Metrics
	in    Inspector   // nil until Inspect
	cache ObjectCache // nil without object storage
	now   func() time.Time
	// timeout bounds each part (CollectTimeout).
	timeout time.Duration
	// busy marks the parts still running from an earlier scrape that
	// timed out: they are skipped rather than piled up.
	busy [nparts]atomic.Bool
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReady, descLastSuccess, descStaleness, descTarget, descFailing, descSuspended,
		descQueueDepth, descQueueLag, descPendingFiles, descPendingBytes, descBehind, descLagRecords,
		descMemory, descTempStorage, descTempFiles, descTempBytes,
		descCacheHits, descCacheMisses, descCacheDownloaded, descCacheBytes, descCacheObjects, descCacheCapacity} {
		ch <- d
	}
	for _, v := range c.m.objectVecs {
		v.Describe(ch)
	}
}

// The parts of a collection, each bounded by CollectTimeout and run at
// the same time.
const nparts = 5

var parts = [nparts]struct {
	name    string
	collect func(c *collector, ctx context.Context, in Inspector) ([]prometheus.Metric, error)
}{
	{"ready", (*collector).ready},
	{"objects", (*collector).objects},
	{"scheduler", (*collector).scheduler},
	{"connectors", (*collector).connectors},
	{"duckdb", (*collector).duckdb},
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	in, cache := c.in, c.cache
	c.m.mu.Unlock()
	if in != nil {
		c.inspect(in, ch)
	}
	if cache != nil {
		s := cache.CacheStats()
		ch <- prometheus.MustNewConstMetric(descCacheHits, prometheus.CounterValue, float64(s.Hits))
		ch <- prometheus.MustNewConstMetric(descCacheMisses, prometheus.CounterValue, float64(s.Misses))
		ch <- prometheus.MustNewConstMetric(descCacheDownloaded, prometheus.CounterValue, float64(s.DownloadedBytes))
		ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(s.Bytes))
		ch <- prometheus.MustNewConstMetric(descCacheObjects, prometheus.GaugeValue, float64(s.Objects))
		ch <- prometheus.MustNewConstMetric(descCacheCapacity, prometheus.GaugeValue, float64(s.Capacity))
	}
	for _, v := range c.m.objectVecs {
		v.Collect(ch)
	}
}

// inspect runs the parts at the same time, each bounded by
// CollectTimeout, and sends what those that finished in time found.
func (c *collector) inspect(in Inspector, ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	results := make([][]prometheus.Metric, len(parts))
	for i, p := range parts {
		if !c.busy[i].CompareAndSwap(false, true) {
			c.m.collectErrors.WithLabelValues(p.name).Inc()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			defer cancel()
			done := make(chan []prometheus.Metric, 1)
			go func() {
				defer c.busy[i].Store(false)
				ms, err := p.collect(c, ctx, in)
				if err != nil {
					c.m.collectErrors.WithLabelValues(p.name).Inc()
				}
				done <- ms
			}()
			select {
			case ms := <-done:
				results[i] = ms
			case <-ctx.Done():
				// Left out of this scrape; the part ends on its own.
				c.m.collectErrors.WithLabelValues(p.name).Inc()
			}
		}()
	}
	wg.Wait()
	for _, ms := range results {
		for _, m := range ms {
			ch <- m
		}
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// objects is the freshness of every materialized view and pipeline; it
// also prunes the series of dropped objects.
func (c *collector) objects(ctx context.Context, in Inspector) ([]prometheus.Metric, error) {
	start := c.now()
	states, err := in.ObjectStates(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	live := make(map[catalog.Ref]bool, len(states))
	var out []prometheus.Metric
	for _, st := range states {
		live[st.Ref] = true
		l := []string{st.Ref.Schema, st.Ref.Name, kindLabel(st.Kind)}
		if !st.LastSuccess.IsZero() {
			out = append(out,
				gauge(descLastSuccess, float64(st.LastSuccess.UnixNano())/1e9, l...),
				gauge(descStaleness, max(0, now.Sub(st.LastSuccess).Seconds()), l...))
		}
		if st.Target > 0 {
			out = append(out, gauge(descTarget, st.Target.Seconds(), l...))
		}
		out = append(out, gauge(descFailing, bool01(st.Failing), l...), gauge(descSuspended, bool01(st.Suspended), l...))
	}
	c.m.prune(live, start)
	return out, nil
}

func (c *collector) ready(ctx context.Context, in Inspector) ([]prometheus.Metric, error) {
	return []prometheus.Metric{gauge(descReady, bool01(in.Ready(ctx) == nil))}, nil
}

func (c *collector) scheduler(ctx context.Context, in Inspector) ([]prometheus.Metric, error) {
	q, err := in.SchedulerQueue(ctx)
	if err != nil {
		return nil, err
	}
	return []prometheus.Metric{gauge(descQueueDepth, float64(q.Depth)), gauge(descQueueLag, q.Lag.Seconds())}, nil
}

func (c *collector) connectors(ctx context.Context, in Inspector) ([]prometheus.Metric, error) {
	bs, err := in.Backlogs(ctx)
	var out []prometheus.Metric
	for _, b := range bs {
		l := []string{b.Pipeline.Schema, b.Pipeline.Name, b.Source}
		if !b.Connector {
			out = append(out, gauge(descPendingFiles, float64(b.Files), l...), gauge(descPendingBytes, float64(b.Bytes), l...))
			continue
		}
		out = append(out, gauge(descBehind, bool01(b.Behind), l...))
		if b.Records >= 0 {
			out = append(out, gauge(descLagRecords, float64(b.Records), l...))
		}
	}
	return out, err
}

func (c *collector) duckdb(ctx context.Context, in Inspector) ([]prometheus.Metric, error) {
	st, err := in.EngineStats(ctx)
	if err != nil {
		return nil, err
	}
	var out []prometheus.Metric
	for _, m := range st.Memory {
		out = append(out, gauge(descMemory, float64(m.Memory), m.Tag), gauge(descTempStorage, float64(m.Temporary), m.Tag))
	}
	return append(out, gauge(descTempFiles, float64(st.TempFiles)), gauge(descTempBytes, float64(st.TempBytes))), nil
}
