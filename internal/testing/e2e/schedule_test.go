package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyFile lands a file the way an upstream system would: written aside,
// then renamed into the watched directory.
func copyFile(t *testing.T, src, dstDir string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dstDir, ".tmp-"+filepath.Base(src))
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dstDir, filepath.Base(src))); err != nil {
		t.Fatal(err)
	}
}

// TestOnChangeChainThroughPsql: a new file in a source's directory refreshes
// an ON CHANGE view, whose publish refreshes the ON CHANGE view over it,
// with nobody typing a command.
func TestOnChangeChainThroughPsql(t *testing.T) {
	landing := t.TempDir()
	copyFile(t, filepath.Join(repoRoot, "testdata/trips/trips-2024-11-13.csv"), landing)
	s := startServer(t, t.TempDir())
	setup := fmt.Sprintf(`CREATE SOURCE trips FROM FILES '%s/*.csv' WITH (format = 'csv', header = true);
CREATE MATERIALIZED VIEW daily REFRESH ON CHANGE
  AS SELECT CAST(pickup_at AS DATE) AS day, count(*) AS trips FROM trips GROUP BY ALL;
CREATE MATERIALIZED VIEW total REFRESH ON CHANGE AS SELECT sum(trips) AS trips FROM daily;`, landing)
	if out, errOut, err := s.psql(t, "-c", setup); err != nil {
		t.Fatalf("setup: %v\n%s\n%s", err, out, errOut)
	}
	total := func() string {
		out, errOut, err := s.psql(t, "-At", "-c", "SELECT trips FROM total")
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		return strings.TrimSpace(out)
	}
	if got := total(); got != "96" {
		t.Fatalf("total = %s, want 96", got)
	}
	copyFile(t, filepath.Join(repoRoot, "testdata/trips/trips-2024-11-14.csv"), landing)
	deadline := time.Now().Add(20 * time.Second)
	for total() != "208" {
		if time.Now().After(deadline) {
			out, _, _ := s.psql(t, "-c", "SELECT object, trigger, status, error FROM sluice.runs ORDER BY run_id")
			t.Fatalf("total never reached 208 after a new file landed; runs:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, _, err := s.psql(t, "-At", "-c", "SELECT object || ' ' || trigger FROM sluice.runs WHERE trigger = 'change' ORDER BY run_id")
	if err != nil {
		t.Fatal(err)
	}
	runs := strings.Fields(strings.ReplaceAll(out, "\n", " "))
	if len(runs) < 4 || runs[len(runs)-4] != "daily" || runs[len(runs)-2] != "total" {
		t.Errorf("change runs = %q, want daily then total", out)
	}
}

// TestMissedScheduleRunsOnceAfterRestart: ticks missed while the gateway
// was down run once at start, not once per missed tick.
func TestMissedScheduleRunsOnceAfterRestart(t *testing.T) {
	const every = 4 * time.Second // ticks fall on multiples of 4s since the epoch
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	conn := s.Connect(t)
	mustExec(t, conn, `CREATE MATERIALIZED VIEW ticking REFRESH EVERY '4 seconds' AS SELECT 1 AS x`)
	conn.Close(t.Context())
	s.Stop(t)
	// Stay down over two ticks, and come back just after a tick, so the next
	// regular tick is almost 4s away: a run in the first 2.5s is the catch-up.
	resume := time.Now().Add(2 * every).Truncate(every).Add(every + 300*time.Millisecond)
	time.Sleep(time.Until(resume))
	started := time.Now()
	s = startServer(t, dataDir)
	conn = s.Connect(t)
	deadline := started.Add(10 * time.Second)
	for mustQueryText(t, conn, `SELECT count(*) FROM sluice.runs WHERE object = 'ticking' AND trigger = 'schedule'`)[0][0] == "0" {
		if time.Now().After(deadline) {
			t.Fatal("the missed run never ran after the restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Until(started.Add(2500 * time.Millisecond)))
	got := mustQueryText(t, conn, fmt.Sprintf(`SELECT count(*) FROM sluice.runs WHERE object = 'ticking' AND trigger = 'schedule'
		AND started_at < to_timestamp(%f)`, float64(started.Add(2500*time.Millisecond).UnixMicro())/1e6))[0][0]
	if got != "1" {
		t.Errorf("%s runs at start for the missed ticks, want 1", got)
	}
	mustExec(t, conn, `ALTER MATERIALIZED VIEW ticking SUSPEND`)
	s.Stop(t)
}
