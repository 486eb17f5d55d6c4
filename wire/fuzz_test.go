package wire

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// panicCounter is a slog handler counting recovered panics.
type panicCounter struct{ n *atomic.Int32 }

func (h panicCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h panicCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.n.Add(1)
	}
	return nil
}
func (h panicCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicCounter) WithGroup(string) slog.Handler      { return h }

// fuzzStartup is a valid StartupMessage.
func fuzzStartup() []byte {
	b, err := (&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters:      map[string]string{"user": "fuzz"},
	}).Encode(nil)
	if err != nil {
		panic(err)
	}
	return b
}

func encodeAll(msgs ...pgproto3.FrontendMessage) []byte {
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = m.Encode(b); err != nil {
			panic(err)
		}
	}
	return b
}

// FuzzFrontendMessages feeds arbitrary bytes, after a valid startup, to a
// connection served by the real server code over net.Pipe. No panic may
// escape or be recovered, and the connection's goroutine must end.
func FuzzFrontendMessages(f *testing.F) {
	negBind := []byte{'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 0}
	binary.BigEndian.PutUint32(negBind[1:], uint32(len(negBind)-1))
	f.Add(negBind)
	f.Add([]byte{'Q', 0, 0, 0, 3})
	f.Add([]byte{'Q', 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{'P', 0, 0, 0, 6, 'a', 0})
	f.Add(encodeAll(&pgproto3.Query{String: "select 3; begin; fail; rollback"}, &pgproto3.Terminate{}))
	f.Add(encodeAll(&pgproto3.Parse{Name: "s", Query: "echo"}, &pgproto3.Describe{ObjectType: 'S', Name: "s"},
		&pgproto3.Bind{PreparedStatement: "s", Parameters: [][]byte{[]byte("x")}, ResultFormatCodes: []int16{1}},
		&pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{MaxRows: 1}, &pgproto3.Sync{}))
	f.Add(encodeAll(&pgproto3.Parse{Query: "select 10"}, &pgproto3.Bind{}, &pgproto3.Execute{MaxRows: 3},
		&pgproto3.Execute{MaxRows: 3}, &pgproto3.Close{ObjectType: 'P'}, &pgproto3.Flush{}, &pgproto3.Sync{}))
	f.Add(encodeAll(&pgproto3.Parse{Query: "fail"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: "select 1"}, &pgproto3.Sync{}, &pgproto3.Query{String: ""}))

	startup := fuzzStartup()
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzServe(t, Config{MaxMessageSize: 1 << 20}, startup, data, []byte{'X', 0, 0, 0, 4})
	})
}

// FuzzStartupPackets feeds arbitrary bytes to a new connection: the
// startup phase's packets (SSLRequest, GSSENCRequest, CancelRequest,
// StartupMessage) and whatever follows.
func FuzzStartupPackets(f *testing.F) {
	be := binary.BigEndian
	ssl := be.AppendUint32([]byte{0, 0, 0, 8}, sslRequestCode)
	gss := be.AppendUint32([]byte{0, 0, 0, 8}, gssEncRequestCode)
	cancel := be.AppendUint32(be.AppendUint32(be.AppendUint32([]byte{0, 0, 0, 16}, cancelRequestCode), 1), 2)
	startup := fuzzStartup()
	f.Add(startup)
	f.Add(append(append(append([]byte{}, ssl...), gss...), startup...))
	f.Add(append(append(append([]byte{}, ssl...), ssl...), ssl...))
	f.Add(cancel)
	f.Add([]byte{0, 0, 0, 7, 0, 3, 0})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xf0})
	f.Add([]byte{0, 0, 0x27, 0x11, 0, 3, 0, 0})
	f.Add([]byte{0, 0, 0, 8, 0, 2, 0, 0})
	f.Add([]byte{0, 0, 0, 12, 0, 3, 0, 0, 'u', 0, 'x', 'y'})
	f.Add([]byte{0, 0, 0, 9, 0, 3, 0, 0, 0})
	v32, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion32,
		Parameters: map[string]string{"user": "u", "_pq_.x": "1", "database": "", "options": "-c a=b"}}).Encode(nil)
	f.Add(v32)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzServe(t, Config{MaxMessageSize: 1 << 20, MaxConnections: 1}, nil, data, nil)
	})
}

