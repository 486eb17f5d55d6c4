//go:build duckdb_arrow

package gateway_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/internal/testing/testpg"
)

// serveGateway serves a gateway with opts on 127.0.0.1:0 and returns its
// address.
func serveGateway(t *testing.T, opts gateway.Options) string {
	t.Helper()
	opts.DataDir = t.TempDir()
	opts.Logger = slog.New(slog.DiscardHandler)
	g, err := gateway.Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	return l.Addr().String()
}

// raw is a protocol-level client of a gateway.
type raw struct {
	t  *testing.T
	nc *net.TCPConn
	fe *pgproto3.Frontend
}

func dialRaw(t *testing.T, addr string) *raw {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	return &raw{t: t, nc: nc.(*net.TCPConn), fe: pgproto3.NewFrontend(nc, nc)}
}

// startup logs in as sluice and reads up to ReadyForQuery.
func (c *raw) startup(params ...string) *raw {
	c.t.Helper()
	p := map[string]string{"user": "sluice", "database": "sluice"}
	for i := 0; i+1 < len(params); i += 2 {
		p[params[i]] = params[i+1]
	}
	c.fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: p})
	c.flush()
	for {
		switch m := c.recv().(type) {
		case *pgproto3.ReadyForQuery:
			return c
		case *pgproto3.ErrorResponse:
			c.t.Fatalf("startup: %s %s", m.Code, m.Message)
		}
	}
}

func (c *raw) flush() {
	c.t.Helper()
	if err := c.fe.Flush(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *raw) send(msgs ...pgproto3.FrontendMessage) {
	c.t.Helper()
	for _, m := range msgs {
		c.fe.Send(m)
	}
	c.flush()
}

func (c *raw) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *raw) recv() pgproto3.BackendMessage {
	c.t.Helper()
	m, err := c.fe.Receive()
	if err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return m
}

// errorResponse reads up to the next ErrorResponse and checks its
// severity and code; a message that contains want.
func (c *raw) errorResponse(severity, code, want string) *pgproto3.ErrorResponse {
	c.t.Helper()
	for {
		m := c.recv()
		e, ok := m.(*pgproto3.ErrorResponse)
		if !ok {
			continue
		}
		if e.Severity != severity || e.Code != code || !strings.Contains(e.Message, want) {
			c.t.Fatalf("got %s %s %q, want %s %s %q", e.Severity, e.Code, e.Message, severity, code, want)
		}
		return &pgproto3.ErrorResponse{Severity: e.Severity, Code: e.Code, Message: e.Message, Detail: e.Detail}
	}
}

// fatal expects a FATAL with code and a message containing want, then the
// end of the connection.
func (c *raw) fatal(code, want string) {
	c.t.Helper()
	c.errorResponse("FATAL", code, want)
	if m, err := c.fe.Receive(); err == nil {
		c.t.Fatalf("after FATAL got %T, want the end of the connection", m)
	}
}

// ready reads up to ReadyForQuery.
func (c *raw) ready() {
	c.t.Helper()
	for {
		if _, ok := c.recv().(*pgproto3.ReadyForQuery); ok {
			return
		}
	}
}

