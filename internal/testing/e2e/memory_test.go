package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/testing/testserver"
)

// TestMemoryLimitAndSpilling runs the binary with memory_limit 128MB and
// max_temp_dir_size 24MB, one thread: a sort of 5M rows larger than the
// limit spills to temp_dir and gives the right answer with the gateway's
// RSS within a bound of the limit; a value that cannot spill (one list of
// 10M strings) fails with 53200; a sort that would spill more than
// max_temp_dir_size fails with 53400; the session goes on after each, and
// what the query spilled is given back afterwards.
func TestMemoryLimitAndSpilling(t *testing.T) {
	dataDir := t.TempDir()
	tmp := filepath.Join(dataDir, "spill")
	const limit = 128 << 20
	start := func(maxTemp string) *server {
		p := testserver.Start(t, testserver.Options{
			Bin: gatewayBin, Dir: repoRoot,
			Args: func(port int) []string {
				return []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir,
					"--threads", "1", "--memory-limit", "128MB", "--temp-dir", tmp, "--max-temp-dir-size", maxTemp}
			},
			Ready: pingReady(trustConnString),
		})
		return &server{Process: p, DataDir: dataDir}
	}
	s := start("4GB")
	conn := s.Connect(t)
	mustQueryText(t, conn, `SELECT 1`)
	base := rssBytes(t, s.Pid())

	// 5M rows of 32-byte strings sorted: about 300 MB to sort, over the
	// limit. Sampled while it runs.
	var peak int64
	done, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-t.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid()))
			if err != nil {
				return
			}
			var kb int64
			for _, line := range strings.Split(string(raw), "\n") {
				if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
					peak = max(peak, kb<<10)
				}
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	got := mustQueryText(t, conn, `SELECT count(*), count(DISTINCT h), min(h), max(h) FROM (SELECT md5(i::varchar) AS h FROM range(5000000) t(i) ORDER BY h)`)
	close(stop)
	<-done
	if got[0][0] != "5000000" || got[0][1] != "5000000" || len(got[0][2]) != 32 || got[0][2] >= got[0][3] {
		t.Fatalf("spilled sort: %v", got)
	}
	bound := base + 2*limit
	t.Logf("gateway RSS %d MB before, peak %d MB during a sort over memory_limit 128MB (bound %d MB)", base>>20, peak>>20, bound>>20)
	if peak > bound {
		t.Fatalf("gateway RSS peaked at %d MB, over base %d MB + 2 x memory_limit", peak>>20, base>>20)
	}

	code := func(q string) string {
		t.Helper()
		_, err := conn.Exec(t.Context(), q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %v, want an error", q, err)
		}
		if got := mustQueryText(t, conn, `SELECT 2`); got[0][0] != "2" {
			t.Fatalf("session after %s: %v", q, got)
		}
		return pe.Code + " " + pe.Message
	}
	if got := code(`SELECT max(len(l)) FROM (SELECT list(md5(i::varchar)) AS l FROM range(20000000) t(i))`); got != "53200 out of memory" {
		t.Fatalf("a value that cannot spill: %s, want 53200", got)
	}
	s.Stop(t)

	s = start("24MB")
	conn = s.Connect(t)
	if got := code(`SELECT count(*) FROM (SELECT i, md5(i::varchar) AS h FROM range(5000000) t(i) ORDER BY h)`); got != "53400 temporary files exceed max_temp_dir_size" {
		t.Fatalf("spilling past max_temp_dir_size: %s, want 53400", got)
	}
	// DuckDB keeps its temporary files open between queries, truncated
	// to the blocks still in use: what the failed sort spilled is given
	// back.
	var left int64
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			left += fi.Size()
		}
	}
	t.Logf("spill directory after the failed sort: %d bytes in %d files", left, len(entries))
	if left > 4<<20 {
		t.Errorf("the spill directory still holds %d bytes after the query failed", left)
	}
}
