package wire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect opens a pgx connection whose context cancellation sends a
// CancelRequest (pgx's default closes the connection instead).
func connect(t *testing.T, ts *testServer) *pgx.Conn {
	t.Helper()
	return connectMode(t, ts, pgx.QueryExecModeCacheStatement)
}

// connectMode is connect with a default query exec mode.
func connectMode(t *testing.T, ts *testServer, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(ts.url("db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 5 * time.Second}
	}
	conn, err := pgx.ConnectConfig(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func wantCode(t *testing.T, err error, code string) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("got error %v, want SQLSTATE %s", err, code)
	}
	if pe.Code != code {
		t.Fatalf("got SQLSTATE %s (%s), want %s", pe.Code, pe.Message, code)
	}
	return pe
}

func TestConnectParameterStatus(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	conn := connect(t, ts)
	pc := conn.PgConn()
	for name, want := range map[string]string{
		"server_version":              "15.0",
		"server_encoding":             "UTF8",
		"client_encoding":             "UTF8",
		"DateStyle":                   "ISO, MDY",
		"integer_datetimes":           "on",
		"standard_conforming_strings": "on",
		"TimeZone":                    "UTC",
		"IntervalStyle":               "postgres",
		"application_name":            "wiretest",
		"is_superuser":                "on",
		"session_authorization":       "tester",
	} {
		if got := pc.ParameterStatus(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if pc.PID() == 0 || len(pc.SecretKey()) != secretLen {
		t.Errorf("BackendKeyData pid %d secret %x", pc.PID(), pc.SecretKey())
	}
	if pc.TxStatus() != 'I' {
		t.Errorf("TxStatus %c", pc.TxStatus())
	}
}

func TestUnknownDatabase(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	_, err := pgx.Connect(testCtx(t), ts.url("nodb"))
	wantCode(t, err, pgerrcode.InvalidCatalogName)
}

func TestSimpleQueryManyStatements(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	conn := connect(t, ts)
	results, err := conn.PgConn().Exec(testCtx(t), "select 2; begin; select 250; commit").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range results {
		got = append(got, fmt.Sprintf("%s:%d", r.CommandTag, len(r.Rows)))
	}
	if want := "[SELECT 2:2 BEGIN:0 SELECT 250:250 COMMIT:0]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if string(results[2].Rows[249][1]) != "row 249" {
		t.Errorf("last row %q", results[2].Rows[249])
	}

	res, err := conn.PgConn().Exec(testCtx(t), "").ReadAll()
	if err != nil || len(res) != 1 || len(res[0].Rows) != 0 {
		t.Errorf("empty query: %v %v", res, err)
	}
}

func TestQueryExecModes(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	conn := connect(t, ts)
	for _, mode := range []pgx.QueryExecMode{
		pgx.QueryExecModeCacheStatement,
		pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeDescribeExec,
		pgx.QueryExecModeExec,
		pgx.QueryExecModeSimpleProtocol,
	} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := testCtx(t)
			for range 2 { // the second run uses the cached statement
				rows, err := conn.Query(ctx, "select 1234", mode)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for rows.Next() {
					var id int64
					var name string
					if err := rows.Scan(&id, &name); err != nil {
						t.Fatal(err)
					}
					if id != int64(n) || name != fmt.Sprintf("row %d", n) {
						t.Fatalf("row %d = (%d, %q)", n, id, name)
					}
					n++
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				if n != 1234 || rows.CommandTag().String() != "SELECT 1234" {
					t.Fatalf("%d rows, tag %q", n, rows.CommandTag())
				}
			}
			if mode == pgx.QueryExecModeSimpleProtocol {
				return
			}
			var s string
			if err := conn.QueryRow(ctx, "echo", mode, "hello, wire").Scan(&s); err != nil || s != "hello, wire" {
				t.Fatalf("echo = %q, %v", s, err)
			}
			var p *string
			if err := conn.QueryRow(ctx, "echo", mode, nil).Scan(&p); err != nil || p != nil {
				t.Fatalf("echo NULL = %v, %v", p, err)
			}
		})
	}
}

