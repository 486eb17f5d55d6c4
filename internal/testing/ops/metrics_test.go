package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-db/sluice/internal/testing/testserver"
)

// TestPrometheus: a real Prometheus scrapes the real gateway's admin
// listener while the test refreshes a view, fails the refresh of another
// (its quality constraint), ingests from Kafka through a pipeline and
// drops an object; PromQL through Prometheus's HTTP API then returns the
// expected series. The alerting rules of docs/prometheus/alerts.yml are
// loaded too: each evaluates without error, and the failing object's
// alert is raised. And the failed run's log line carries the run_id of its
// row in sluice.runs.
func TestPrometheus(t *testing.T) {
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	brokerAddr := broker.ListenAddrs()[0]
	prod, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.DefaultProduceTopic("events"), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	next := 0
	produce := func(n int) {
		t.Helper()
		recs := make([]*kgo.Record, n)
		for i := range recs {
			recs[i] = &kgo.Record{Value: fmt.Appendf(nil, `{"id": %d, "amount": %d}`, next+i, (next+i)%7)}
		}
		next += n
		if err := prod.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(100)

	s := startGateway(t, "--max-connections", "2")
	prom := startPrometheus(t, []string{s.Admin}, filepath.Join(repoRoot, "docs", "prometheus", "alerts.yml"))
	conn := s.connect(t)
	prom.waitFor(t, `up{job="sluice"}`, "the gateway is scraped", one(1))
	prom.waitFor(t, `sluice_ready`, "the gateway is ready", one(1))

	// A refresh that succeeds, on a schedule: its freshness target is
	// the interval.
	mustExec(t, conn, `CREATE MATERIALIZED VIEW fresh REFRESH EVERY '1 hour' AS SELECT 42 AS answer`)
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW fresh`)
	// A refresh that fails: the input changes under a FAIL constraint.
	csv := filepath.Join(t.TempDir(), "in.csv")
	writeFile(t, csv, "x\n1\n2\n")
	mustExec(t, conn, fmt.Sprintf(`CREATE MATERIALIZED VIEW checked ( CONSTRAINT positive EXPECT (x > 0) ON VIOLATION FAIL )
		AS SELECT x FROM read_csv('%s')`, csv))
	writeFile(t, csv, "x\n-1\n2\n-3\n")
	_, err = conn.Exec(t.Context(), `REFRESH MATERIALIZED VIEW checked`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23514" {
		t.Fatalf("refresh against the constraint: %v, want 23514", err)
	}
	// A refresh whose input file disappeared: retried once, then failed.
	gone := filepath.Join(t.TempDir(), "gone.csv")
	writeFile(t, gone, "y\n1\n")
	mustExec(t, conn, fmt.Sprintf(`CREATE MATERIALIZED VIEW gone WITH (retries = 1, retry_backoff = '10ms') AS SELECT y FROM read_csv('%s')`, gone))
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `REFRESH MATERIALIZED VIEW gone`); err == nil {
		t.Fatal("a refresh of a missing file succeeded")
	}
	// A Kafka ingest: the pipeline's first run reads the 100 records.
	mustExec(t, conn, fmt.Sprintf(`CREATE SOURCE events FROM KAFKA WITH (brokers = '%s', topic = 'events', format = 'json')`, brokerAddr))
	mustExec(t, conn, `CREATE PIPELINE ingest AS SELECT id, amount FROM events`)

	prom.waitFor(t, `sum(sluice_refresh_runs_total{object="fresh", outcome="succeeded"})`, "successful refreshes of fresh", one(2))
	prom.waitFor(t, `sluice_object_freshness_target_seconds{object="fresh"}`, "fresh's target", one(3600))
	prom.waitFor(t, `sluice_object_staleness_seconds{object="fresh"} < 300`, "fresh's staleness", func(s []sample) bool { return len(s) == 1 && s[0].Value >= 0 })
	prom.waitFor(t, `sluice_object_failing{object="fresh"}`, "fresh does not fail", one(0))
	prom.waitFor(t, `sluice_refresh_runs_total{object="checked", outcome="failed", trigger="manual"}`, "the failed refresh", one(1))
	prom.waitFor(t, `sluice_quality_violations_total{object="checked", constraint="positive", action="FAIL"}`, "violations of positive", one(2))
	prom.waitFor(t, `sluice_object_failing{object="checked"}`, "checked fails", one(1))
	prom.waitFor(t, `sluice_queries_total{outcome="error", sqlstate_class="23"}`, "the client's error", one(1))
	prom.waitFor(t, `sluice_refresh_retries_total{object="gone"}`, "the retry", one(1))
	prom.waitFor(t, `sluice_refresh_runs_total{object="gone", outcome="failed"}`, "both failed attempts", one(2))
	prom.waitFor(t, `sluice_refresh_rows_written_total{object="ingest", kind="pipeline"}`, "the first run's rows", one(100))
	prom.waitFor(t, `sluice_connector_lag_records{object="ingest", source="events"}`, "no lag after the first run", one(0))
	prom.waitFor(t, `sluice_connector_behind{object="ingest", source="events"}`, "caught up", one(0))

	// New records: the pipeline is behind by as many, until it runs.
	produce(37)
	prom.waitFor(t, `sluice_connector_lag_records{object="ingest", source="events"}`, "lag of 37 records", one(37))
	prom.waitFor(t, `sluice_connector_behind{object="ingest", source="events"}`, "behind", one(1))
	mustExec(t, conn, `REFRESH PIPELINE ingest`)
	prom.waitFor(t, `sluice_connector_lag_records{object="ingest", source="events"}`, "no lag after the run", one(0))
	prom.waitFor(t, `sluice_refresh_rows_written_total{object="ingest"}`, "rows of both runs", one(137))
	prom.waitFor(t, `sum(sluice_refresh_runs_total{object="ingest", outcome="succeeded"})`, "two pipeline runs", one(2))

	// The wire: queries, their latency, rows and bytes, connections and
	// a refusal (max_connections is 2: the test holds one).
	var answer int
	if err := conn.QueryRow(t.Context(), `SELECT answer FROM fresh`).Scan(&answer); err != nil || answer != 42 {
		t.Fatalf("SELECT answer FROM fresh: %d, %v", answer, err)
	}
	second := s.connect(t)
	if _, err := pgx.Connect(t.Context(), s.connString()); err == nil || !strings.Contains(err.Error(), "53300") {
		t.Fatalf("a third client: %v, want 53300", err)
	}
	second.Close(t.Context())
	prom.waitFor(t, `sluice_connections_refused_total{reason="too_many_clients"}`, "the refused client", one(1))
	prom.waitFor(t, `sluice_connections_open`, "one connection open", one(1))
	prom.waitFor(t, `sluice_connections_total >= 4`, "connections accepted", func(s []sample) bool { return len(s) == 1 })
	prom.waitFor(t, `sluice_rows_sent_total`, "the row sent", one(1))
	prom.waitFor(t, `sluice_sent_bytes_total > 1000`, "bytes sent", func(s []sample) bool { return len(s) == 1 })
	prom.waitFor(t, `histogram_quantile(0.99, sum by (le) (rate(sluice_query_duration_seconds_bucket[1m]))) > 0`, "query latency", func(s []sample) bool { return len(s) == 1 })
	prom.waitFor(t, `sum(sluice_duckdb_memory_bytes) > 0`, "DuckDB's memory", func(s []sample) bool { return len(s) == 1 })
	prom.waitFor(t, `sluice_scheduler_queue_depth`, "nothing due", one(0))
	prom.waitFor(t, `count(go_goroutines) + count(process_resident_memory_bytes)`, "runtime and process collectors", one(2))

	// The alerting rules: every one evaluates, and checked's is raised.
	prom.waitFor(t, `ALERTS{alertname="SluiceObjectFailing", object="checked"}`, "the failing object's alert", func(s []sample) bool { return len(s) == 1 })
	checkRulesHealthy(t, prom)
	// Every expression of the Grafana dashboard evaluates.
	exprs, _ := dashboardExprs(t)
	for title, es := range exprs {
		for _, e := range es {
			if _, err := prom.query(t.Context(), e); err != nil {
				t.Errorf("dashboard panel %q: %s: %v", title, e, err)
			}
		}
	}
	checkMetricsDocumented(t, s.Admin)

	// A dropped object leaves the series.
	mustExec(t, conn, `DROP MATERIALIZED VIEW fresh`)
	prom.waitFor(t, `sluice_refresh_runs_total{object="fresh"}`, "fresh's runs after DROP", none)
	prom.waitFor(t, `sluice_object_staleness_seconds{object="fresh"}`, "fresh's staleness after DROP", none)

	// The failed run's log line carries the id of its row in sluice.runs.
	var runID int64
	if err := conn.QueryRow(t.Context(), `SELECT run_id FROM sluice.runs WHERE object = 'checked' AND status = 'failed'`).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^.*msg="refresh failed" object=public\.checked .*$`).FindAllString(s.Log.String(), -1)
	want := fmt.Sprintf("object=public.checked run_id=%d ", runID)
	if len(line) != 1 || !strings.Contains(line[0], want) || !strings.Contains(line[0], "sqlstate=23514") {
		t.Fatalf("log lines of the failed refresh: %q, want one with %q", line, want)
	}
	// And every line about a run names its object and run id.
	for _, l := range regexp.MustCompile(`(?m)^.*msg="(refresh|pipeline run) (succeeded|failed)".*$`).FindAllString(s.Log.String(), -1) {
		if !regexp.MustCompile(`object=\S+ run_id=\d+ `).MatchString(l) {
			t.Errorf("a run's log line without object and run_id: %s", l)
		}
	}
}