// FuzzAuthMessages sends a valid StartupMessage to a server that asks for
// a password (SCRAM-SHA-256 for alice, MD5 for bob), then arbitrary bytes:
// PasswordMessage, SASLInitialResponse and SASLResponse as the client
// might send them, and anything else.
func FuzzAuthMessages(f *testing.F) {
	scram, err := NewSCRAMVerifier("pencil", 4096)
	if err != nil {
		f.Fatal(err)
	}
	auth, err := NewPasswordAuth(AuthMD5, map[string]string{"alice": scram.String(), "bob": MD5Secret("bob", "hunter2")})
	if err != nil {
		f.Fatal(err)
	}
	first := "n,,n=,r=rOprNGfwEbeRWgbNEkqO"
	f.Add(true, encodeAll(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte(first)},
		&pgproto3.SASLResponse{Data: []byte("c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")}))
	f.Add(true, encodeAll(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256-PLUS", Data: []byte("p=tls-server-end-point,,n=,r=x")}))
	f.Add(true, encodeAll(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("y,,n=,r=")},
		&pgproto3.SASLResponse{Data: []byte("c=eSws,r=")}))
	f.Add(true, encodeAll(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,a=x,r=abc,e=1")}))
	f.Add(true, []byte{'p', 0, 0, 0, 5, 0})
	f.Add(true, []byte{'p', 0, 0, 0, 9, 'S', 0, 0xff, 0xff, 0xff, 0xff})
	f.Add(false, encodeAll(&pgproto3.PasswordMessage{Password: "md5" + strings.Repeat("0", 32)}))
	f.Add(false, encodeAll(&pgproto3.PasswordMessage{Password: ""}))
	f.Add(false, []byte{'p', 0x7f, 0xff, 0xff, 0xff})
	f.Add(false, []byte{'Q', 0, 0, 0, 4})
	startups := map[bool][]byte{}
	for _, alice := range []bool{true, false} {
		user := "bob"
		if alice {
			user = "alice"
		}
		b, err := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
			Parameters: map[string]string{"user": user}}).Encode(nil)
		if err != nil {
			f.Fatal(err)
		}
		startups[alice] = b
	}
	f.Fuzz(func(t *testing.T, alice bool, data []byte) {
		fuzzServe(t, Config{MaxMessageSize: 1 << 20, Authenticator: auth}, startups[alice], data, []byte{'X', 0, 0, 0, 4})
	})
}

// fuzzServe serves one connection with the real server code over
// net.Pipe and writes prefix, data and suffix to it. No panic may escape
// or be recovered, every session opened must be closed, and the
// connection's goroutine must end.
func fuzzServe(t *testing.T, cfg Config, prefix, data, suffix []byte) {
	var panics atomic.Int32
	h := newFakeHandler()
	h.noPanic = true
	close(h.gate) // "wait" and "stream" do not block
	cfg.Handler = h
	cfg.Logger = slog.New(panicCounter{&panics})
	s := NewServer(cfg)

	client, server := net.Pipe()
	fc := &fuzzConn{Conn: server}
	s.startConn(fc)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(io.Discard, client)
	}()
	_ = client.SetWriteDeadline(time.Now().Add(2 * time.Second))
	for _, b := range [][]byte{prefix, data, suffix} {
		if len(b) > 0 {
			if _, err := client.Write(b); err != nil {
				break // the server ended the connection
			}
		}
	}
	waitIdle(s, fc, time.Second)

	// "sleep" waits for cancellation: Shutdown's deadline provides it.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = s.Shutdown(ctx)
	_ = client.Close()
	<-drained
	if n := panics.Load(); n > 0 {
		t.Fatalf("%d panics recovered", n)
	}
	if o, c := h.opened.Load(), h.closed.Load(); o != c {
		t.Fatalf("%d sessions opened, %d closed", o, c)
	}
}

// fuzzConn tells when the server waits for input that will never come.
type fuzzConn struct {
	net.Conn
	reading atomic.Bool
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	c.reading.Store(true)
	defer c.reading.Store(false)
	return c.Conn.Read(p)
}

// waitIdle waits up to d, once all input is written, for s's connections to
// end or to block reading.
func waitIdle(s *Server, fc *fuzzConn, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Microsecond) {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 || fc.reading.Load() {
			return
		}
	}
}
