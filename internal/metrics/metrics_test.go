package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/materialize"
)

// stubInspector stands in for the gateway (the integration test in
// internal/testing/ops scrapes the real one): a fixed catalog, and a
// Backlogs that can be made to hang.
type stubInspector struct {
	states []materialize.ObjectState
	hang   chan struct{} // Backlogs blocks on it when set
}

func (s *stubInspector) Ready(context.Context) error { return nil }

func (s *stubInspector) ObjectStates(context.Context) ([]materialize.ObjectState, error) {
	return s.states, nil
}

func (s *stubInspector) SchedulerQueue(context.Context) (materialize.QueueState, error) {
	return materialize.QueueState{Depth: 2, Lag: 3 * time.Second}, nil
}

func (s *stubInspector) Backlogs(context.Context) ([]materialize.Backlog, error) {
	if s.hang != nil {
		<-s.hang
	}
	return []materialize.Backlog{
		{Pipeline: catalog.Ref{Schema: "public", Name: "p"}, Source: "files_src", Files: 3, Bytes: 300, Records: -1},
		{Pipeline: catalog.Ref{Schema: "public", Name: "p"}, Source: "kafka_src", Connector: true, Behind: true, Records: 42},
	}, nil
}

func (s *stubInspector) EngineStats(context.Context) (engine.Stats, error) {
	return engine.Stats{Memory: []engine.MemoryUse{{Tag: "BASE_TABLE", Memory: 100}}}, nil
}

// TestPruneDropped: the series of an object absent from the catalog go
// in the same scrape; those of live objects stay.
func TestPruneDropped(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	a, b := catalog.Ref{Schema: "public", Name: "a"}, catalog.Ref{Schema: "public", Name: "b"}
	for _, ref := range []catalog.Ref{a, b} {
		m.RunDone(&catalog.Run{Object: ref, Trigger: "manual", RowsOut: 5, FilesWritten: 1, BytesWritten: 10}, catalog.KindMaterializedView, materialize.RunSucceeded, time.Second)
		m.Violations(ref, catalog.KindMaterializedView, catalog.Constraint{Name: "c", Action: "WARN"}, 2)
	}
	time.Sleep(time.Millisecond) // seen strictly before the scrape
	m.Inspect(&stubInspector{states: []materialize.ObjectState{{Ref: a, Kind: catalog.KindMaterializedView, LastSuccess: time.Now(), Target: time.Minute}}}, nil)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP sluice_refresh_rows_written_total Rows written by successful refreshes and pipeline runs.
# TYPE sluice_refresh_rows_written_total counter
sluice_refresh_rows_written_total{kind="materialized_view",object="a",schema="public"} 5
# HELP sluice_quality_violations_total Rows violating an EXPECT constraint, by constraint and its action (FAIL, DROP ROW, WARN).
# TYPE sluice_quality_violations_total counter
sluice_quality_violations_total{action="WARN",constraint="c",kind="materialized_view",object="a",schema="public"} 2
# HELP sluice_object_freshness_target_seconds The freshness the object's schedule promises: EVERY's interval or the gap between two CRON ticks; absent for MANUAL and ON CHANGE.
# TYPE sluice_object_freshness_target_seconds gauge
sluice_object_freshness_target_seconds{kind="materialized_view",object="a",schema="public"} 60
# HELP sluice_connector_lag_records Records a pipeline is behind a connector source (Kafka: offsets behind the high watermarks); absent for connectors that cannot count them.
# TYPE sluice_connector_lag_records gauge
sluice_connector_lag_records{object="p",schema="public",source="kafka_src"} 42
# HELP sluice_pipeline_pending_files Files a pipeline's FILES source lists that no committed run consumed.
# TYPE sluice_pipeline_pending_files gauge
sluice_pipeline_pending_files{object="p",schema="public",source="files_src"} 3
# HELP sluice_scheduler_queue_depth Scheduled refreshes that are due and not started.
# TYPE sluice_scheduler_queue_depth gauge
sluice_scheduler_queue_depth 2
`), "sluice_refresh_rows_written_total", "sluice_quality_violations_total", "sluice_object_freshness_target_seconds",
		"sluice_connector_lag_records", "sluice_pipeline_pending_files", "sluice_scheduler_queue_depth"); err != nil {
		t.Fatal(err)
	}
}

// TestCollectTimeout: a part that hangs is left out of the scrape and
// counted; the others are there, and the next scrape does not start it
// again while it still runs.
func TestCollectTimeout(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.col.timeout = 100 * time.Millisecond
	in := &stubInspector{hang: make(chan struct{})}
	m.Inspect(in, nil)
	for range 2 {
		start := time.Now()
		n, err := testutil.GatherAndCount(reg, "sluice_connector_lag_records", "sluice_duckdb_memory_bytes")
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || time.Since(start) > 2*time.Second {
			t.Fatalf("%d series in %v: want DuckDB's only, at once", n, time.Since(start))
		}
	}
	if got := testutil.ToFloat64(m.collectErrors.WithLabelValues("connectors")); got != 2 {
		t.Errorf("collect errors of connectors: %v, want 2", got)
	}
	close(in.hang)
}

func TestSQLStateClass(t *testing.T) {
	for code, want := range map[string]string{"42P01": "42", "23514": "23", "57014": "57", "XX000": "XX", "": "XX", "4'2P01": "XX", "abcde": "XX"} {
		if got := sqlstateClass(code); got != want {
			t.Errorf("sqlstateClass(%q) = %q, want %q", code, got, want)
		}
	}
}