// stillServes checks that a fresh connection runs a query.
func stillServes(t *testing.T, addr string) {
	t.Helper()
	c, err := pgx.Connect(t.Context(), "postgres://sluice@"+addr+"/sluice?sslmode=disable")
	if err != nil {
		t.Fatalf("a fresh connection: %v", err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(t.Context(), "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("SELECT on a fresh connection: %d, %v", n, err)
	}
}

// TestMalformedMessagesOverTCP sends each kind of malformed message as raw
// bytes to a real gateway: each ends its connection with FATAL 08P01 in
// PostgreSQL's words, and the gateway goes on serving.
func TestMalformedMessagesOverTCP(t *testing.T) {
	addr := serveGateway(t, gateway.Options{})
	be := binary.BigEndian
	negBind := []byte{'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 0}
	be.PutUint32(negBind[1:], uint32(len(negBind)-1))
	// A Bind whose count says 65535 parameters, with none of them there.
	bindMany := be.AppendUint16([]byte{'B', 0, 0, 0, 0, 0, 0, 0, 0}, 65535)
	be.PutUint32(bindMany[1:], uint32(len(bindMany)-1))
	cases := []struct {
		name  string
		bytes []byte
		want  string
	}{
		{"length 2^31-1", []byte{'Q', 0x7f, 0xff, 0xff, 0xff}, "invalid message length"},
		{"negative length", []byte{'Q', 0xff, 0xff, 0xff, 0xf0}, "invalid message length"},
		{"length -1", []byte{'P', 0xff, 0xff, 0xff, 0xff}, "invalid message length"},
		{"length below 4", []byte{'S', 0, 0, 0, 3}, "invalid message length"},
		{"unknown message type", []byte{'!', 0, 0, 0, 4}, "invalid frontend message type 33"},
		{"unknown type with a body", []byte{'z', 0, 0, 0, 6, 1, 2}, "invalid frontend message type 122"},
		{"truncated Parse", []byte{'P', 0, 0, 0, 6, 'a', 0}, "invalid frontend message"},
		{"negative parameter length", negBind, "invalid frontend message"},
		{"Bind of 65535 missing parameters", bindMany, "invalid frontend message"},
		{"password message after startup", []byte{'p', 0, 0, 0, 6, 'x', 0}, "invalid frontend message type 112"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr).startup()
			c.write(tc.bytes)
			c.fatal("08P01", tc.want)
			stillServes(t, addr)
		})
	}
	// A message cut short: the client stops sending inside it (and still
	// reads).
	t.Run("truncated stream", func(t *testing.T) {
		c := dialRaw(t, addr).startup()
		c.write([]byte{'Q', 0, 0, 0, 100, 'S', 'E', 'L'})
		if err := c.nc.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		c.fatal("08P01", "incomplete message from client")
		stillServes(t, addr)
	})
}

// TestStartupPacketLimits: PostgreSQL's 10000-byte bound on a startup
// packet, and bad lengths, over TCP.
func TestStartupPacketLimits(t *testing.T) {
	addr := serveGateway(t, gateway.Options{})
	be := binary.BigEndian
	long := be.AppendUint32(be.AppendUint32(nil, 10001), 3<<16)
	for name, b := range map[string][]byte{
		"10001 bytes":     long,
		"length 2^31-1":   {0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0},
		"negative length": {0xff, 0xff, 0xff, 0xfe},
		"length 7":        {0, 0, 0, 7, 0, 3, 0},
	} {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.write(b)
			c.fatal("08P01", "invalid length of startup packet")
			stillServes(t, addr)
		})
	}
	// 10000 bytes is allowed: a startup packet padded with a long option.
	c := dialRaw(t, addr)
	sm := &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "sluice", "application_name": ""}}
	b, _ := sm.Encode(nil)
	sm.Parameters["application_name"] = strings.Repeat("a", 10000-len(b))
	if b, _ = sm.Encode(nil); len(b) != 10000 {
		t.Fatalf("startup packet of %d bytes", len(b))
	}
	c.write(b)
	c.ready()
}

// TestMaxMessageSize: a message longer than max_message_size gets FATAL
// 08P01 "invalid message length" before its body is read; one within it
// runs; the gateway goes on serving.
func TestMaxMessageSize(t *testing.T) {
	addr := serveGateway(t, gateway.Options{MaxMessageSize: 64 << 10})
	q := func(n int) *pgproto3.Query {
		// SELECT '<n - overhead bytes>' fills a message of exactly n bytes.
		return &pgproto3.Query{String: "SELECT length('" + strings.Repeat("x", n-4-len("SELECT length('')")-1) + "')"}
	}
	c := dialRaw(t, addr).startup()
	c.send(q(64 << 10))
	c.ready()
	c.send(q(64<<10 + 1))
	e := c.errorResponse("FATAL", "08P01", "invalid message length")
	if !strings.Contains(e.Detail, "65537") || !strings.Contains(e.Detail, "65536") {
		t.Errorf("detail %q", e.Detail)
	}
	stillServes(t, addr)
}

