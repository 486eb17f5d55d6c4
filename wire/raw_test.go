package wire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgproto3"
)

// rawClient is a protocol-level client.
type rawClient struct {
	t   *testing.T
	nc  net.Conn
	fe  *pgproto3.Frontend
	key pgproto3.BackendKeyData
}

func dialRaw(t *testing.T, ts *testServer) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawClient{t: t, nc: nc, fe: pgproto3.NewFrontend(nc, nc)}
}

// startup sends a StartupMessage and reads up to ReadyForQuery.
func (c *rawClient) startup() *rawClient {
	c.t.Helper()
	c.send(&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters:      map[string]string{"user": "raw", "database": "db"},
	})
	for {
		switch m := c.recv().(type) {
		case *pgproto3.BackendKeyData:
			c.key = pgproto3.BackendKeyData{ProcessID: m.ProcessID, SecretKey: append([]byte(nil), m.SecretKey...)}
		case *pgproto3.ReadyForQuery:
			return c
		case *pgproto3.ErrorResponse:
			c.t.Fatalf("startup: %s %s", m.Code, m.Message)
		}
	}
}

func (c *rawClient) send(msgs ...pgproto3.FrontendMessage) {
	c.t.Helper()
	for _, m := range msgs {
		c.fe.Send(m)
	}
	if err := c.fe.Flush(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) sendRaw(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) recv() pgproto3.BackendMessage {
	c.t.Helper()
	m, err := c.fe.Receive()
	if err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return m
}

// expect reads messages and checks their types, given as "Z", "D" etc.
func (c *rawClient) expect(types ...string) []pgproto3.BackendMessage {
	c.t.Helper()
	var got []pgproto3.BackendMessage
	for _, want := range types {
		m := c.recv()
		if name := msgName(m); name != want {
			c.t.Fatalf("got %s (%+v), want %s; before: %v", name, m, want, names(got))
		}
		got = append(got, m)
	}
	return got
}

// expectFatal reads messages until an ErrorResponse with code, then
// expects the connection to be closed.
func (c *rawClient) expectFatal(code string) {
	c.t.Helper()
	for {
		m := c.recv()
		e, ok := m.(*pgproto3.ErrorResponse)
		if !ok {
			continue
		}
		if e.Code != code || e.Severity != "FATAL" {
			c.t.Fatalf("got %s %s %q, want FATAL %s", e.Severity, e.Code, e.Message, code)
		}
		break
	}
	if m, err := c.fe.Receive(); err == nil {
		c.t.Fatalf("after FATAL got %T, want end of connection", m)
	}
}

func msgName(m pgproto3.BackendMessage) string {
	b, _ := m.Encode(nil)
	return string(b[:1])
}

func names(ms []pgproto3.BackendMessage) []string {
	var s []string
	for _, m := range ms {
		s = append(s, msgName(m))
	}
	return s
}

func TestRawSSLRequestAnsweredN(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	for _, code := range []uint32{sslRequestCode, gssEncRequestCode} {
		c := dialRaw(t, ts)
		c.sendRaw(binary.BigEndian.AppendUint32([]byte{0, 0, 0, 8}, code))
		var b [1]byte
		if _, err := io.ReadFull(c.nc, b[:]); err != nil || b[0] != 'N' {
			t.Fatalf("answer %q, %v", b, err)
		}
		c.startup()
		c.send(&pgproto3.Query{String: "select 1"})
		c.expect("T", "D", "C", "Z")
	}
}

func TestRawStartupRejects(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	cases := map[string]struct {
		packet []byte
		code   string
	}{
		"too long":    {binary.BigEndian.AppendUint32(nil, 20000), pgerrcode.ProtocolViolation},
		"too short":   {binary.BigEndian.AppendUint32(nil, 3), pgerrcode.ProtocolViolation},
		"protocol 2":  {[]byte{0, 0, 0, 8, 0, 2, 0, 0}, pgerrcode.FeatureNotSupported},
		"no user":     {[]byte{0, 0, 0, 9, 0, 3, 0, 0, 0}, pgerrcode.InvalidAuthorizationSpecification},
		"unterminate": {[]byte{0, 0, 0, 12, 0, 3, 0, 0, 'u', 0, 'x', 'y'}, pgerrcode.ProtocolViolation},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, ts)
			c.sendRaw(tc.packet)
			c.expectFatal(tc.code)
		})
	}
}

