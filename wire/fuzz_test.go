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
		var panics atomic.Int32
		h := newFakeHandler()
		h.noPanic = true
		close(h.gate) // "wait" and "stream" do not block
		s := NewServer(Config{Handler: h, Logger: slog.New(panicCounter{&panics}), MaxMessageSize: 1 << 20})

		client, server := net.Pipe()
		fc := &fuzzConn{Conn: server}
		s.startConn(fc)
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, client)
		}()
		_ = client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := client.Write(startup); err != nil {
			t.Fatalf("startup: %v", err)
		}
		_, _ = client.Write(data)
		_, _ = client.Write([]byte{'X', 0, 0, 0, 4})
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
	})
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
