//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

func openTest(t testing.TB) (*DB, *Conn) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		db.Close()
	})
	return db, c
}

func TestOpenBadSettings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cfg Config
		key string
	}{
		{Config{MemoryLimit: "lots"}, "memory_limit"},
		{Config{Threads: -1}, "threads"},
		{Config{TempDir: "/etc/passwd"}, "temp_directory"},
		{Config{BlockAllocatorMemory: "lots"}, "block_allocator_memory"},
	} {
		_, err := Open(ctx, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("Open(%+v) = %v, want an error naming %s", tc.cfg, err, tc.key)
		}
	}
	db, err := Open(ctx, Config{MemoryLimit: "1GB", Threads: 2, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.SQL().QueryRowContext(ctx, "SELECT current_setting('autoinstall_known_extensions')::VARCHAR").Scan(&v); err != nil || v != "false" {
		t.Errorf("autoinstall_known_extensions = %q, %v", v, err)
	}
}

// TestBlockAllocatorMemory checks that the setting reaches DuckDB, and
// that without it DuckDB's default (none kept) stays.
func TestBlockAllocatorMemory(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ set, want string }{{"", "0 bytes"}, {"64MiB", "64.0 MiB"}, {"0B", "0 bytes"}} {
		db, err := Open(ctx, Config{BlockAllocatorMemory: tc.set})
		if err != nil {
			t.Fatalf("%q: %v", tc.set, err)
		}
		var v string
		err = db.SQL().QueryRowContext(ctx, "SELECT current_setting('block_allocator_memory')::VARCHAR").Scan(&v)
		db.Close()
		if err != nil || v != tc.want {
			t.Errorf("BlockAllocatorMemory %q: block_allocator_memory = %q, %v; want %s", tc.set, v, err, tc.want)
		}
	}
}

func TestSharedInstance(t *testing.T) {
	db, c := openTest(t)
	ctx := context.Background()
	if _, err := c.Exec(ctx, "CREATE TABLE shared AS SELECT 42 AS x"); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := db.SQL().QueryRowContext(ctx, "SELECT x FROM shared").Scan(&x); err != nil || x != 42 {
		t.Fatalf("sql.DB sees %d, %v", x, err)
	}
	// A second Open is a separate in-memory database.
	db2, err := Open(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.SQL().QueryRowContext(ctx, "SELECT x FROM shared").Scan(&x); err == nil {
		t.Fatal("second database sees the first one's table")
	}
}

func TestRunKinds(t *testing.T) {
	_, c := openTest(t)
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		q        string
		rows     bool
		affected int64
	}{
		{"CREATE TABLE t (a INTEGER, b VARCHAR)", false, 0},
		{"INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, NULL)", false, 3},
		{"UPDATE t SET b = 'z' WHERE a >= 2", false, 2},
		{"INSERT INTO t VALUES (4, 'w') RETURNING a", true, 0},
		{"DELETE FROM t WHERE a = 4", false, 1},
		// DuckDB reports CREATE TABLE AS as NOTHING: no count.
		{"CREATE TABLE t2 AS SELECT * FROM t", false, 0},
		{"SET threads = 2", false, 0},
		{"BEGIN", false, 0},
		{"COMMIT", false, 0},
		{"PRAGMA table_info('t')", true, 0},
		{"EXPLAIN SELECT * FROM t", true, 0},
		{"DESCRIBE t", true, 0},
		{"SHOW TABLES", true, 0},
		{"CALL pragma_version()", true, 0},
		{"COPY t TO '" + dir + "/t.parquet' (FORMAT parquet)", false, 3},
		{"COPY t FROM '" + dir + "/t.parquet' (FORMAT parquet)", false, 3},
		{"CREATE TEMP MACRO current_database() AS 'sluice'", false, 0},
		{"SELECT current_database()", true, 0},
	} {
		res, err := c.Run(ctx, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
			continue
		}
		if (res.Rows != nil) != tc.rows || res.RowsAffected != tc.affected {
			t.Errorf("%s: rows %v affected %d, want %v %d", tc.q, res.Rows != nil, res.RowsAffected, tc.rows, tc.affected)
		}
		if res.Rows != nil {
			n := 0
			for res.Rows.Next() {
				n += int(res.Rows.Batch().NumRows())
			}
			if err := res.Rows.Close(); err != nil || n == 0 {
				t.Errorf("%s: %d rows, %v", tc.q, n, err)
			}
		}
	}
}

