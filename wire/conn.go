package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Startup packet codes (the first int32 after the length).
const (
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	cancelRequestCode = 80877102

	// maxStartupPacket is PostgreSQL's MAX_STARTUP_PACKET_LENGTH.
	maxStartupPacket = 10000
	// maxNegotiations bounds SSLRequest/GSSEncRequest round trips.
	maxNegotiations = 2
	// fatalWriteTimeout bounds the last write to a client being dropped.
	fatalWriteTimeout = time.Second
)

// SyncSession is an optional power of a Session: Sync is called when the
// extended protocol's Sync message ends an implicit transaction, before
// ReadyForQuery. An error is sent as an ErrorResponse.
type SyncSession interface {
	Session
	Sync(ctx context.Context) error
}

// conn is the state of one client connection. Only its own goroutine
// touches it, except for the fields documented otherwise.
type conn struct {
	srv *Server
	// nc is the network connection (under TLS, the raw one: deadlines and
	// Close reach it from any goroutine); reads and writes go through in
	// and out, which use the TLS connection once it is up.
	nc  net.Conn
	log *slog.Logger

	tls     *tls.ConnectionState // nil in plaintext
	hasSlot bool                 // holds a MaxConnections slot

	in  *connReader
	out *msgWriter
	be  *pgproto3.Backend

	// Set by registerKey under srv.mu, read by cancelRequest.
	pid    uint32
	secret []byte

	draining atomic.Bool // Shutdown asked this connection to end

	cancelConn context.CancelFunc // cancels every query of the connection

	mu          sync.Mutex
	queryCancel context.CancelFunc // the running query's; guarded by mu

	stmts          map[string]Statement
	portals        map[string]*portal
	ignoreTillSync bool
	simple         resultWriter
}

// portal is a bound portal and the result format codes it was bound with.
type portal struct {
	p  Portal
	rw resultWriter
}

// connReader reads from the client, first flushing pending output: the
// pgproto3 decoder calls Read only when it needs more bytes, that is,
// before a read that may block. It records the network's error so that a
// failed read is told apart from a malformed message.
type connReader struct {
	nc  net.Conn
	out *msgWriter
	err error
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.out.pending() {
		if err := r.out.flush(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n, err := r.nc.Read(p)
	if err != nil {
		r.err = err
	}
	return n, err
}

// newConn returns the connection state for nc and the connection's context,
// from which every query's context derives.
func newConn(s *Server, nc net.Conn) (*conn, context.Context) {
	out := &msgWriter{w: nc, obs: s.obs}
	in := &connReader{nc: nc, out: out}
	be := pgproto3.NewBackend(in, nil)
	be.SetMaxBodyLen(s.cfg.MaxMessageSize - 4)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		srv:        s,
		cancelConn: cancel,
		nc:         nc,
		log:        s.log.With("remote", nc.RemoteAddr().String()),
		in:         in,
		out:        out,
		be:         be,
		stmts:      make(map[string]Statement),
		portals:    make(map[string]*portal),
		simple:     resultWriter{out: out, in: be, describe: true},
	}
	return c, ctx
}

// drain asks the connection to end: at once if it is waiting for the
// client, after the current message otherwise. Safe from any goroutine.
func (c *conn) drain() {
	c.draining.Store(true)
	// Wake a blocked read; the reader sees draining and says goodbye.
	if err := c.nc.SetReadDeadline(time.Now()); err != nil {
		c.log.Debug("setting read deadline", "err", err)
	}
}

// kill cancels the connection's queries and closes it. Safe from any
// goroutine.
func (c *conn) kill() {
	c.cancelConn()
	_ = c.nc.Close()
}

// cancelQuery cancels the query the connection is running, if any. Safe
// from any goroutine.
func (c *conn) cancelQuery() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queryCancel != nil {
		c.queryCancel()
	}
}

// serve runs the connection to its end. A panic is recovered here, logged
// with its stack and reported to the client as XX000.
func (c *conn) serve(ctx context.Context) {
	defer c.cancelConn()
	defer c.close()
	defer c.recoverPanic()

	if err := c.run(ctx); err != nil {
		c.log.Debug("connection ended", "err", err)
	}
}

// close closes the network connection and forgets the cancel key.
func (c *conn) close() {
	c.srv.unregisterKey(c)
	if c.hasSlot {
		c.srv.releaseSlot()
		c.hasSlot = false
	}
	if err := c.nc.Close(); err != nil {
		c.log.Debug("closing connection", "err", err)
	}
}