func TestRawNegotiatesMinorVersion(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	c := dialRaw(t, ts)
	c.send(&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion32,
		Parameters:      map[string]string{"user": "raw", "_pq_.future": "x"},
	})
	m := c.expect("v")[0].(*pgproto3.NegotiateProtocolVersion)
	if m.NewestMinorProtocol != 0 || fmt.Sprint(m.UnrecognizedOptions) != "[_pq_.future]" {
		t.Errorf("got %+v", m)
	}
	c.expect("R")
}

func TestRawMalformedMessages(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	negBind := []byte{'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 0}
	binary.BigEndian.PutUint32(negBind[1:], uint32(len(negBind)-1))
	cases := map[string][]byte{
		"frame length below 4":  {'Q', 0, 0, 0, 3},
		"negative frame length": {'Q', 0xff, 0xff, 0xff, 0xf0},
		"unknown message type":  {'!', 0, 0, 0, 4},
		"negative bind length":  negBind,
		"over max message size": {'Q', 0x7f, 0, 0, 0},
		"truncated parse":       {'P', 0, 0, 0, 6, 'a', 0},
		"password after start":  {'p', 0, 0, 0, 6, 'x', 0},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, ts).startup()
			c.send(&pgproto3.Parse{Query: "echo"})
			c.sendRaw(b)
			c.expectFatal(pgerrcode.ProtocolViolation)
		})
	}
}

func TestRawExtendedErrors(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	c := dialRaw(t, ts).startup()
	wantErr := func(code string) {
		t.Helper()
		e, ok := c.recv().(*pgproto3.ErrorResponse)
		if !ok || e.Code != code || e.Severity != "ERROR" {
			t.Fatalf("got %+v, want ERROR %s", e, code)
		}
		c.expect("Z")
	}
	c.send(&pgproto3.Parse{Name: "s", Query: "select 1"}, &pgproto3.Parse{Name: "s", Query: "select 1"},
		&pgproto3.Describe{ObjectType: 'S', Name: "s"}, &pgproto3.Sync{})
	c.expect("1")
	wantErr(pgerrcode.DuplicatePreparedStatement)

	c.send(&pgproto3.Bind{PreparedStatement: "nope"}, &pgproto3.Sync{})
	wantErr(pgerrcode.InvalidSQLStatementName)
	c.send(&pgproto3.Execute{Portal: "nope"}, &pgproto3.Sync{})
	wantErr(pgerrcode.InvalidCursorName)
	c.send(&pgproto3.Bind{PreparedStatement: "s", ResultFormatCodes: []int16{0, 1, 0}}, &pgproto3.Sync{})
	wantErr(pgerrcode.ProtocolViolation)
	c.send(&pgproto3.Bind{PreparedStatement: "s", ResultFormatCodes: []int16{7}}, &pgproto3.Sync{})
	wantErr(pgerrcode.InvalidParameterValue)
	c.send(&pgproto3.Parse{Query: "echo"}, &pgproto3.Bind{}, &pgproto3.Sync{})
	c.expect("1")
	wantErr(pgerrcode.ProtocolViolation) // echo wants one parameter

	// Closing what does not exist is fine; Describe of a closed one is not.
	c.send(&pgproto3.Close{ObjectType: 'S', Name: "s"}, &pgproto3.Close{ObjectType: 'P', Name: "x"},
		&pgproto3.Describe{ObjectType: 'S', Name: "s"}, &pgproto3.Sync{})
	c.expect("3", "3")
	wantErr(pgerrcode.InvalidSQLStatementName)

	// Describe of a portal uses its result formats; an empty statement.
	c.send(&pgproto3.Parse{Query: "select 1"}, &pgproto3.Bind{ResultFormatCodes: []int16{1}},
		&pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: ""}, &pgproto3.Bind{}, &pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{},
		&pgproto3.Sync{})
	got := c.expect("1", "2", "T", "D", "C", "1", "2", "n", "I", "Z")
	for _, f := range got[2].(*pgproto3.RowDescription).Fields {
		if f.Format != 1 {
			t.Errorf("field %s format %d", f.Name, f.Format)
		}
	}
	// The unnamed portal is gone after Sync.
	c.send(&pgproto3.Execute{}, &pgproto3.Sync{})
	wantErr(pgerrcode.InvalidCursorName)
}