func TestTransactionAborted(t *testing.T) {
	_, c := openTest(t)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE u (a INTEGER PRIMARY KEY)")
	mustExec(t, c, "BEGIN")
	if _, err := c.Exec(ctx, "INSERT INTO u VALUES (1), (1)"); pgerr.Code(err) != pgerrcode.UniqueViolation {
		t.Fatalf("duplicate insert: %v (%s)", err, pgerr.Code(err))
	}
	_, err := c.Exec(ctx, "SELECT 1")
	if pgerr.Code(err) != pgerrcode.InFailedSQLTransaction {
		t.Fatalf("after error: %v (%s)", err, pgerr.Code(err))
	}
	mustExec(t, c, "ROLLBACK")
	mustExec(t, c, "SELECT 1")
}

func mustExec(t *testing.T, c *Conn, q string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestTranslate(t *testing.T) {
	_, c := openTest(t)
	mustExec(t, c, "CREATE TABLE e (a INTEGER NOT NULL, b INTEGER CHECK (b > 0), k INTEGER UNIQUE)")
	for _, tc := range []struct{ q, code string }{
		{"SELEC 1", pgerrcode.SyntaxError},
		{"SELECT * FROM missing", pgerrcode.UndefinedTable},
		{"CREATE TABLE e (a INTEGER)", pgerrcode.DuplicateTable},
		{"SELECT nope FROM e", pgerrcode.UndefinedColumn},
		{"SELECT no_such_fn(1)", pgerrcode.UndefinedFunction},
		{"SELECT 'abc'::INTEGER", pgerrcode.InvalidTextRepresentation},
		{"SELECT 300::TINYINT", pgerrcode.NumericValueOutOfRange},
		{"INSERT INTO e VALUES (NULL, 1, 1)", pgerrcode.NotNullViolation},
		{"INSERT INTO e VALUES (1, -1, 1)", pgerrcode.CheckViolation},
		{"INSERT INTO e VALUES (1, 1, 1), (1, 1, 1)", pgerrcode.UniqueViolation},
		{"SELECT * FROM read_csv('/nonexistent/x.csv')", pgerrcode.IOError},
		{"INSTALL httpfs", pgerrcode.IOError},
		{"SELECT error('boom')", pgerrcode.InvalidParameterValue},
	} {
		_, err := c.Exec(context.Background(), tc.q)
		if got := pgerr.Code(err); got != tc.code {
			t.Errorf("%s: code %s (%v), want %s", tc.q, got, err, tc.code)
		}
	}
	_, err := c.Exec(context.Background(), "SELECT 1,\n  2 FROM missing_table")
	if e := pgerr.As(err); e.Position != 20 || strings.Contains(e.Message, "Catalog Error") || strings.Contains(e.Message, "LINE") {
		t.Errorf("position %d message %q, want 20 and a clean message", e.Position, e.Message)
	}
}

// TestTranslateDiskFull: a full file system is 53100 whether DuckDB
// reports it (an IO Error carrying the system's reason) or Go does.
func TestTranslateDiskFull(t *testing.T) {
	for _, err := range []error{
		duckError(`IO Error: Could not write file "/data/staging/run-2/p=6/part_0.parquet": No space left on device`),
		duckError(`IO Error: Could not write file "/data/tmp/x.tmp": Disk quota exceeded`),
		duckError(`TransactionContext Error: Failed to commit: Could not write file "/data/warehouse.duckdb.wal": No space left on device`),
		&fs.PathError{Op: "write", Path: "/data/staging/run-3/x", Err: syscall.ENOSPC},
	} {
		e := pgerr.As(Translate(err))
		if e.Code != pgerrcode.DiskFull || e.Hint == "" || strings.Contains(e.Message, "IO Error") {
			t.Errorf("%v: code %s message %q hint %q, want 53100 with a hint", err, e.Code, e.Message, e.Hint)
		}
	}
	if got := pgerr.Code(Translate(duckError(`IO Error: Cannot open file "/x": Permission denied`))); got != pgerrcode.IOError {
		t.Errorf("another IO error: %s, want 58030", got)
	}
}

func TestCancel(t *testing.T) {
	_, c := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Exec(ctx, "SELECT count(*) FROM range(10000000000)")
	if pgerr.Code(err) != pgerrcode.QueryCanceled || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelled query: %v after %v", err, time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cause lost: %v", err)
	}
	// Cancel while streaming.
	ctx2, cancel2 := context.WithCancel(context.Background())
	rows, err := c.Query(ctx2, "SELECT * FROM range(100000000)")
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	cancel2()
	for rows.Next() {
	}
	if pgerr.Code(rows.Err()) != pgerrcode.QueryCanceled {
		t.Errorf("streaming cancel: %v", rows.Err())
	}
	rows.Close()
	mustExec(t, c, "SELECT 1")
}