// recoverPanic turns a panic into an XX000 FATAL for this client only.
func (c *conn) recoverPanic() {
	r := recover()
	if r == nil {
		return
	}
	c.log.Error("panic serving connection", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	// The buffer may end in a half-written message; drop it.
	c.out.reset()
	c.sendFatal(fatal(pgerrcode.InternalError, "internal error: %v", r))
}

// sendFatal sends e as the last message to the client, bounding the write
// so that a client that does not read cannot hold the goroutine.
func (c *conn) sendFatal(e *pgerr.Error) {
	if c.out.err != nil {
		return
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(fatalWriteTimeout))
	c.out.send(errorResponse(e))
	if err := c.out.flush(); err != nil {
		c.log.Debug("sending fatal error", "err", err)
	}
}

// run performs the startup phase, then serves messages until the client
// leaves, a fatal error occurs or the server shuts down.
func (c *conn) run(ctx context.Context) error {
	info, ok, err := c.startup(ctx)
	if err != nil || !ok {
		return err
	}
	sess, err := c.srv.cfg.Handler.NewSession(ctx, info)
	if err != nil {
		c.srv.obs.ConnectionRefused(RefusedSession)
		e := pgerr.As(err)
		fe := *e
		fe.Severity = severityFatal
		c.sendFatal(&fe)
		return err
	}
	defer c.closeSession(sess)

	c.readyForQuery(sess)
	return c.loop(ctx, sess)
}

// closeSession closes the connection's portals and statements, then the
// session, which is closed whatever happens to the others.
func (c *conn) closeSession(sess Session) {
	defer func() {
		if err := sess.Close(); err != nil {
			c.log.Warn("closing session", "err", err)
		}
	}()
	for name, p := range c.portals {
		delete(c.portals, name)
		if err := p.p.Close(); err != nil {
			c.log.Debug("closing portal", "err", err)
		}
	}
	for name, st := range c.stmts {
		delete(c.stmts, name)
		if err := st.Close(); err != nil {
			c.log.Debug("closing statement", "err", err)
		}
	}
}

// rawMessage is a backend message sent as is (such as the single byte
// answering SSLRequest).
type rawMessage []byte

func (rawMessage) Backend()                            {}
func (rawMessage) Decode([]byte) error                 { return errors.New("rawMessage cannot be decoded") }
func (m rawMessage) Encode(dst []byte) ([]byte, error) { return append(dst, m...), nil }

// readyForQuery sends ReadyForQuery with the session's transaction status
// and flushes.
func (c *conn) readyForQuery(sess Session) {
	c.out.send(&pgproto3.ReadyForQuery{TxStatus: sess.TxStatus()})
	_ = c.out.flush()
}

// withQuery runs fn with a context that CancelRequest and Shutdown cancel.
func (c *conn) withQuery(ctx context.Context, fn func(ctx context.Context) error) error {
	qctx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	c.queryCancel = cancel
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.queryCancel = nil
		c.mu.Unlock()
		cancel()
	}()
	return fn(qctx)
}

// loop serves frontend messages until Terminate, a fatal error, the
// client's departure or shutdown.
func (c *conn) loop(ctx context.Context, sess Session) error {
	for {
		if c.draining.Load() {
			c.sendFatal(errAdminShutdown())
			return nil
		}
		idle := c.idleDeadline(sess)
		msg, err := c.be.Receive()
		if idle != nil {
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		if err != nil {
			var ne net.Error
			if idle != nil && !c.draining.Load() && errors.As(err, &ne) && ne.Timeout() {
				c.sendFatal(idle)
				return err
			}
			return c.receiveFailed(err)
		}
		if c.ignoreTillSync && !endsIgnore(msg) {
			continue
		}
		done, err := c.dispatch(ctx, sess, msg)
		if c.out.err != nil {
			return c.out.err
		}
		if err != nil {
			e := pgerr.As(err)
			c.logUncoded(err, e)
			if isFatal(e) {
				c.sendFatal(e)
				return err
			}
			c.out.send(errorResponse(e))
			switch msg.(type) {
			case *pgproto3.Query, *pgproto3.FunctionCall:
				c.readyForQuery(sess)
			default:
				c.ignoreTillSync = true
			}
		}
		if done {
			return nil
		}
	}
}

// idleDeadline sets a read deadline when the session has a timeout for
// the state it waits in: idle_in_transaction_session_timeout inside a
// transaction block, idle_session_timeout outside. It returns the FATAL
// error that the deadline's passing sends, nil when none is set.
func (c *conn) idleDeadline(sess Session) *pgerr.Error {
	is, ok := sess.(IdleSession)
	if !ok {
		return nil
	}
	d, e := is.IdleSessionTimeout(), errIdleSession
	if sess.TxStatus() != 'I' {
		d, e = is.IdleInTransactionTimeout(), errIdleInTransaction
	}
	if d <= 0 {
		return nil
	}
	if err := c.nc.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil
	}
	return e()
}

