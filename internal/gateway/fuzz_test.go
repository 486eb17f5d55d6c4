//go:build duckdb_arrow

package gateway_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/gateway"
)

// panicLog is a slog handler counting the panics the server recovers and
// the errors that reached the wire without a SQLSTATE.
type panicLog struct{ panics, uncoded *atomic.Int32 }

func (h panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (h panicLog) Handle(_ context.Context, r slog.Record) error {
	switch {
	case strings.Contains(r.Message, "panic"):
		h.panics.Add(1)
	case strings.Contains(r.Message, "without SQLSTATE"):
		h.uncoded.Add(1)
	}
	return nil
}
func (h panicLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicLog) WithGroup(string) slog.Handler      { return h }

// fuzzGateway is a real gateway on 127.0.0.1 for a fuzz target, its
// files confined to a temporary directory.
type fuzzGateway struct {
	addr            string
	panics, uncoded atomic.Int32
}

func startFuzzGateway(f *testing.F) *fuzzGateway {
	f.Helper()
	fg := &fuzzGateway{}
	dir := f.TempDir()
	g, err := gateway.Open(context.Background(), gateway.Options{
		DataDir: dir + "/data", BaseDir: dir, FileRoots: []string{dir}, Threads: 1, MemoryLimit: "512MB",
		Logger: slog.New(panicLog{&fg.panics, &fg.uncoded}),
	})
	if err != nil {
		f.Fatalf("open gateway: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	fg.addr = l.Addr().String()
	return fg
}

// check fails t when the gateway recovered a panic or sent an uncoded
// error, or no longer serves a fresh connection.
func (fg *fuzzGateway) check(t *testing.T) {
	t.Helper()
	if n := fg.panics.Load(); n > 0 {
		t.Fatalf("the gateway recovered %d panics", n)
	}
	if n := fg.uncoded.Load(); n > 0 {
		t.Fatalf("%d errors without SQLSTATE reached the client", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, "postgres://sluice@"+fg.addr+"/sluice?sslmode=disable")
	if err != nil {
		t.Fatalf("a fresh connection: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
		t.Fatalf("SELECT 1 on a fresh connection: %v", err)
	}
}

// fuzzStartupMessage bounds every statement of a fuzzed session.
func fuzzStartupMessage() []byte {
	b, err := (&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters:      map[string]string{"user": "sluice", "database": "sluice", "statement_timeout": "2s"},
	}).Encode(nil)
	if err != nil {
		panic(err)
	}
	return b
}

func encode(msgs ...pgproto3.FrontendMessage) []byte {
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = m.Encode(b); err != nil {
			panic(err)
		}
	}
	return b
}

// FuzzGatewayMessages sends a StartupMessage, then arbitrary bytes, then
// Terminate, over TCP to a real gateway with real sessions on DuckDB: the
// simple and extended protocols, COPY FROM STDIN's CopyData, CopyDone and
// CopyFail, and malformed framing. The server must end or keep the
// connection within 10 s, never panic nor send an uncoded error, and go on
// serving fresh connections.
func FuzzGatewayMessages(f *testing.F) {
	f.Add(encode(&pgproto3.Query{String: "CREATE TABLE IF NOT EXISTS t (a int, b text); SELECT 1; BEGIN; SELECT x; ROLLBACK"}))
	f.Add(encode(&pgproto3.Parse{Name: "s", Query: "SELECT $1::int + 1"}, &pgproto3.Describe{ObjectType: 'S', Name: "s"},
		&pgproto3.Bind{PreparedStatement: "s", ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{0, 0, 0, 7}}, ResultFormatCodes: []int16{1}},
		&pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{MaxRows: 1}, &pgproto3.Close{ObjectType: 'S', Name: "s"}, &pgproto3.Sync{}))
	f.Add(encode(&pgproto3.Parse{Query: "SELECT * FROM range(10)"}, &pgproto3.Bind{}, &pgproto3.Execute{MaxRows: 3},
		&pgproto3.Execute{MaxRows: 3}, &pgproto3.Flush{}, &pgproto3.Close{ObjectType: 'P'}, &pgproto3.Sync{}))
	f.Add(encode(&pgproto3.Parse{Query: "SELECT $1::numeric"}, &pgproto3.Bind{ParameterFormatCodes: []int16{1},
		Parameters: [][]byte{{0, 1, 0, 0, 0, 0, 0, 0, 0x30, 0x30}}}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	f.Add(encode(&pgproto3.Query{String: "CREATE TABLE IF NOT EXISTS t (a int, b text); COPY t FROM STDIN"},
		&pgproto3.CopyData{Data: []byte("1\tx\n2\t\\N\n")}, &pgproto3.CopyDone{}, &pgproto3.Query{String: "SELECT count(*) FROM t"}))
	f.Add(encode(&pgproto3.Query{String: "COPY t FROM STDIN (FORMAT csv)"}, &pgproto3.CopyData{Data: []byte("1,\"a\"\n")},
		&pgproto3.CopyFail{Message: "no"}, &pgproto3.Sync{}))
	f.Add(encode(&pgproto3.Query{String: "COPY t FROM STDIN (FORMAT binary)"}, &pgproto3.CopyData{Data: []byte("PGCOPY\n\xff\r\n\x00")},
		&pgproto3.CopyDone{}))
	f.Add(encode(&pgproto3.Query{String: "COPY (SELECT 1) TO STDOUT (FORMAT csv)"}, &pgproto3.FunctionCall{Function: 1}))
	f.Add([]byte{'Q', 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{'B', 0xff, 0xff, 0xff, 0xf0})
	f.Add([]byte{'P', 0, 0, 0, 6, 'a', 0})
	f.Add([]byte{'!', 0, 0, 0, 4})
	f.Add([]byte("Q\x00\x00\x00VCREATE TABLE IF NO")) // a length past the end of the input
	f.Add(encode(&pgproto3.Query{String: "SET idle_in_transaction_session_timeout = '1ms'; BEGIN"}))

	fg := startFuzzGateway(f)
	startup := fuzzStartupMessage()
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := net.Dial("tcp", fg.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		done := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, nc)
			done <- err
		}()
		var in bytes.Buffer
		in.Write(startup)
		in.Write(data)
		in.Write([]byte{'X', 0, 0, 0, 4})
		if _, err := nc.Write(in.Bytes()); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server stopped reading for 10 s")
			}
		}
		// The client has said all it will: a message left incomplete
		// (a length beyond the bytes sent) ends at EOF, as when a client
		// dies mid-message, rather than waiting out the deadline for bytes
		// that never come (which held each such input 10 s).
		_ = nc.(*net.TCPConn).CloseWrite()
		if err := <-done; err != nil && !isReset(err) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// A message left incomplete waits for its remaining bytes,
				// as PostgreSQL does; the connection must still close.
				_ = nc.Close()
			}
		}
		fg.check(t)
	})
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// FuzzCopyFrom loads arbitrary data with COPY t FROM STDIN in the text,
// csv or binary format through a real gateway into a table of several
// types. Every failure must be an ErrorResponse with a SQLSTATE other than
// XX000, and the connection must stay usable.
func FuzzCopyFrom(f *testing.F) {
	be := binary.BigEndian
	bin := []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	bin = be.AppendUint16(bin, 5)
	bin = append(be.AppendUint32(bin, 4), be.AppendUint32(nil, 7)...)
	bin = append(be.AppendUint32(bin, 1), 'x')
	bin = append(be.AppendUint32(bin, 8), be.AppendUint64(nil, 0x3ff0000000000000)...)
	bin = append(be.AppendUint32(bin, 4), be.AppendUint32(nil, 100)...)
	bin = append(be.AppendUint32(bin, 1), 1)
	bin = be.AppendUint16(bin, 0xffff)
	f.Add(uint8(0), []byte("1\tone\t1.5\t2024-01-01\tt\n\\N\t\\N\t\\N\t\\N\t\\N\n\\.\n"))
	f.Add(uint8(0), []byte("1\ttab\\there\\x41\\101\t-0\t2024-02-30\tyes\n"))
	f.Add(uint8(0), []byte("x\n"))
	f.Add(uint8(1), []byte("1,\"a,b\",2e3,2024-01-01,true\n,,,,\n\"\",\"\"\"\",nan,infinity,f\n"))
	f.Add(uint8(1), []byte("1,\"unterminated\n"))
	f.Add(uint8(1), []byte("1,2,3,4,5,6\n"))
	f.Add(uint8(2), bin)
	f.Add(uint8(2), bin[:len(bin)-5])
	f.Add(uint8(2), []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x7f\xff\xff\xff"))

	fg := startFuzzGateway(f)
	ctx := context.Background()
	var conn *pgconn.PgConn
	connect := func(t *testing.T) {
		var err error
		if conn, err = pgconn.Connect(ctx, "postgres://sluice@"+fg.addr+"/sluice?sslmode=disable&statement_timeout=5000"); err != nil {
			t.Fatalf("connect: %v", err)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS t (a int, b text, c double, d date, e bool)").ReadAll(); err != nil {
			t.Fatal(err)
		}
	}
	formats := []string{"text", "csv", "binary"}
	f.Fuzz(func(t *testing.T, format uint8, data []byte) {
		if conn == nil || conn.IsClosed() {
			connect(t)
		}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		q := "COPY t FROM STDIN (FORMAT " + formats[int(format)%len(formats)] + ")"
		_, err := conn.CopyFrom(cctx, bytes.NewReader(data), q)
		if err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				t.Fatalf("%s: %v (not an ErrorResponse)", q, err)
			}
			if pe.Code == "" || pe.Code == "XX000" {
				t.Fatalf("%s: %s %q", q, pe.Code, pe.Message)
			}
		}
		if _, err := conn.Exec(cctx, "DELETE FROM t").ReadAll(); err != nil {
			t.Fatalf("after %s: %v", q, err)
		}
		if n := fg.panics.Load() + fg.uncoded.Load(); n > 0 {
			t.Fatalf("%d panics or uncoded errors", n)
		}
	})
}