func TestErrorThenUsable(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	conn := connect(t, ts)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := testCtx(t)
			_, err := conn.Exec(ctx, "fail 22P02", mode)
			pe := wantCode(t, err, pgerrcode.InvalidTextRepresentation)
			if pe.Severity != "ERROR" || pe.Detail != "the detail" || pe.Hint != "the hint" || pe.Position != 3 {
				t.Errorf("error fields %+v", pe)
			}
			_, err = conn.Exec(ctx, "nonsense", mode)
			wantCode(t, err, pgerrcode.SyntaxError)
			var n int
			if err := conn.QueryRow(ctx, "select 3", mode).Scan(&n, new(string)); err != nil || n != 0 {
				t.Fatalf("after error: %d, %v", n, err)
			}
		})
	}
}

func TestBatchErrorRecoversAtSync(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	ctx := testCtx(t)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeCacheStatement} {
		conn := connectMode(t, ts, mode)
		b := &pgx.Batch{}
		b.Queue("select 2")
		b.Queue("fail")
		b.Queue("select 3")
		br := conn.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			t.Fatalf("%v: first: %v", mode, err)
		}
		_, err := br.Exec()
		wantCode(t, err, pgerrcode.DivisionByZero)
		if _, err := br.Exec(); err == nil {
			t.Errorf("%v: statement after the error ran", mode)
		}
		if err := br.Close(); err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				t.Fatalf("%v: close: %v", mode, err)
			}
		}
		var id int64
		if err := conn.QueryRow(ctx, "select 1", mode).Scan(&id, new(string)); err != nil {
			t.Fatalf("%v: after batch: %v", mode, err)
		}
	}
}

func TestCancel(t *testing.T) {
	h := newFakeHandler()
	ts := startServer(t, h)
	conn := connect(t, ts)
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() {
		<-h.started
		cancel()
	}()
	_, err := conn.Exec(ctx, "sleep")
	wantCode(t, err, pgerrcode.QueryCanceled)
	var id int64
	if err := conn.QueryRow(testCtx(t), "select 1").Scan(&id, new(string)); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestTxStatus(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	conn := connect(t, ts)
	ctx := testCtx(t)
	pc := conn.PgConn()
	steps := []struct {
		sql  string
		want byte
	}{{"begin", 'T'}, {"select 1", 'T'}, {"fail", 'E'}, {"select 1", 'E'}, {"rollback", 'I'}}
	for _, s := range steps {
		_, _ = pc.Exec(ctx, s.sql).ReadAll()
		if got := pc.TxStatus(); got != s.want {
			t.Errorf("after %q: TxStatus %c, want %c", s.sql, got, s.want)
		}
	}
	// Extended protocol: ReadyForQuery after Sync carries the status too.
	for _, s := range steps {
		_, _ = conn.Exec(ctx, s.sql, pgx.QueryExecModeExec)
		if got := pc.TxStatus(); got != s.want {
			t.Errorf("extended %q: TxStatus %c, want %c", s.sql, got, s.want)
		}
	}
}

func TestPanicEndsOnlyThatConnection(t *testing.T) {
	h := newFakeHandler()
	ts := startServer(t, h)
	victim := connect(t, ts)
	other := connect(t, ts)
	ctx := testCtx(t)

	_, err := victim.Exec(ctx, "panic")
	pe := wantCode(t, err, pgerrcode.InternalError)
	if pe.Severity != "FATAL" {
		t.Errorf("severity %s", pe.Severity)
	}
	if !victim.IsClosed() {
		// pgx closes on FATAL; a further query must fail either way.
		if _, err := victim.Exec(ctx, "select 1"); err == nil {
			t.Error("victim connection still usable")
		}
	}
	var id int64
	if err := other.QueryRow(ctx, "select 1").Scan(&id, new(string)); err != nil {
		t.Fatalf("other connection: %v", err)
	}
	// A new connection works too.
	if err := connect(t, ts).QueryRow(ctx, "select 1").Scan(&id, new(string)); err != nil {
		t.Fatalf("new connection: %v", err)
	}
}

func TestFatalSessionError(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	conn := connect(t, ts)
	_, err := conn.Exec(testCtx(t), "fatal")
	wantCode(t, err, pgerrcode.ConnectionFailure)
}

func TestNotice(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	cfg, err := pgconn.ParseConfig(ts.url("db"))
	if err != nil {
		t.Fatal(err)
	}
	notices := make(chan *pgconn.Notice, 1)
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices <- n }
	pc, err := pgconn.ConnectConfig(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(context.Background())
	if _, err := pc.Exec(testCtx(t), "notice").ReadAll(); err != nil {
		t.Fatal(err)
	}
	n := <-notices
	if n.Severity != "NOTICE" || n.Message != "hello" || n.Code != "00000" {
		t.Errorf("notice %+v", n)
	}
}