// TestBindParameterLimit: a Bind carries at most 65535 parameters (its
// count is 16 bits); a Bind of 65535 whose count does not match the
// statement's is 08P01, as PostgreSQL says it, and the connection goes on
// after Sync. (A statement of 65536 parameters is refused at Parse with
// 54000: wire's TestParamCountLimit; DuckDB takes ~26 s to prepare one, see
// docs/reliability.md.)
func TestBindParameterLimit(t *testing.T) {
	addr := serveGateway(t, gateway.Options{})
	c := dialRaw(t, addr).startup()
	params := make([][]byte, 65535)
	for i := range params {
		params[i] = []byte("1")
	}
	c.send(&pgproto3.Parse{Query: "SELECT $1::int + 1"}, &pgproto3.Bind{Parameters: params}, &pgproto3.Execute{}, &pgproto3.Sync{})
	c.errorResponse("ERROR", "08P01", "bind message supplies 65535 parameters, but prepared statement \"\" requires 1")
	c.ready()
	c.send(&pgproto3.Parse{Query: "SELECT $1::int + 1"}, &pgproto3.Bind{Parameters: [][]byte{[]byte("41")}}, &pgproto3.Execute{}, &pgproto3.Sync{})
	for {
		m := c.recv()
		if d, ok := m.(*pgproto3.DataRow); ok {
			if string(d.Values[0]) != "42" {
				t.Fatalf("got %q", d.Values[0])
			}
			break
		}
		if e, ok := m.(*pgproto3.ErrorResponse); ok {
			t.Fatalf("%s %s", e.Code, e.Message)
		}
	}
	c.ready()
}

