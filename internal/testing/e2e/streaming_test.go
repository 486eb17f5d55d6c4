package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// rssBytes is a process's resident set, from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// bigQuery is 100M rows whose last row fails: a client that sees rows
// before an error saw them before the last row was computed.
const bigQuery = `SELECT i, CASE WHEN i = 99999999 THEN error('the last row was computed') ELSE 'row' END AS r FROM range(100000000) t(i)`

// TestStreamingToPsql: psql with FETCH_COUNT (DECLARE, FETCH FORWARD n,
// CLOSE in a transaction block) gets the first rows of a 100M-row SELECT
// before its last row is computed, the gateway's memory stays flat while
// psql reads, and a psql killed in the middle leaves the gateway serving.
func TestStreamingToPsql(t *testing.T) {
	psql := psqlPath(t)
	s := startServer(t, t.TempDir())
	cmd := exec.Command(psql, "-X", "-At", "-v", "FETCH_COUNT=1000", "-v", "ON_ERROR_STOP=1", "-c", bigQuery, trustConnString(s.Port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	var base int64
	lines := 0
	for sc.Scan() {
		if want := fmt.Sprintf("%d|row", lines); sc.Text() != want {
			t.Fatalf("line %d: %q, want %q", lines, sc.Text(), want)
		}
		lines++
		switch lines {
		case 100_000: // warmed up
			base = rssBytes(t, s.Pid())
		case 1_000_000:
			if rss := rssBytes(t, s.Pid()); rss > base+base/5+(32<<20) {
				t.Fatalf("gateway RSS grew from %d to %d bytes over 900,000 streamed rows", base, rss)
			} else {
				t.Logf("gateway RSS %d MB after 100,000 rows, %d MB after 1,000,000", base>>20, rss>>20)
			}
		}
		if lines == 1_000_000 {
			break
		}
	}
	if lines < 1_000_000 {
		t.Fatalf("psql stopped after %d rows: %v: %s", lines, sc.Err(), stderr.String())
	}
	if strings.Contains(stderr.String(), "ERROR") {
		t.Fatalf("psql got an error while streaming: %s", stderr.String())
	}
	cmd.Process.Kill()
	cmd.Wait()
	conn := s.Connect(t)
	if got := mustQueryText(t, conn, `SELECT 42`); got[0][0] != "42" {
		t.Fatalf("after psql was killed mid-cursor: %v", got)
	}
}

// TestCursorStatements drives DECLARE / FETCH / MOVE / CLOSE through pgx
// in both protocols, with their errors, and that a cursor ends with its
// transaction.
func TestCursorStatements(t *testing.T) {
	s := startServer(t, t.TempDir())
	conn := s.Connect(t)
	ctx := t.Context()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			mustExec(t, conn, "BEGIN")
			mustExec(t, conn, "DECLARE c NO SCROLL CURSOR WITHOUT HOLD FOR SELECT i, i * 10 AS t FROM range(10) r(i) ORDER BY i")
			fetch := func(q string) []string {
				t.Helper()
				rows, err := conn.Query(ctx, q, mode)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				var got []string
				for rows.Next() {
					var i, x int64
					if err := rows.Scan(&i, &x); err != nil {
						t.Fatal(err)
					}
					got = append(got, fmt.Sprintf("%d:%d", i, x))
				}
				if err := rows.Err(); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if tag := rows.CommandTag().String(); !strings.HasPrefix(tag, "FETCH ") || tag != fmt.Sprintf("FETCH %d", len(got)) {
					t.Fatalf("%s: tag %q for %d rows", q, tag, len(got))
				}
				return got
			}
			if got := fetch("FETCH 3 FROM c"); strings.Join(got, " ") != "0:0 1:10 2:20" {
				t.Fatalf("FETCH 3: %v", got)
			}
			tag, err := conn.Exec(ctx, "MOVE FORWARD 2 IN c", mode)
			if err != nil || tag.String() != "MOVE 2" {
				t.Fatalf("MOVE: %v %v", tag, err)
			}
			if got := fetch("FETCH NEXT c"); strings.Join(got, " ") != "5:50" {
				t.Fatalf("FETCH NEXT after MOVE 2: %v", got)
			}
			if got := fetch("FETCH FORWARD ALL FROM c"); len(got) != 4 || got[3] != "9:90" {
				t.Fatalf("FETCH ALL: %v", got)
			}
			if got := fetch("FETCH c"); len(got) != 0 {
				t.Fatalf("FETCH past the end: %v", got)
			}
			mustExec(t, conn, "CLOSE c")
			mustExec(t, conn, "COMMIT")
		})
	}

	errCode := func(q string) string {
		t.Helper()
		_, err := conn.Exec(ctx, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %v, want an error with a SQLSTATE", q, err)
		}
		return pe.Code
	}
	for _, tt := range []struct{ q, code string }{
		{"DECLARE c CURSOR FOR SELECT 1", "25P01"},
		{"FETCH 1 FROM nosuch", "34000"},
		{"CLOSE nosuch", "34000"},
		{"BEGIN; DECLARE c SCROLL CURSOR FOR SELECT 1", "0A000"},
		{"BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT 1", "0A000"},
		{"BEGIN; DECLARE c BINARY CURSOR FOR SELECT 1", "0A000"},
		{"BEGIN; DECLARE c CURSOR FOR SELECT 1; FETCH BACKWARD 1 FROM c", "55000"},
		{"BEGIN; DECLARE c CURSOR FOR SELECT 1; FETCH PRIOR FROM c", "55000"},
		{"BEGIN; DECLARE c CURSOR FOR SELECT 1; FETCH -1 FROM c", "55000"},
		{"BEGIN; DECLARE c CURSOR FOR SELECT 1; FETCH 0 FROM c", "0A000"},
		{"BEGIN; DECLARE c CURSOR FOR SELECT 1; DECLARE c CURSOR FOR SELECT 2", "42P03"},
		{"BEGIN; DECLARE c CURSOR FOR CREATE TABLE t (a int)", "42P11"},
		{"BEGIN; DECLARE c CURSOR FOR SELECT * FROM nosuch", "42P01"},
		{"BEGIN; DECLARE c CURSOR FOR SELECT 1; COMMIT; FETCH 1 FROM c", "34000"},
		{"BEGIN; DECLARE c CURSOR FOR SELECT 1; ROLLBACK; FETCH 1 FROM c", "34000"},
		{"BEGIN; DECLARE c CURSOR FOR SELECT 1; CLOSE c; FETCH 1 FROM c", "34000"},
	} {
		if got := errCode(tt.q); got != tt.code {
			t.Errorf("%s: SQLSTATE %s, want %s", tt.q, got, tt.code)
		}
		conn.Exec(ctx, "ROLLBACK")
		if got := mustQueryText(t, conn, "SELECT 1"); got[0][0] != "1" {
			t.Fatalf("after %s: %v", tt.q, got)
		}
	}
	// Another statement on the session ends the cursor's stream, as it
	// ends a suspended portal's: its next FETCH says so.
	mustExec(t, conn, "BEGIN")
	mustExec(t, conn, "DECLARE c CURSOR FOR SELECT * FROM range(10000000)")
	mustQueryText(t, conn, "SELECT 1")
	if got := errCode("FETCH 10 FROM c"); got != "0A000" {
		t.Fatalf("FETCH after another statement: %s", got)
	}
	conn.Exec(ctx, "ROLLBACK")
}

