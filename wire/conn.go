package wire

import (
	"context"
	"encoding/binary"
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

	"github.com/sluice-db/sluice/internal/pgcodec"
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
	nc  net.Conn
	log *slog.Logger

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
	out := &msgWriter{w: nc}
	in := &connReader{nc: nc, out: out}
	be := pgproto3.NewBackend(in, nil)
	be.SetMaxBodyLen(s.cfg.MaxMessageSize)
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
		simple:     resultWriter{out: out, describe: true},
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

// startup reads the startup packets and answers them. ok is false when the
// connection was a CancelRequest or ended without a session.
func (c *conn) startup(ctx context.Context) (info StartupInfo, ok bool, err error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(startupTimeout)); err != nil {
		return info, false, err
	}
	for range maxNegotiations + 1 {
		body, err := c.readStartupPacket()
		if err != nil {
			return info, false, err
		}
		switch code := binary.BigEndian.Uint32(body); code {
		case sslRequestCode, gssEncRequestCode:
			c.out.send(rawMessage{'N'})
			continue
		case cancelRequestCode:
			c.srv.cancelRequest(body[4:])
			return info, false, nil
		default:
			info, err = c.startupMessage(body)
			if err != nil {
				c.sendFatal(pgerr.As(err))
				return info, false, err
			}
		}
		if info, err = c.authenticate(ctx, info); err != nil {
			return info, false, err
		}
		// Clear the deadline before the first check of draining, so a
		// concurrent drain's deadline is not lost.
		if err := c.nc.SetReadDeadline(time.Time{}); err != nil {
			return info, false, err
		}
		return info, true, nil
	}
	err = protocolViolation("too many encryption negotiation requests")
	c.sendFatal(fatal(pgerrcode.ProtocolViolation, "%s", err.Error()))
	return info, false, err
}

// readStartupPacket reads one length-prefixed startup packet and returns
// its body, whose first four bytes are the protocol version or request code.
func (c *conn) readStartupPacket() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c.in, hdr[:]); err != nil {
		return nil, c.readFailed(err)
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 8 || n > maxStartupPacket {
		err := fatal(pgerrcode.ProtocolViolation, "invalid length of startup packet")
		c.sendFatal(err)
		return nil, err
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(c.in, body); err != nil {
		return nil, c.readFailed(err)
	}
	return body, nil
}

// readFailed reports a failed read, saying goodbye when the failure is
// Shutdown interrupting the read.
func (c *conn) readFailed(err error) error {
	if c.draining.Load() {
		c.sendFatal(errAdminShutdown())
	}
	return err
}

// startupMessage parses a StartupMessage body and answers a 3.x minor
// version above 0, or protocol options, with NegotiateProtocolVersion.
func (c *conn) startupMessage(body []byte) (StartupInfo, error) {
	version := binary.BigEndian.Uint32(body)
	major, minor := version>>16, version&0xffff
	if major != 3 {
		return StartupInfo{}, fatal(pgerrcode.FeatureNotSupported,
			"unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", major, minor)
	}
	params, err := parseStartupParams(body[4:])
	if err != nil {
		return StartupInfo{}, err
	}
	var unrecognized []string
	for k := range params {
		if len(k) > 4 && k[:4] == "_pq_" {
			unrecognized = append(unrecognized, k)
			delete(params, k)
		}
	}
	if minor > 0 || len(unrecognized) > 0 {
		c.out.send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unrecognized})
	}
	info := StartupInfo{
		User:       params["user"],
		Database:   params["database"],
		Params:     params,
		RemoteAddr: c.nc.RemoteAddr(),
	}
	if info.User == "" {
		return info, fatal(pgerrcode.InvalidAuthorizationSpecification, "no PostgreSQL user name specified in startup packet")
	}
	if info.Database == "" {
		info.Database = info.User
	}
	return info, nil
}

