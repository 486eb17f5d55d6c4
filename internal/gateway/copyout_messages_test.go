//go:build duckdb_arrow

package gateway_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/testing/testpg"
)

// copyOutMessages runs query (a COPY ... TO STDOUT) over a raw protocol
// connection to addr and returns the payload of every CopyData message
// between CopyOutResponse and CopyDone, and the CommandComplete tag.
func copyOutMessages(t *testing.T, addr, user, database, query string) ([][]byte, string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": user, "database": database}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	// receive reads until ReadyForQuery, handing every message to f.
	receive := func(f func(pgproto3.BackendMessage)) {
		for {
			msg, err := fe.Receive()
			if err != nil {
				t.Fatalf("%s: %v", addr, err)
			}
			switch m := msg.(type) {
			case *pgproto3.ReadyForQuery:
				return
			case *pgproto3.ErrorResponse:
				t.Fatalf("%s: %s: %s %s", addr, query, m.Code, m.Message)
			}
			f(msg)
		}
	}
	receive(func(pgproto3.BackendMessage) {})

	var (
		data    [][]byte
		tag     string
		started bool
		done    bool
	)
	fe.Send(&pgproto3.Query{String: query})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	receive(func(msg pgproto3.BackendMessage) {
		switch m := msg.(type) {
		case *pgproto3.CopyOutResponse:
			started = true
		case *pgproto3.CopyData:
			if !started || done {
				t.Fatalf("%s: CopyData outside CopyOutResponse..CopyDone", addr)
			}
			data = append(data, bytes.Clone(m.Data)) // valid until the next Receive
		case *pgproto3.CopyDone:
			done = true
		case *pgproto3.CommandComplete:
			tag = string(m.CommandTag)
		}
	})
	if !started || !done {
		t.Fatalf("%s: %s: CopyOutResponse %v, CopyDone %v", addr, query, started, done)
	}
	return data, tag
}

// TestCopyOutOneMessagePerRow checks that COPY TO STDOUT sends one CopyData
// message per row in every format (psycopg's Copy.rows() reads a message as
// a row), and that the messages are the very bytes PostgreSQL 15 sends for
// the same rows: the binary signature in the first message, its trailer in
// a message of its own, a CSV header line in a message of its own.
func TestCopyOutOneMessagePerRow(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	const rows = 50
	// Built the same way on both sides; NULLs, a tab and a comma in the text.
	create := fmt.Sprintf(`CREATE TABLE py_t AS SELECT i::INTEGER AS id,
  CASE WHEN i %% 10 = 0 THEN NULL ELSE 'n' || i::TEXT || (CASE WHEN i %% 7 = 0 THEN E'\t,x' ELSE '' END) END AS name
FROM generate_series(1, %d) AS g(i)`, rows)
	exec(t, c, create)
	exec(t, c, "CREATE TABLE py_empty (id INTEGER)")
	gwAddr := fmt.Sprintf("%s:%d", c.Config().Host, c.Config().Port)

	// The reference: PostgreSQL 15 with the same tables.
	var pgAddr string
	if reason := testpg.Missing(); reason != "" {
		t.Logf("comparison with PostgreSQL skipped: %s", reason)
	} else {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil { // as root the cluster runs as user postgres
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
			t.Fatal(err)
		}
		srv, err := testpg.Start(filepath.Join(dir, "pg"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Stop() })
		pc, err := pgx.Connect(ctx, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close(ctx)
		for _, q := range []string{create, "CREATE TABLE py_empty (id INTEGER)"} {
			if _, err := pc.Exec(ctx, q); err != nil {
				t.Fatalf("postgresql: %s: %v", q, err)
			}
		}
		pgAddr = fmt.Sprintf("127.0.0.1:%d", srv.Port)
	}

	for _, tc := range []struct {
		query    string
		messages int // CopyData messages: one per row, plus header or trailer
		rows     int
	}{
		{"COPY (SELECT id FROM py_t ORDER BY id) TO STDOUT", rows, rows},
		{"COPY (SELECT id, name FROM py_t ORDER BY id) TO STDOUT", rows, rows},
		{"COPY (SELECT id, name FROM py_t ORDER BY id) TO STDOUT (FORMAT csv)", rows, rows},
		{"COPY (SELECT id, name FROM py_t ORDER BY id) TO STDOUT (FORMAT csv, HEADER)", rows + 1, rows},
		{"COPY (SELECT id, name FROM py_t ORDER BY id) TO STDOUT (FORMAT binary)", rows + 1, rows},
		{"COPY py_empty TO STDOUT", 0, 0},
		{"COPY py_empty TO STDOUT (FORMAT csv, HEADER)", 1, 0},
		{"COPY py_empty TO STDOUT (FORMAT binary)", 1, 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got, tag := copyOutMessages(t, gwAddr, "sluice", "sluice", tc.query)
			if len(got) != tc.messages {
				t.Errorf("gateway sent %d CopyData messages, want %d", len(got), tc.messages)
			}
			if want := fmt.Sprintf("COPY %d", tc.rows); tag != want {
				t.Errorf("tag %q, want %q", tag, want)
			}
			if pgAddr == "" {
				return
			}
			want, _ := copyOutMessages(t, pgAddr, "postgres", "postgres", tc.query)
			if len(want) != tc.messages {
				t.Errorf("postgresql sent %d CopyData messages (the test's expectation is %d)", len(want), tc.messages)
			}
			for i := range min(len(got), len(want)) {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("message %d: gateway %q, postgresql %q", i, got[i], want[i])
				}
			}
		})
	}
}