// TestSlowClientMemory: a client that sends a large query and stops
// reading does not grow the gateway's memory: the socket buffers fill and
// the query waits.
func TestSlowClientMemory(t *testing.T) {
	s := startServer(t, t.TempDir())
	warm := s.Connect(t)
	mustQueryText(t, warm, `SELECT count(*) FROM range(1000000)`)
	base := rssBytes(t, s.Pid())

	nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "sluice", "database": "sluice"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	// 10M rows of 1 kB: 10 GB if the gateway buffered them.
	fe.Send(&pgproto3.Query{String: `SELECT i, repeat('x', 1000) FROM range(10000000) t(i)`})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var peak int64
	for range 10 {
		time.Sleep(300 * time.Millisecond)
		peak = max(peak, rssBytes(t, s.Pid()))
	}
	if peak > base+(256<<20) {
		t.Fatalf("gateway RSS grew from %d MB to %d MB while a client did not read", base>>20, peak>>20)
	}
	t.Logf("gateway RSS %d MB before, at most %d MB while the client did not read", base>>20, peak>>20)
	// The gateway still serves others, and ends the query when the client
	// goes away.
	if got := mustQueryText(t, warm, `SELECT 7`); got[0][0] != "7" {
		t.Fatal(got)
	}
	nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := warm.Exec(ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}
}