func TestRawExecuteRowLimit(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	c := dialRaw(t, ts).startup()
	c.send(&pgproto3.Parse{Query: "select 5"}, &pgproto3.Bind{}, &pgproto3.Execute{MaxRows: 2}, &pgproto3.Flush{})
	c.expect("1", "2", "D", "D", "s")
	c.send(&pgproto3.Execute{MaxRows: 2}, &pgproto3.Flush{})
	c.expect("D", "D", "s")
	c.send(&pgproto3.Execute{}, &pgproto3.Sync{})
	got := c.expect("D", "C", "Z")
	if row := got[0].(*pgproto3.DataRow).Values; string(row[1]) != "row 4" {
		t.Errorf("last row %q", row)
	}
	if tag := got[1].(*pgproto3.CommandComplete).CommandTag; string(tag) != "SELECT 5" {
		t.Errorf("tag %q", tag)
	}
}

// TestRawStreaming checks that rows reach the client while the session is
// still producing them.
func TestRawStreaming(t *testing.T) {
	h := newFakeHandler()
	h.batch = 50000 // > flushThreshold of DataRows
	ts := startServer(t, h)
	c := dialRaw(t, ts).startup()
	c.send(&pgproto3.Query{String: "stream 150000"})
	// The session cannot finish before the gate opens: this row was
	// streamed while it was still producing.
	c.expect("T", "D")
	close(h.gate)
	n := 1
	for {
		m := c.recv()
		if _, ok := m.(*pgproto3.DataRow); ok {
			n++
			continue
		}
		if cc, ok := m.(*pgproto3.CommandComplete); !ok || string(cc.CommandTag) != "SELECT 150000" {
			t.Fatalf("got %+v", m)
		}
		break
	}
	c.expect("Z")
	if n != 150000 {
		t.Errorf("%d rows", n)
	}
}

func TestRawCancelRequest(t *testing.T) {
	h := newFakeHandler()
	ts := startServer(t, h)
	c := dialRaw(t, ts).startup()
	c.send(&pgproto3.Query{String: "sleep"})
	<-h.started

	cancel := func(secret []byte) {
		cc := dialRaw(t, ts)
		cc.send(&pgproto3.CancelRequest{ProcessID: c.key.ProcessID, SecretKey: secret})
		if _, err := cc.nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("cancel connection: %v, want EOF", err)
		}
	}
	bad := append([]byte(nil), c.key.SecretKey...)
	bad[0] ^= 1
	cancel(bad)
	cancel(bad[:2])
	_ = c.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if m, err := c.fe.Receive(); err == nil {
		t.Fatalf("wrong secret cancelled: %+v", m)
	}
	// The timeout left the frontend unusable; use a fresh one on the conn.
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.fe = pgproto3.NewFrontend(c.nc, c.nc)
	cancel(c.key.SecretKey)
	e, ok := c.recv().(*pgproto3.ErrorResponse)
	if !ok || e.Code != pgerrcode.QueryCanceled {
		t.Fatalf("got %+v", e)
	}
	c.expect("Z")
}

func TestShutdownIdleAndBusy(t *testing.T) {
	h := newFakeHandler()
	ts := startServer(t, h)
	idle := dialRaw(t, ts).startup()
	busy := dialRaw(t, ts).startup()
	busy.send(&pgproto3.Query{String: "wait"})
	<-h.started

	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(context.Background()) }()
	idle.expectFatal(pgerrcode.AdminShutdown)
	if err := <-ts.served; err != ErrServerClosed {
		t.Errorf("Serve: %v", err)
	}
	ts.served <- ErrServerClosed // for the cleanup
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Error("still accepting")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a busy connection", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(h.gate)
	busy.expect("C", "Z")
	busy.expectFatal(pgerrcode.AdminShutdown)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestShutdownDeadlineCancelsQueries(t *testing.T) {
	h := newFakeHandler()
	ts := startServer(t, h)
	busy := dialRaw(t, ts).startup()
	busy.send(&pgproto3.Query{String: "sleep"})
	<-h.started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := io.ReadAll(busy.nc); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("busy connection: %v", err)
	}
	if o, c := h.opened.Load(), h.closed.Load(); o != 1 || c != 1 {
		t.Errorf("%d sessions opened, %d closed", o, c)
	}
}
