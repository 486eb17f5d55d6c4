package wire

// The startup phase: SSL and GSS negotiation, the StartupMessage,
// authentication and the parameters reported to the client.

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/pgerr"
)

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
		case sslRequestCode:
			if c.srv.cfg.TLS == nil || c.tls != nil {
				c.out.send(rawMessage{'N'})
				continue
			}
			if err := c.startTLS(ctx); err != nil {
				return info, false, err
			}
			continue
		case gssEncRequestCode:
			c.out.send(rawMessage{'N'})
			continue
		case cancelRequestCode:
			c.srv.cancelRequest(body[4:])
			return info, false, nil
		default:
			info, err = c.startupMessage(body)
			if err != nil {
				c.srv.obs.ConnectionRefused(RefusedProtocol)
				c.sendFatal(pgerr.As(err))
				return info, false, err
			}
			if err := c.admit(info); err != nil {
				if err.Code == pgerrcode.TooManyConnections {
					c.srv.obs.ConnectionRefused(RefusedTooManyClients)
				} else {
					c.srv.obs.ConnectionRefused(RefusedTLSRequired)
				}
				c.log.Info("connection refused", "user", info.User, "code", err.Code, "reason", err.Message)
				c.sendFatal(err)
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
	c.srv.obs.ConnectionRefused(RefusedProtocol)
	c.sendFatal(fatal(pgerrcode.ProtocolViolation, "%s", err.Error()))
	return info, false, err
}

// startTLS answers an SSLRequest with 'S' and performs the TLS handshake;
// afterwards every read and write of the connection is encrypted. The
// handshake is bounded by the startup deadline already set for reads and
// by the same bound for writes.
func (c *conn) startTLS(ctx context.Context) error {
	c.out.send(rawMessage{'S'})
	if err := c.out.flush(); err != nil {
		return err
	}
	// Bytes the client sent after SSLRequest, before our 'S', would be
	// taken as encrypted: the connReader buffers nothing, so there are none
	// to mistake (CVE-2021-23214).
	tc := tls.Server(c.nc, c.srv.cfg.TLS)
	if err := c.nc.SetWriteDeadline(time.Now().Add(startupTimeout)); err != nil {
		return err
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.log.Debug("TLS handshake failed", "err", err)
		return err
	}
	if err := c.nc.SetWriteDeadline(time.Time{}); err != nil {
		return err
	}
	state := tc.ConnectionState()
	c.tls = &state
	c.in.nc = tc
	c.out.w = tc
	return nil
}

// admit applies the connection policy that does not depend on the
// credentials: require_tls, then max_connections, as PostgreSQL checks
// them before authentication.
func (c *conn) admit(info StartupInfo) *pgerr.Error {
	if c.srv.cfg.RequireTLS && c.tls == nil {
		e := fatal(pgerrcode.InvalidAuthorizationSpecification,
			"SSL required: this server refuses unencrypted connections (user \"%s\", database \"%s\")", info.User, info.Database)
		e.Hint = "Connect with sslmode=require, verify-ca or verify-full."
		return e
	}
	if !c.srv.acquireSlot() {
		return fatal(pgerrcode.TooManyConnections, "sorry, too many clients already")
	}
	c.hasSlot = true
	return nil
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
		c.srv.obs.ConnectionRefused(RefusedProtocol)
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
		TLS:        c.tls,
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
			if c.in.err != nil || c.out.err != nil {
				// The client left during the exchange, as psql does to
				// prompt for a password: nothing to report.
				c.log.Debug("client left during authentication", "user", info.User, "err", err)
				return info, err
			}
			c.srv.obs.ConnectionRefused(RefusedAuthFailed)
			e := *pgerr.As(err)
			e.Severity = severityFatal
			if e.Cause != nil {
				// A reason for the operator only (wrong password, no such
				// user, no password, a catalog failure): never a secret.
				c.log.Info("authentication failed", "user", info.User, "code", e.Code, "reason", e.Cause.Error())
			} else {
				c.log.Info("authentication failed", "user", info.User, "code", e.Code)
			}
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

func (a authConn) Flush() error { return a.c.out.flush() }

func (a authConn) Receive() (pgproto3.FrontendMessage, error) {
	msg, err := a.c.be.Receive()
	if err != nil && a.c.in.err == nil {
		// Not the network's failure: a malformed message.
		return nil, fatal(pgerrcode.ProtocolViolation, "invalid authentication message: %v", err)
	}
	return msg, err
}

func (a authConn) SetAuthType(t uint32) error { return a.c.be.SetAuthType(t) }

// TLSServerEndPoint returns the tls-server-end-point channel binding data
// (RFC 5929) when the connection is encrypted with a certificate the
// server knows, nil otherwise. It is an optional power of AuthConn, found
// by type assertion (ChannelBinder).
func (a authConn) TLSServerEndPoint() []byte {
	if a.c.tls == nil {
		return nil
	}
	return a.c.srv.endPoint
}