// checkMetricsDocumented reads the admin listener's /metrics: every sluice_
// metric family it exports is in docs/operations.md.
func checkMetricsDocumented(t *testing.T, admin string) {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	families := regexp.MustCompile(`(?m)^# TYPE (sluice_[a-z_]+) `).FindAllStringSubmatch(string(body), -1)
	if len(families) < 25 {
		t.Fatalf("/metrics has %d sluice_ families:\n%s", len(families), body)
	}
	for _, f := range families {
		if !strings.Contains(string(doc), "`"+f[1]+"`") {
			t.Errorf("/metrics exports %s, which docs/operations.md does not list", f[1])
		}
	}
}

// checkRulesHealthy asks Prometheus for its rules: every rule of
// alerts.yml was evaluated without error.
func checkRulesHealthy(t *testing.T, prom *promServer) {
	t.Helper()
	var data struct {
		Groups []struct {
			Rules []struct {
				Name           string `json:"name"`
				Health         string `json:"health"`
				LastError      string `json:"lastError"`
				LastEvaluation string `json:"lastEvaluation"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := prom.api(t.Context(), "/api/v1/rules", url.Values{}, &data); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				t.Errorf("rule %s: health %q: %s", r.Name, r.Health, r.LastError)
			}
		}
	}
	if n < 8 {
		t.Errorf("Prometheus has %d rules loaded from alerts.yml", n)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gateway is the binary running with its admin listener on a port of its
// own.
type gateway struct {
	*testserver.Process
	Admin string // host:port of the admin listener
}

// startGateway starts the gateway binary with --admin-listen on a free
// port and extra serve flags.
func startGateway(t *testing.T, extra ...string) *gateway {
	t.Helper()
	admin := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	dataDir := t.TempDir()
	p := testserver.Start(t, testserver.Options{
		Bin: gatewayBin, Dir: repoRoot,
		Args: func(port int) []string {
			return append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir,
				"--admin-listen", admin, "--threads", "1"}, extra...)
		},
		Ready: func(ctx context.Context, port int) error {
			conn, err := pgx.Connect(ctx, connString(port))
			if err != nil {
				return err
			}
			return conn.Close(ctx)
		},
	})
	return &gateway{Process: p, Admin: admin}
}

func connString(port int) string {
	return fmt.Sprintf("postgres://sluice@127.0.0.1:%d/sluice?sslmode=disable&connect_timeout=5", port)
}

func (g *gateway) connString() string { return connString(g.Port) }

func (g *gateway) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), g.connString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