func rssKB() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}

func TestQueryStreams(t *testing.T) {
	_, c := openTest(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rss0 := rssKB()
	rows, err := c.Query(context.Background(), "SELECT range AS i, range::VARCHAR AS s FROM range(10000000)")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	maxRSS := 0
	for rows.Next() {
		n += rows.Batch().NumRows()
		if n%(1<<20) < 2048 {
			maxRSS = max(maxRSS, rssKB())
		}
	}
	if err := rows.Close(); err != nil || n != 10000000 {
		t.Fatalf("%d rows, %v", n, err)
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 64<<20 {
		t.Errorf("Go heap grew by %d MB", grew>>20)
	}
	// Materialized, the result would take ~250 MB of DuckDB memory.
	if grew := maxRSS - rss0; grew > 150<<10 {
		t.Errorf("RSS grew by %d MB while streaming", grew>>10)
	}
	t.Logf("RSS before %d MB, max while streaming %d MB", rss0>>10, maxRSS>>10)
}

func TestPrepare(t *testing.T) {
	_, c := openTest(t)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE p (i INTEGER, s VARCHAR, d DATE, n DECIMAL(18,3), u UUID, j JSON)")
	s, err := c.Prepare(ctx, "SELECT i, s, d, n, u, j, $3::VARCHAR AS x FROM p WHERE i = $1 AND d > $2")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.ParamOIDs(); len(got) != 3 || got[0] != pgcodec.Int4OID || got[1] != pgcodec.DateOID {
		t.Errorf("params %v", got)
	}
	want := []uint32{pgcodec.Int4OID, pgcodec.TextOID, pgcodec.DateOID, pgcodec.NumericOID, pgcodec.UUIDOID, pgcodec.JSONOID, pgcodec.TextOID}
	cols := s.Columns()
	for i, w := range want {
		if i >= len(cols) || cols[i].OID != w {
			t.Fatalf("columns %+v, want OIDs %v", cols, want)
		}
	}
	if cols[3].TypeMod != (18<<16|3)+4 {
		t.Errorf("numeric typmod %d", cols[3].TypeMod)
	}
	mustExec(t, c, "INSERT INTO p VALUES (1, 'a', '2024-01-02', 1.5, uuid(), '{}')")
	res, err := s.Run(ctx, int64(1), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "x")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for res.Rows.Next() {
		n += int(res.Rows.Batch().NumRows())
		for i, col := range res.Rows.Columns() {
			if col.OID != cols[i].OID || col.TypeMod != cols[i].TypeMod {
				t.Errorf("column %d: executed %+v, described %+v", i, col, cols[i])
			}
		}
	}
	if err := res.Rows.Close(); err != nil || n != 1 {
		t.Fatalf("%d rows, %v", n, err)
	}
	ins, err := c.Prepare(ctx, "INSERT INTO p (i, s) VALUES ($1, $2)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	if ins.ReturnsRows() {
		t.Error("INSERT described as returning rows")
	}
	res, err = ins.Run(ctx, int64(2), "b")
	if err != nil || res.RowsAffected != 1 || res.Rows != nil {
		t.Fatalf("insert: %+v %v", res, err)
	}
	if _, err := ins.Run(ctx, int64(2)); pgerr.Code(err) != pgerrcode.ProtocolViolation {
		t.Errorf("wrong arg count: %v", err)
	}
}

func BenchmarkQueryArrow(b *testing.B) {
	_, c := openTest(b)
	ctx := context.Background()
	for b.Loop() {
		rows, err := c.Query(ctx, "SELECT range AS i, 'row ' || range AS s, range * 1.5 AS d FROM range(10000000)")
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for rows.Next() {
			n += rows.Batch().NumRows()
		}
		if err := rows.Close(); err != nil || n != 10000000 {
			b.Fatal(n, err)
		}
	}
}