// parseStartupParams parses the name/value pairs of a StartupMessage.
func parseStartupParams(b []byte) (map[string]string, error) {
	params := make(map[string]string)
	for {
		name, rest, ok := cutString(b)
		if !ok {
			return nil, fatal(pgerrcode.ProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
		}
		if name == "" {
			if len(rest) != 0 {
				return nil, fatal(pgerrcode.ProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
			}
			return params, nil
		}
		value, rest, ok := cutString(rest)
		if !ok {
			return nil, fatal(pgerrcode.ProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
		}
		params[name] = value
		b = rest
	}
}

// cutString splits a NUL-terminated string off the front of b.
func cutString(b []byte) (s string, rest []byte, ok bool) {
	for i, x := range b {
		if x == 0 {
			return string(b[:i]), b[i+1:], true
		}
	}
	return "", nil, false
}

// authenticate runs the Authenticator (none = trust), then sends
// AuthenticationOk, the ParameterStatus messages and BackendKeyData.
func (c *conn) authenticate(ctx context.Context, info StartupInfo) (StartupInfo, error) {
	if a := c.srv.cfg.Authenticator; a != nil {
		if err := a.Authenticate(ctx, info, authConn{c}); err != nil {
			e := *pgerr.As(err)
			e.Severity = severityFatal
			c.log.Info("authentication failed", "user", info.User, "code", e.Code)
			c.sendFatal(&e)
			return info, err
		}
	}
	if err := c.srv.registerKey(c); err != nil {
		c.sendFatal(fatal(pgerrcode.InternalError, "generating cancel key: %v", err))
		return info, err
	}
	info.ProcessID = c.pid
	c.log = c.log.With("pid", c.pid, "user", info.User)

	c.out.send(&pgproto3.AuthenticationOk{})
	for _, p := range c.parameterStatus(info) {
		c.out.send(&p)
	}
	c.out.send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret})
	return info, c.out.err
}

// parameterStatus lists the run-time parameters reported at startup.
func (c *conn) parameterStatus(info StartupInfo) []pgproto3.ParameterStatus {
	return []pgproto3.ParameterStatus{
		{Name: "server_version", Value: c.srv.cfg.ServerVersion},
		{Name: "server_encoding", Value: "UTF8"},
		{Name: "client_encoding", Value: "UTF8"},
		{Name: "DateStyle", Value: "ISO, MDY"},
		{Name: "integer_datetimes", Value: "on"},
		{Name: "standard_conforming_strings", Value: "on"},
		{Name: "TimeZone", Value: c.srv.cfg.TimeZone},
		{Name: "IntervalStyle", Value: "postgres"},
		{Name: "application_name", Value: info.Params["application_name"]},
		{Name: "is_superuser", Value: "on"},
		{Name: "session_authorization", Value: info.User},
	}
}

// authConn gives an Authenticator access to the connection.
type authConn struct{ c *conn }

func (a authConn) Send(msg pgproto3.BackendMessage) { a.c.out.send(msg) }
func (a authConn) Flush() error                     { return a.c.out.flush() }
func (a authConn) Receive() (pgproto3.FrontendMessage, error) {
	return a.c.be.Receive()
}
func (a authConn) SetAuthType(t uint32) error { return a.c.be.SetAuthType(t) }

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
		msg, err := c.be.Receive()
		if err != nil {
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
	if c.in.err != nil {
		return c.readFailed(err)
	}
	c.log.Info("protocol violation", "err", err)
	c.sendFatal(fatal(pgerrcode.ProtocolViolation, "invalid frontend message: %v", err))
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
		return false, c.simpleQuery(ctx, sess, m.String)
	case *pgproto3.Parse:
		return false, c.parse(ctx, sess, m)
	case *pgproto3.Bind:
		return false, c.bind(ctx, m)
	case *pgproto3.Describe:
		return false, c.describe(m)
	case *pgproto3.Execute:
		return false, c.execute(ctx, m)
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
		return true, fatal(pgerrcode.ProtocolViolation, "unexpected frontend message type %T", msg)
	}
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

// parse handles Parse: it prepares a named or the unnamed statement.
func (c *conn) parse(ctx context.Context, sess Session, m *pgproto3.Parse) error {
	name, query := m.Name, m.Query
	if name != "" {
		if _, ok := c.stmts[name]; ok {
			return pgerr.New(pgerrcode.DuplicatePreparedStatement, "prepared statement %q already exists", name)
		}
	} else if err := c.dropStatement(""); err != nil {
		return err
	}
	oids := append([]uint32(nil), m.ParameterOIDs...)
	var st Statement
	err := c.withQuery(ctx, func(ctx context.Context) (err error) {
		st, err = sess.Prepare(ctx, query, oids)
		return err
	})
	if err != nil {
		return err
	}
	c.stmts[name] = st
	c.out.send(&pgproto3.ParseComplete{})
	return nil
}

// bind handles Bind: it creates a named or the unnamed portal.
func (c *conn) bind(ctx context.Context, m *pgproto3.Bind) error {
	st, ok := c.stmts[m.PreparedStatement]
	if !ok {
		return pgerr.New(pgerrcode.InvalidSQLStatementName, "prepared statement %q does not exist", m.PreparedStatement)
	}
	name := m.DestinationPortal
	if name != "" {
		if _, ok := c.portals[name]; ok {
			return pgerr.New(pgerrcode.DuplicateCursor, "portal %q already exists", name)
		}
	} else if err := c.dropPortal(""); err != nil {
		return err
	}
	paramFormats, params, err := bindParams(m, len(st.ParamOIDs()), m.PreparedStatement)
	if err != nil {
		return err
	}
	resultFormats := append([]int16(nil), m.ResultFormatCodes...)
	if err := checkFormatCodes(resultFormats); err != nil {
		return err
	}

	var p Portal
	err = c.withQuery(ctx, func(ctx context.Context) (err error) {
		p, err = st.Bind(ctx, paramFormats, params)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := expandFormats(resultFormats, len(p.Columns())); err != nil {
		if cerr := p.Close(); cerr != nil {
			c.log.Debug("closing portal", "err", cerr)
		}
		return err
	}
	c.portals[name] = &portal{p: p, rw: resultWriter{out: c.out, formats: resultFormats}}
	c.out.send(&pgproto3.BindComplete{})
	return nil
}

// bindParams validates Bind's parameters against the statement's and copies
// them out of the receive buffer (into one allocation).
func bindParams(m *pgproto3.Bind, want int, stmt string) ([]int16, [][]byte, error) {
	n := len(m.Parameters)
	if f := len(m.ParameterFormatCodes); f != 0 && f != 1 && f != n {
		return nil, nil, protocolViolation("bind message has %d parameter formats but %d parameters", f, n)
	}
	if n != want {
		return nil, nil, protocolViolation("bind message supplies %d parameters, but prepared statement %q requires %d", n, stmt, want)
	}
	formats := append([]int16(nil), m.ParameterFormatCodes...)
	if err := checkFormatCodes(formats); err != nil {
		return nil, nil, err
	}
	size := 0
	for _, p := range m.Parameters {
		size += len(p)
	}
	buf := make([]byte, 0, size)
	params := make([][]byte, n)
	for i, p := range m.Parameters {
		if p == nil {
			continue
		}
		start := len(buf)
		buf = append(buf, p...)
		params[i] = buf[start:len(buf):len(buf)]
	}
	return formats, params, nil
}

// describe handles Describe of a statement or a portal.
func (c *conn) describe(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		st, ok := c.stmts[m.Name]
		if !ok {
			return pgerr.New(pgerrcode.InvalidSQLStatementName, "prepared statement %q does not exist", m.Name)
		}
		c.out.send(&pgproto3.ParameterDescription{ParameterOIDs: st.ParamOIDs()})
		c.sendRowDescription(st.Columns(), nil)
	case 'P':
		p, ok := c.portals[m.Name]
		if !ok {
			return pgerr.New(pgerrcode.InvalidCursorName, "portal %q does not exist", m.Name)
		}
		cols := p.p.Columns()
		formats, err := expandFormats(p.rw.formats, len(cols))
		if err != nil {
			return err
		}
		c.sendRowDescription(cols, formats)
	default:
		return protocolViolation("invalid DESCRIBE message subtype %d", m.ObjectType)
	}
	return nil
}

// sendRowDescription sends RowDescription, or NoData when cols is nil.
func (c *conn) sendRowDescription(cols []pgcodec.Column, formats []int16) {
	if cols == nil {
		c.out.send(&pgproto3.NoData{})
		return
	}
	c.out.send(rowDescription(cols, formats))
}

// execute handles Execute: it runs or continues a portal.
func (c *conn) execute(ctx context.Context, m *pgproto3.Execute) error {
	p, ok := c.portals[m.Portal]
	if !ok {
		return pgerr.New(pgerrcode.InvalidCursorName, "portal %q does not exist", m.Portal)
	}
	maxRows := int(m.MaxRows)
	var suspended bool
	err := c.withQuery(ctx, func(ctx context.Context) (err error) {
		suspended, err = p.p.Execute(ctx, &p.rw, maxRows)
		return err
	})
	if err != nil {
		return err
	}
	if suspended {
		c.out.send(&pgproto3.PortalSuspended{})
	}
	return nil
}

// sync handles Sync: it ends the implicit transaction, drops the unnamed
// portal and sends ReadyForQuery.
func (c *conn) sync(ctx context.Context, sess Session) error {
	c.ignoreTillSync = false
	var err error
	if ss, ok := sess.(SyncSession); ok {
		err = c.withQuery(ctx, ss.Sync)
	}
	if derr := c.dropPortal(""); err == nil {
		err = derr
	}
	if err != nil {
		e := pgerr.As(err)
		c.logUncoded(err, e)
		if isFatal(e) {
			return e
		}
		c.out.send(errorResponse(e))
	}
	c.readyForQuery(sess)
	return nil
}

// closeObject handles Close of a statement or portal; closing one that does
// not exist is not an error.
func (c *conn) closeObject(m *pgproto3.Close) error {
	var err error
	switch m.ObjectType {
	case 'S':
		err = c.dropStatement(m.Name)
	case 'P':
		err = c.dropPortal(m.Name)
	default:
		return protocolViolation("invalid CLOSE message subtype %d", m.ObjectType)
	}
	if err != nil {
		return err
	}
	c.out.send(&pgproto3.CloseComplete{})
	return nil
}

// dropStatement closes and forgets a prepared statement, if it exists.
func (c *conn) dropStatement(name string) error {
	st, ok := c.stmts[name]
	if !ok {
		return nil
	}
	delete(c.stmts, name)
	return st.Close()
}

// dropPortal closes and forgets a portal, if it exists.
func (c *conn) dropPortal(name string) error {
	p, ok := c.portals[name]
	if !ok {
		return nil
	}
	delete(c.portals, name)
	return p.p.Close()
}