// TestIdleSessionTimeout: idle_session_timeout ends a session idle outside
// a transaction with FATAL 57P05, idle_in_transaction_session_timeout one
// idle inside with 25P03, each settable per session with SET and as the
// server's default; RESET returns to the server's default.
func TestIdleSessionTimeout(t *testing.T) {
	addr := serveGateway(t, gateway.Options{SessionDefaults: map[string]string{"idle_session_timeout": "300"}})

	c := dialRaw(t, addr).startup()
	c.send(&pgproto3.Query{String: "SHOW idle_session_timeout"})
	var shown string
	for {
		m := c.recv()
		if d, ok := m.(*pgproto3.DataRow); ok {
			shown = string(d.Values[0])
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if shown != "300" {
		t.Errorf("SHOW idle_session_timeout = %q, want the server's default 300", shown)
	}
	start := time.Now()
	c.fatal("57P05", "terminating connection due to idle-session timeout")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ended after %s", d)
	}

	// SET 0 turns it off for the session: it outlives the default.
	c = dialRaw(t, addr).startup()
	c.send(&pgproto3.Query{String: "SET idle_session_timeout = 0"})
	c.ready()
	time.Sleep(600 * time.Millisecond)
	c.send(&pgproto3.Query{String: "SELECT 1"})
	c.ready()
	// Inside a transaction block idle_session_timeout does not apply, and
	// idle_in_transaction_session_timeout does.
	c.send(&pgproto3.Query{String: "RESET idle_session_timeout; BEGIN"})
	c.ready()
	time.Sleep(600 * time.Millisecond)
	c.send(&pgproto3.Query{String: "SET idle_in_transaction_session_timeout = '200ms'"})
	c.ready()
	c.fatal("25P03", "terminating connection due to idle-in-transaction timeout")

	// A bad value is 22023 and the session goes on.
	c = dialRaw(t, addr).startup("idle_session_timeout", "0")
	c.send(&pgproto3.Query{String: "SET idle_session_timeout = 'soon'"})
	c.errorResponse("ERROR", "22023", "idle_session_timeout")
	c.ready()
	stillServes(t, addr)

	// The option as a server default of idle_in_transaction_session_timeout.
	addr2 := serveGateway(t, gateway.Options{SessionDefaults: map[string]string{"idle_in_transaction_session_timeout": "200"}})
	conn, err := pgx.Connect(t.Context(), "postgres://sluice@"+addr2+"/sluice?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "BEGIN"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	_, err = conn.Exec(t.Context(), "SELECT 1")
	var pe *pgconn.PgError
	if err == nil || errors.As(err, &pe) && pe.Code != "25P03" {
		t.Fatalf("after the default idle-in-transaction timeout: %v", err)
	}
	stillServes(t, addr2)

	if _, err := gateway.Open(t.Context(), gateway.Options{DataDir: t.TempDir(),
		SessionDefaults: map[string]string{"idle_session_timeout": "never"}}); err == nil {
		t.Error("a bad session default opened")
	}
}

// TestIdentifierTruncationMatchesPostgres runs the same statements with
// identifiers over 63 bytes on a real PostgreSQL 15 and on the gateway:
// the NOTICEs (42622) and the column names are the same, and a Sluice
// object's long name is cut by the same rule.
func TestIdentifierTruncationMatchesPostgres(t *testing.T) {
	if m := testpg.Missing(); m != "" {
		t.Skip(m)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil { // as root the cluster runs as user postgres
			t.Fatal(err)
		}
	}
	pg, err := testpg.Start(filepath.Join(dir, "pg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	addr := serveGateway(t, gateway.Options{})

	// Unquoted names in lower case: DuckDB keeps an alias's case where
	// PostgreSQL folds it, whatever the length.
	long := strings.Repeat("abc", 23) // 69 bytes
	wide := strings.Repeat("é", 40)   // 80 bytes: 63 would split a character
	stmts := []string{
		"SELECT 1 AS " + long,
		`SELECT 2 AS "` + strings.ToUpper(long) + `"`,
		`SELECT 3 AS "` + wide + `"`,
		"CREATE TABLE t_" + long + " (x int)",
		"INSERT INTO t_" + long + "_other_tail VALUES (4)",
		"SELECT x AS v FROM t_" + long + "_x",
		"SELECT '" + long + "' AS s -- " + long,
	}
	type outcome struct {
		notices []string
		fields  []string
		rows    [][]string
		err     string
	}
	run := func(url string) []outcome {
		var notices []string
		cfg, err := pgconn.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Code+" "+n.Message) }
		c, err := pgconn.ConnectConfig(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		var out []outcome
		for _, q := range stmts {
			notices = nil
			res, err := c.Exec(t.Context(), q).ReadAll()
			o := outcome{}
			if err != nil {
				o.err = err.Error()
			}
			for _, r := range res {
				for _, f := range r.FieldDescriptions {
					o.fields = append(o.fields, f.Name)
				}
				for _, row := range r.Rows {
					var vs []string
					for _, v := range row {
						vs = append(vs, string(v))
					}
					o.rows = append(o.rows, vs)
				}
			}
			o.notices = notices
			out = append(out, o)
		}
		return out
	}
	want := run(pg.URL)
	got := run("postgres://sluice@" + addr + "/sluice?sslmode=disable")
	for i, q := range stmts {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("%s\n gateway    %+v\n postgresql %+v", q, got[i], want[i])
		}
	}
	if len(want[0].notices) != 1 || !strings.HasPrefix(want[0].notices[0], "42622 identifier") {
		t.Fatalf("PostgreSQL's notices: %v", want[0].notices)
	}

	// A materialized view's name follows the same rule.
	var notices []string
	cfg, _ := pgconn.ParseConfig("postgres://sluice@" + addr + "/sluice?sslmode=disable")
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if n.Code == "42622" {
			notices = append(notices, n.Code)
		}
	}
	c, err := pgconn.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(t.Context(), "CREATE MATERIALIZED VIEW mv_"+long+" AS SELECT 5 AS n").ReadAll(); err != nil {
		t.Fatal(err)
	}
	res, err := c.Exec(t.Context(), "SELECT n FROM mv_"+long[:60]).ReadAll()
	if err != nil || len(notices) != 1 || notices[0] != "42622" || string(res[0].Rows[0][0]) != "5" {
		t.Fatalf("materialized view: %v %v %v", res, err, notices)
	}
}