// endsIgnore reports whether msg is handled while discarding messages
// after an error in the extended protocol.
func endsIgnore(msg pgproto3.FrontendMessage) bool {
	switch msg.(type) {
	case *pgproto3.Sync, *pgproto3.Terminate:
		return true
	}
	return false
}

// receiveFailed handles a failed Receive: the network's failure ends the
// connection quietly (or with 57P01 when Shutdown interrupted the read), a
// malformed message with a FATAL 08P01.
func (c *conn) receiveFailed(err error) error {
	if c.in.err == io.EOF && errors.Is(err, io.ErrUnexpectedEOF) {
		// The client stopped sending inside a message (it may still read).
		c.log.Info("protocol violation", "err", err)
		c.sendFatal(fatal(pgerrcode.ProtocolViolation, "incomplete message from client"))
		return err
	}
	if c.in.err != nil {
		return c.readFailed(err)
	}
	c.log.Info("protocol violation", "err", err)
	c.sendFatal(receiveError(err, c.srv.cfg.MaxMessageSize))
	return err
}

// logUncoded logs errors that reached the wire without a SQLSTATE: they
// are reported as XX000 and mean a bug.
func (c *conn) logUncoded(err error, e *pgerr.Error) {
	var pe *pgerr.Error
	if !errors.As(err, &pe) {
		c.log.Error("error without SQLSTATE", "err", e.Message)
	}
}

// dispatch handles one message. done is true when the connection should
// end cleanly; an error is sent to the client by the caller.
func (c *conn) dispatch(ctx context.Context, sess Session, msg pgproto3.FrontendMessage) (done bool, err error) {
	switch m := msg.(type) {
	case *pgproto3.Query:
		start, rows := time.Now(), c.out.rows
		err := c.simpleQuery(ctx, sess, m.String)
		c.queryDone(start, rows, err)
		return false, err
	case *pgproto3.Parse:
		start := time.Now()
		if err := c.parse(ctx, sess, m); err != nil {
			c.queryDone(start, c.out.rows, err)
			return false, err
		}
		return false, nil
	case *pgproto3.Bind:
		start := time.Now()
		if err := c.bind(ctx, m); err != nil {
			c.queryDone(start, c.out.rows, err)
			return false, err
		}
		return false, nil
	case *pgproto3.Describe:
		return false, c.describe(m)
	case *pgproto3.Execute:
		start, rows := time.Now(), c.out.rows
		err := c.execute(ctx, m)
		c.queryDone(start, rows, err)
		return false, err
	case *pgproto3.Sync:
		return false, c.sync(ctx, sess)
	case *pgproto3.Close:
		return false, c.closeObject(m)
	case *pgproto3.Flush:
		return false, c.out.flush()
	case *pgproto3.Terminate:
		return true, nil
	case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
		// Outside COPY these are ignored, as PostgreSQL does.
		return false, nil
	case *pgproto3.FunctionCall:
		return false, pgerr.Unsupported("function call messages are not supported")
	default:
		return true, errUnexpectedMessage(msg)
	}
}

// queryDone tells the Observer of a query that started at start, when
// the connection had sent rows0 rows.
func (c *conn) queryDone(start time.Time, rows0 int64, err error) {
	code := ""
	if err != nil {
		code = pgerr.Code(err)
	}
	c.srv.obs.QueryDone(time.Since(start), code, c.out.rows-rows0)
}

// simpleQuery runs a simple-protocol query, then sends ReadyForQuery. An
// error is returned before ReadyForQuery, which the caller then sends.
func (c *conn) simpleQuery(ctx context.Context, sess Session, query string) error {
	c.simple.enc = nil
	err := c.withQuery(ctx, func(ctx context.Context) error {
		return sess.SimpleQuery(ctx, query, &c.simple)
	})
	c.simple.enc = nil
	if err != nil {
		return err
	}
	c.readyForQuery(sess)
	return nil
}
