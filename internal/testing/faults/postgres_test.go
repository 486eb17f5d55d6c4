package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/testing/testpg"
)

// TestPostgresRestartMidSnapshot crashes PostgreSQL 15 (pg_ctl stop -m
// immediate) while the gateway is in the middle of the COPY that reads a
// table of millions of rows, first for a materialized view's refresh, then
// for a pipeline run with cursor_column, and starts it again on the same
// port. The failed refresh or run reports a connection-class SQLSTATE, the
// view still reads its last version exactly, the pipeline's committed rows
// and cursor are unchanged, and the session goes on; once PostgreSQL is
// back, the next refresh reads exactly the new count and the next run
// commits every row exactly once.
func TestPostgresRestartMidSnapshot(t *testing.T) {
	if msg := testpg.Missing(); msg != "" {
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "sluice-faults-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // as root the cluster runs as user postgres
		t.Fatal(err)
	}
	pg, err := testpg.Start(filepath.Join(dir, "pg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	upExec := func(sql string) {
		t.Helper()
		up, err := pgx.Connect(t.Context(), pg.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer up.Close(context.Background())
		if _, err := up.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// rows adds ids (from, to]; v = id % 1000, so sum(v) is known. The
	// checkpoint makes them durable before any crash (the cluster runs
	// with fsync and synchronous_commit off).
	total := 0
	rows := func(to int) {
		t.Helper()
		upExec(fmt.Sprintf(`INSERT INTO items SELECT i, i %% 1000 FROM generate_series(%d, %d) i`, total+1, to))
		upExec(`CHECKPOINT`)
		upExec(`ANALYZE items`)
		total = to
	}
	sumV := func(n int) string {
		s := int64(0)
		for i := 1; i <= n; i++ {
			s += int64(i % 1000)
		}
		return strconv.FormatInt(s, 10)
	}
	upExec(`CREATE TABLE items (id bigint PRIMARY KEY, v int NOT NULL)`)
	const first = 3_000_000
	rows(first)

	s := startServer(t, t.TempDir(), nil)
	conn := s.Connect(t)
	mustExec(t, conn, fmt.Sprintf(`CREATE SOURCE items FROM POSTGRES WITH (dsn = '%s', table = 'public.items', cursor_column = 'id')`, pg.URL))
	start := time.Now()
	mustExec(t, conn, `CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, count(DISTINCT id) AS d, sum(v) AS s FROM items`)
	t.Logf("v1 of the view (%d rows read) took %v", first, time.Since(start).Round(time.Millisecond))
	v1 := fmt.Sprint([][]string{{strconv.Itoa(first), strconv.Itoa(first), sumV(first)}})
	if got := fmt.Sprint(mustQueryText(t, conn, `SELECT n, d, s FROM totals`)); got != v1 {
		t.Fatalf("v1 of the view: %s, want %s", got, v1)
	}
	mustExec(t, conn, `CREATE PIPELINE copied AS SELECT id, v FROM items`)
	pid := one(t, conn, `SELECT id FROM sluice.pipelines WHERE name = 'copied'`)
	position := func() string {
		t.Helper()
		return one(t, conn, `SELECT position FROM sluice.pipeline_positions WHERE object_id = `+pid)
	}
	if got, want := position(), fmt.Sprintf(`{"cursor":"%d"}`, first); got != want {
		t.Fatalf("position after the pipeline's first run: %s, want %s", got, want)
	}

	const more = 2_000_000
	rows(first + more)

	// crashMidRead runs sql, crashes PostgreSQL once the gateway's COPY
	// has streamed for a moment, and returns sql's error. PostgreSQL stays
	// down until the caller restarts it.
	crashMidRead := func(sql string) error {
		t.Helper()
		mon, err := pgx.Connect(t.Context(), pg.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer mon.Close(context.Background())
		start := time.Now()
		var took atomic.Int64
		done := make(chan error, 1)
		go func() {
			_, err := conn.Exec(context.Background(), sql)
			took.Store(int64(time.Since(start)))
			done <- err
		}()
		// The read is under way once a COPY of the table is active.
		for {
			var n int
			if err := mon.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'COPY (SELECT %'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("%s ended (%v) before its COPY was seen", sql, err)
			case <-time.After(10 * time.Millisecond):
			}
			if time.Since(start) > 60*time.Second {
				t.Fatalf("%s: no COPY within 60 s", sql)
			}
		}
		copying := time.Since(start)
		time.Sleep(300 * time.Millisecond)
		if err := pg.Crash(); err != nil {
			t.Fatal(err)
		}
		crashed := time.Since(start)
		var runErr error
		select {
		case runErr = <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s did not return within 60 s of the crash", sql)
		}
		t.Logf("%s: COPY seen at %v, PostgreSQL crashed at %v, returned at %v: %v", sql, copying.Round(time.Millisecond),
			crashed.Round(time.Millisecond), time.Duration(took.Load()).Round(time.Millisecond), runErr)
		if runErr == nil {
			t.Fatalf("%s succeeded although PostgreSQL crashed in the middle of its read", sql)
		}
		pe, ok := runErr.(*pgconn.PgError)
		if !ok || !(strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03") {
			t.Fatalf("%s: %v, want a connection-class SQLSTATE (08xxx, 57P0x)", sql, runErr)
		}
		if !strings.Contains(pe.Message, "POSTGRES source") {
			t.Errorf("%s: the message does not say the POSTGRES source failed: %s", sql, pe.Message)
		}
		if got := one(t, conn, `SELECT 1`); got != "1" {
			t.Fatalf("session after the failure: %s", got)
		}
		return runErr
	}

	// The view: the failed refresh keeps v1.
	crashMidRead(`REFRESH MATERIALIZED VIEW totals`)
	if got := fmt.Sprint(mustQueryText(t, conn, `SELECT n, d, s FROM totals`)); got != v1 {
		t.Fatalf("the view after the failed refresh: %s, want v1 %s", got, v1)
	}
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW totals`)
	v2 := fmt.Sprint([][]string{{strconv.Itoa(total), strconv.Itoa(total), sumV(total)}})
	if got := fmt.Sprint(mustQueryText(t, conn, `SELECT n, d, s FROM totals`)); got != v2 {
		t.Fatalf("the view after PostgreSQL came back: %s, want %s", got, v2)
	}

	// The pipeline: the failed run commits no row, file nor cursor.
	committed := func() string {
		t.Helper()
		return fmt.Sprint(mustQueryText(t, conn, `SELECT count(*), count(DISTINCT id) FROM copied`))
	}
	rowsBefore, posBefore := committed(), position()
	filesBefore := one(t, conn, `SELECT count(*) FROM sluice.pipeline_files WHERE object_id = `+pid)
	crashMidRead(`REFRESH PIPELINE copied`)
	if got := committed(); got != rowsBefore {
		t.Fatalf("pipeline rows after the failed run: %s, want %s as before", got, rowsBefore)
	}
	if got := position(); got != posBefore {
		t.Fatalf("committed cursor after the failed run: %s, want %s as before", got, posBefore)
	}
	if got := one(t, conn, `SELECT count(*) FROM sluice.pipeline_files WHERE object_id = `+pid); got != filesBefore {
		t.Fatalf("committed files after the failed run: %s, want %s as before", got, filesBefore)
	}
	diskMatchesCatalog(t, conn, s.DataDir, pid)
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, conn, `REFRESH PIPELINE copied`)
	mustExec(t, conn, `REFRESH PIPELINE copied`) // nothing new: no duplicates
	n := strconv.Itoa(total)
	if got, want := fmt.Sprint(mustQueryText(t, conn, `SELECT count(*), count(DISTINCT id), min(id), max(id), sum(v) FROM copied`)),
		fmt.Sprint([][]string{{n, n, "1", n, sumV(total)}}); got != want {
		t.Fatalf("pipeline rows: %s, want %s", got, want)
	}
	if got, want := position(), fmt.Sprintf(`{"cursor":"%d"}`, total); got != want {
		t.Fatalf("committed cursor: %s, want %s", got, want)
	}
	if got := one(t, conn, `SELECT sum(rows) FROM sluice.pipeline_files WHERE object_id = `+pid); got != n {
		t.Fatalf("committed files hold %s rows, want %s", got, n)
	}
	diskMatchesCatalog(t, conn, s.DataDir, pid)
	t.Logf("runs: %v", mustQueryText(t, conn, `SELECT object, run_id, status, sqlstate, rows_out FROM sluice.runs ORDER BY run_id`))
}
