package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/quickstart.golden with the normalised output (review the diff!)")

// TestQuickstartPsql runs the README's quickstart, testdata/quickstart.sql,
// through the real psql binary and compares its normalised output (see
// normalise) with testdata/quickstart.golden.
func TestQuickstartPsql(t *testing.T) {
	psqlPath(t)
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	stdout, stderr, err := s.psql(t, "--echo-all", "-f", "testdata/quickstart.sql")
	if err != nil {
		t.Fatalf("psql: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	got := normalise(stdout, dataDir, repoRoot)
	if stderr != "" {
		got += "-- stderr --\n" + normalise(stderr, dataDir, repoRoot)
	}
	golden := filepath.Join(repoRoot, "testdata", "quickstart.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", golden)
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -tags duckdb_arrow ./internal/testing/e2e -run TestQuickstartPsql -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("psql output differs from %s (rerun with -update if the change is intended)\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ between want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %q\n  got:  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestRestartKeepsDefinitions: sources, materialized views and their data
// survive a graceful stop and a start on the same data directory.
func TestRestartKeepsDefinitions(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	conn := s.Connect(t)
	csv := filepath.Join(repoRoot, "testdata", "trips", "*.csv")
	mustExec(t, conn, fmt.Sprintf(`CREATE SOURCE trips FROM FILES '%s' WITH (format = 'csv', header = true)`, csv))
	mustExec(t, conn, `CREATE MATERIALIZED VIEW daily_fares
  PARTITION BY (day)
  AS SELECT CAST(pickup_at AS DATE) AS day, zone, count(*) AS trips, sum(fare) AS fares
     FROM trips GROUP BY ALL`)

	const viewRows = `SELECT CAST(day AS VARCHAR), zone, trips, CAST(round(fares, 2) AS VARCHAR) FROM daily_fares ORDER BY day, zone`
	const sourceCount = `SELECT count(*) FROM trips`
	const partitions = `SELECT count(*) FROM sluice.partitions WHERE object = 'daily_fares'`
	before := mustQueryText(t, conn, viewRows)
	if len(before) == 0 {
		t.Fatal("daily_fares is empty after CREATE")
	}
	srcBefore := mustQueryText(t, conn, sourceCount)
	partsBefore := mustQueryText(t, conn, partitions)
	conn.Close(t.Context())

	s.Stop(t)
	s = startServer(t, dataDir)
	conn = s.Connect(t)

	if after := mustQueryText(t, conn, viewRows); !reflect.DeepEqual(after, before) {
		t.Errorf("daily_fares after restart:\n%v\nbefore:\n%v", after, before)
	}
	if got := mustQueryText(t, conn, sourceCount); !reflect.DeepEqual(got, srcBefore) {
		t.Errorf("count(*) FROM trips after restart = %v, before %v", got, srcBefore)
	}
	if got := mustQueryText(t, conn, partitions); !reflect.DeepEqual(got, partsBefore) {
		t.Errorf("sluice.partitions rows of daily_fares after restart = %v, before %v", got, partsBefore)
	}
	if got := fmt.Sprint(mustQueryText(t, conn, `SHOW SOURCES`)); !strings.Contains(got, "trips") {
		t.Errorf("SHOW SOURCES after restart does not list trips: %s", got)
	}
	if got := fmt.Sprint(mustQueryText(t, conn, `SHOW MATERIALIZED VIEWS`)); !strings.Contains(got, "daily_fares") {
		t.Errorf("SHOW MATERIALIZED VIEWS after restart does not list daily_fares: %s", got)
	}
	// The restored view refreshes, and keeps its rows.
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW daily_fares`)
	if after := mustQueryText(t, conn, viewRows); !reflect.DeepEqual(after, before) {
		t.Errorf("daily_fares after a refresh following the restart:\n%v\nbefore:\n%v", after, before)
	}

	t.Run("psql \\dm", func(t *testing.T) {
		psqlPath(t)
		out, errOut, err := s.psql(t, "-c", `\dm`)
		if err != nil {
			t.Fatalf("psql -c '\\dm': %v\n%s%s", err, out, errOut)
		}
		if !strings.Contains(out, "daily_fares") {
			t.Errorf("\\dm after restart does not list daily_fares:\n%s%s", out, errOut)
		}
	})
}

// TestCrashDuringRefresh kills the gateway (SIGKILL) while it refreshes a
// large materialized view; after a restart the previous version must be
// complete, no staging leftovers may remain under DATA_DIR/staging, and the
// next refresh must succeed.
func TestCrashDuringRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 5M rows; skipped with -short")
	}
	dataDir := t.TempDir()
	big := filepath.Join(t.TempDir(), "big.parquet")
	s := startServer(t, dataDir)
	conn := s.Connect(t)
	mustExec(t, conn, fmt.Sprintf(`COPY (
  SELECT i AS id, i %% 40 AS part, CAST(i %% 1000 AS DOUBLE) / 4 AS v, md5(CAST(i AS VARCHAR)) AS h
  FROM range(5000000) t(i)
) TO '%s' (FORMAT PARQUET)`, big))
	mustExec(t, conn, fmt.Sprintf(`CREATE SOURCE big FROM FILES '%s' WITH (format = 'parquet')`, big))
	mustExec(t, conn, `CREATE MATERIALIZED VIEW big_view
  PARTITION BY (part)
  AS SELECT id, part, v, h, md5(h) AS h2 FROM big`)
	const check = `SELECT count(*), sum(v), count(DISTINCT part), count(DISTINCT h2) FROM big_view`
	want := mustQueryText(t, conn, check)
	if want[0][0] != "5000000" {
		t.Fatalf("big_view has %v rows, want 5000000", want[0][0])
	}
	conn.Close(t.Context())

	killedDuring := false
	for _, delay := range []time.Duration{200 * time.Millisecond, 100 * time.Millisecond, 400 * time.Millisecond, 50 * time.Millisecond, 800 * time.Millisecond} {
		conn := s.Connect(t)
		done := make(chan error, 1)
		go func() {
			_, err := conn.Exec(context.Background(), `REFRESH MATERIALIZED VIEW big_view`)
			done <- err
		}()
		time.Sleep(delay)
		var finished bool
		select {
		case err := <-done:
			finished = true
			if err != nil {
				t.Fatalf("REFRESH failed before the kill: %v", err)
			}
		default:
		}
		s.Kill(t)
		if !finished {
			err := <-done
			killedDuring = err != nil
			if !killedDuring {
				t.Logf("refresh finished just before the kill after %s", delay)
			}
		} else {
			t.Logf("refresh finished within %s; trying a shorter or later kill", delay)
		}

		s = startServer(t, dataDir)
		conn = s.Connect(t)
		if got := mustQueryText(t, conn, check); !reflect.DeepEqual(got, want) {
			t.Fatalf("after SIGKILL at %s during REFRESH: %s = %v, want %v (the last good version)", delay, check, got, want)
		}
		assertNoStaging(t, dataDir)
		conn.Close(t.Context())
		if killedDuring {
			t.Logf("killed the gateway %s into the refresh", delay)
			break
		}
	}
	if !killedDuring {
		t.Fatal("every refresh finished before the kill; the dataset is too small to test a crash")
	}

	conn = s.Connect(t)
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW big_view`)
	if got := mustQueryText(t, conn, check); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a REFRESH following the crash: %v, want %v", got, want)
	}
	assertNoStaging(t, dataDir)
	s.Stop(t)
}

// assertNoStaging fails if DATA_DIR/staging or DATA_DIR/trash (retired
// versions being removed) holds anything.
func assertNoStaging(t *testing.T, dataDir string) {
	t.Helper()
	assertEmptyDir(t, dataDir, "staging")
	assertEmptyDir(t, dataDir, "trash")
}

func assertEmptyDir(t *testing.T, dataDir, name string) {
	t.Helper()
	staging := filepath.Join(dataDir, name)
	var left []string
	err := filepath.WalkDir(staging, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != staging {
			left = append(left, strings.TrimPrefix(path, dataDir+string(filepath.Separator)))
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("walk %s: %v", staging, err)
	}
	if len(left) > 0 {
		if len(left) > 10 {
			left = append(left[:10], "...")
		}
		t.Fatalf("%s leftovers after restart: %v", name, left)
	}
}

// TestBadConfigExits2: a bad configuration stops the binary at start with
// exit code 2 and a message naming the key.
func TestBadConfigExits2(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nthreadz: 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--config", cfg},
		{"--log-format", "xml"},
		{"serve", "--threads", "-1"},
	} {
		cmd := exec.Command(gatewayBin, append(args, "--data-dir", t.TempDir())...)
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit status 2\n%s", args, err, out)
		}
		key := map[string]string{"--config": "threadz", "--log-format": "log_format", "--threads": "threads"}
		for flag, k := range key {
			if slices.Contains(args, flag) && !strings.Contains(string(out), k) {
				t.Errorf("%v: message does not name %q: %s", args, k, out)
			}
		}
	}
}
