//go:build duckdb_arrow

package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

// start serves a gateway on 127.0.0.1:0 and returns a connected client.
func start(t *testing.T) *pgx.Conn {
	t.Helper()
	g, err := gateway.Open(t.Context(), gateway.Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, wire.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	conn, err := pgx.Connect(t.Context(), "postgres://sluice@"+l.Addr().String()+"/sluice?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, c *pgx.Conn, q string) {
	t.Helper()
	if _, err := c.Exec(t.Context(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestCopy(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	pg := c.PgConn()
	exec(t, c, "CREATE TABLE ct (id INTEGER, name TEXT, note TEXT)")

	tag, err := pg.CopyFrom(ctx, strings.NewReader("1\tanvil\t\\N\n2\ttab\\there\tback\\\\slash\n"), "COPY ct FROM STDIN")
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("text CopyFrom: %v %v", tag, err)
	}
	tag, err = pg.CopyFrom(ctx, strings.NewReader("id,name,note\n3,\"a,b\",\n4,\"\",\"q\"\"uote\"\n"), "COPY ct (id, name, note) FROM STDIN WITH (FORMAT csv, HEADER)")
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("csv CopyFrom: %v %v", tag, err)
	}

	var out bytes.Buffer
	tag, err = pg.CopyTo(ctx, &out, "COPY (SELECT * FROM ct ORDER BY id) TO STDOUT")
	if err != nil || tag.String() != "COPY 4" {
		t.Fatalf("text CopyTo: %v %v", tag, err)
	}
	want := "1\tanvil\t\\N\n2\ttab\\there\tback\\\\slash\n3\ta,b\t\\N\n4\t\tq\"uote\n"
	if out.String() != want {
		t.Errorf("text CopyTo = %q, want %q", out.String(), want)
	}
	out.Reset()
	if _, err = pg.CopyTo(ctx, &out, "COPY ct TO STDOUT (FORMAT csv, HEADER)"); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "id,name,note\n") || !strings.Contains(got, "3,\"a,b\",\n") || !strings.Contains(got, "4,\"\",\"q\"\"uote\"\n") {
		t.Errorf("csv CopyTo = %q", got)
	}

	// Binary out: pgx's CopyFrom of a table reads it back the same way.
	out.Reset()
	if _, err = pg.CopyTo(ctx, &out, "COPY (SELECT 7::INTEGER AS i) TO STDOUT (FORMAT binary)"); err != nil {
		t.Fatal(err)
	}
	wantBin := "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x00\x07\xff\xff"
	if out.String() != wantBin {
		t.Errorf("binary CopyTo = %q", out.String())
	}

	// Bad data: 22P02, the table unchanged, the connection usable.
	_, err = pg.CopyFrom(ctx, strings.NewReader("5\tok\tx\nnotanumber\tbad\tx\n"), "COPY ct FROM STDIN")
	if code(err) != "22P02" {
		t.Errorf("bad data: %v, want 22P02", err)
	}
	_, err = pg.CopyFrom(ctx, strings.NewReader("5\tonly two\n"), "COPY ct FROM STDIN")
	if code(err) != "22P04" {
		t.Errorf("short line: %v, want 22P04", err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM ct").Scan(&n); err != nil || n != 4 {
		t.Errorf("rows after failed COPY = %d, %v; want 4", n, err)
	}

	// pgx's high-level CopyFrom uses the binary format (copy_binary_test.go).
	if n, err := c.CopyFrom(ctx, pgx.Identifier{"ct"}, []string{"id"}, pgx.CopyFromRows([][]any{{9}})); err != nil || n != 1 {
		t.Errorf("binary CopyFrom: %d, %v", n, err)
	}
	exec(t, c, "SELECT 1")
}

func TestSettingsAndTimeout(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	for _, q := range []string{
		"SET application_name = 'tests'",
		"SET extra_float_digits = 3",
		"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
		"SET search_path TO public",
		"SET TIME ZONE 'UTC'",
		"SET myapp.user_id = 42",
	} {
		exec(t, c, q)
	}
	// DuckDB's own settings are the gateway's configuration.
	if _, err := c.Exec(ctx, "SET threads = 2"); code(err) != "42501" {
		t.Errorf("SET threads: %v, want 42501", err)
	}
	if got := c.PgConn().ParameterStatus("application_name"); got != "tests" {
		t.Errorf("ParameterStatus application_name = %q", got)
	}
	for q, want := range map[string]string{
		"SHOW application_name":            "tests",
		"SHOW TRANSACTION ISOLATION LEVEL": "read committed",
		"SHOW myapp.user_id":               "42",
		"SHOW extra_float_digits":          "3",
	} {
		var got string
		if err := c.QueryRow(ctx, q).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", q, got, err, want)
		}
	}
	exec(t, c, "RESET application_name")
	var got string
	if err := c.QueryRow(ctx, "SHOW application_name").Scan(&got); err != nil || got != "" {
		t.Errorf("after RESET: %q %v", got, err)
	}

	exec(t, c, "SET statement_timeout = '200ms'")
	start := time.Now()
	_, err := c.Exec(ctx, "SELECT count(*) FROM range(10000000000) a")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" || pe.Message != "canceling statement due to statement timeout" {
		t.Fatalf("statement_timeout: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout took %v", d)
	}
	exec(t, c, "RESET statement_timeout")
	exec(t, c, "SELECT 1")

	// Cancel through CancelRequest.
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = c.Exec(cctx, "SELECT count(*) FROM range(10000000000) a")
	if err == nil {
		t.Fatal("cancelled query succeeded")
	}
}

func TestIdleInTransactionTimeout(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	exec(t, c, "SET idle_in_transaction_session_timeout = 100")
	exec(t, c, "BEGIN")
	time.Sleep(400 * time.Millisecond)
	_, err := c.Exec(ctx, "SELECT 1")
	if err == nil {
		t.Fatal("session survived idle_in_transaction_session_timeout")
	}
	if code(err) != "25P03" && !c.IsClosed() {
		t.Errorf("got %v", err)
	}
}
