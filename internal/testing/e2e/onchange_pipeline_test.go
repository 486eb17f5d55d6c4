package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOnChangePipelineChainThroughPsql is the example of issue 3 end to
// end through the real psql: a new JSON file in the landing directory makes
// the ON CHANGE pipeline events_clean append just that file's rows (its
// DROP ROW constraint dropping the rows without a user), then daily_revenue
// refreshes at its next tick and weekly_revenue, ON CHANGE of it, after it,
// with nobody typing a command.
func TestOnChangePipelineChainThroughPsql(t *testing.T) {
	landing, gen := t.TempDir(), t.TempDir()
	s := startServer(t, t.TempDir())
	conn := s.Connect(t)
	defer conn.Close(t.Context())
	// Two files of events; one row in each has no user_id. f1 keeps amounts
	// 10..50 (150), f2 keeps 70..90 (240).
	for _, f := range []struct {
		name     string
		from, to int
	}{{"f1.json", 0, 6}, {"f2.json", 6, 10}} {
		mustExec(t, conn, fmt.Sprintf(`COPY (SELECT CASE WHEN i IN (5, 9) THEN NULL ELSE 'u' || (i %% 3) END AS user_id,
			['click', 'buy'][1 + i %% 2] AS kind, TIMESTAMP '2024-11-14 10:00:00' + to_hours(i * 12) AS ts, (i + 1) * 10.0 AS amount
			FROM range(%d, %d) t(i)) TO '%s' (FORMAT json)`, f.from, f.to, filepath.Join(gen, f.name)))
	}
	copyFile(t, filepath.Join(gen, "f1.json"), landing)

	// As in the issue, except that daily_revenue refreshes EVERY '2 seconds'
	// instead of EVERY '1 minute', so the test need not wait for a minute.
	setup := fmt.Sprintf(`CREATE SOURCE events FROM FILES '%s/*.json' WITH (format = 'json');
CREATE PIPELINE events_clean
  ( CONSTRAINT has_user EXPECT (user_id IS NOT NULL) ON VIOLATION DROP ROW )
  PARTITION BY (event_date)
  REFRESH ON CHANGE
  WITH (retries = 3, retry_backoff = '5s')
  AS SELECT user_id, kind, CAST(ts AS DATE) AS event_date, amount FROM events;
CREATE MATERIALIZED VIEW daily_revenue
  ( CONSTRAINT non_negative EXPECT (revenue >= 0) ON VIOLATION FAIL )
  PARTITION BY (event_date)
  REFRESH EVERY '2 seconds'
  AS SELECT event_date, sum(amount) AS revenue, count(DISTINCT user_id) AS users
     FROM events_clean GROUP BY ALL;
CREATE MATERIALIZED VIEW weekly_revenue REFRESH ON CHANGE
  AS SELECT date_trunc('week', event_date) AS week, sum(revenue) FROM daily_revenue GROUP BY ALL;`, landing)
	if out, errOut, err := s.psql(t, "-c", setup); err != nil {
		t.Fatalf("setup: %v\n%s\n%s", err, out, errOut)
	}
	query := func(q string) string {
		t.Helper()
		out, errOut, err := s.psql(t, "-At", "-c", q)
		if err != nil {
			t.Fatalf("%s: %v: %s", q, err, errOut)
		}
		return strings.TrimSpace(out)
	}
	const cleanRows = `SELECT count(*) || ' ' || sum(amount)::BIGINT FROM events_clean`
	const weekly = `SELECT sum("sum(revenue)")::BIGINT FROM weekly_revenue`
	if got := query(cleanRows); got != "5 150" {
		t.Fatalf("events_clean = %q, want 5 rows, 150", got)
	}
	if got := query(weekly); got != "150" {
		t.Fatalf("weekly_revenue = %q, want 150", got)
	}
	if got := query(`SELECT kind || ' ' || refresh FROM sluice.schedules WHERE object = 'events_clean'`); got != "pipeline ON CHANGE" {
		t.Errorf("sluice.schedules for events_clean: %q", got)
	}
	if out, errOut, err := s.psql(t, "-c", `\dm`); err != nil || !strings.Contains(out, "events_clean") {
		t.Errorf("\\dm does not list the pipeline events_clean (%v):\n%s%s", err, out, errOut)
	}

	// A new file lands: events_clean appends its rows within about the poll
	// interval, then the views downstream follow.
	landed := time.Now()
	copyFile(t, filepath.Join(gen, "f2.json"), landing)
	wait := func(what, q, want string, timeout time.Duration) time.Duration {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			got := query(q)
			if got == want {
				return time.Since(landed)
			}
			if time.Now().After(deadline) {
				runs := query(`SELECT object || ' ' || trigger || ' ' || status || ' ' || coalesce(error, '') FROM sluice.runs ORDER BY run_id`)
				t.Fatalf("%s = %q, never %q; runs:\n%s", what, got, want, runs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	d := wait("events_clean", cleanRows, "8 390", 10*time.Second)
	t.Logf("events_clean appended the new file's rows %v after it landed", d)
	if d > 5*time.Second {
		t.Errorf("events_clean took %v to append a new file's rows, want about the 1s poll interval", d)
	}
	d = wait("weekly_revenue", weekly, "390", 20*time.Second)
	t.Logf("weekly_revenue saw the new file's rows %v after it landed", d)

	// The pipeline's change run read only the new file: 4 rows in, 3 out.
	if got := query(`SELECT rows_in || ' ' || rows_out FROM sluice.runs WHERE object = 'events_clean' AND trigger = 'change' AND rows_out > 0`); got != "4 3" {
		t.Errorf("events_clean change runs (rows in, out) = %q, want one run reading 4 rows and appending 3", got)
	}
	if got := query(`SELECT string_agg(violations::VARCHAR, ',' ORDER BY run_id) FROM sluice.quality WHERE object = 'events_clean' AND "constraint" = 'has_user'`); !strings.HasPrefix(got, "1,1") {
		t.Errorf("sluice.quality for events_clean has_user = %q, want 1 dropped row per run that read a file", got)
	}
	// Order: the pipeline's run, then a scheduled daily_revenue refresh, then
	// weekly_revenue on its change.
	order := query(`WITH p AS (SELECT min(run_id) AS id FROM sluice.runs WHERE object = 'events_clean' AND trigger = 'change' AND rows_out > 0),
		d AS (SELECT min(run_id) AS id FROM sluice.runs, p WHERE object = 'daily_revenue' AND trigger = 'schedule' AND status = 'succeeded' AND run_id > p.id),
		w AS (SELECT min(run_id) AS id FROM sluice.runs, d WHERE object = 'weekly_revenue' AND trigger = 'change' AND run_id > d.id)
		SELECT (p.id IS NOT NULL AND d.id IS NOT NULL AND w.id IS NOT NULL)::VARCHAR FROM p, d, w`)
	if order != "true" {
		t.Errorf("want events_clean's change run, then daily_revenue's scheduled refresh, then weekly_revenue's change refresh; runs:\n%s",
			query(`SELECT run_id || ' ' || object || ' ' || trigger || ' ' || status FROM sluice.runs ORDER BY run_id`))
	}
	mustExec(t, conn, `ALTER PIPELINE events_clean SUSPEND`)
	mustExec(t, conn, `ALTER MATERIALIZED VIEW daily_revenue SUSPEND`)
}
