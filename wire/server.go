// Package wire serves the PostgreSQL v3 frontend/backend protocol on top of
// pgproto3. It speaks to the rest of Sluice only through the interfaces in
// session.go: a Handler creates a Session per connection, and the Session
// writes results through a ResultWriter implemented here.
package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// ErrServerClosed is returned by Serve after Shutdown has been called.
var ErrServerClosed = errors.New("wire: server closed")

// Defaults applied by NewServer to zero Config fields.
const (
	DefaultServerVersion = "15.0"
	DefaultTimeZone      = "UTC"
)

// Authenticator checks a client's credentials between the StartupMessage and
// AuthenticationOk. It may exchange authentication messages through ac. A
// returned error (a *pgerr.Error such as 28P01) is sent as a FATAL
// ErrorResponse and the connection is closed.
type Authenticator interface {
	Authenticate(ctx context.Context, info StartupInfo, ac AuthConn) error
}

// AuthConn is the part of a connection an Authenticator may use.
type AuthConn interface {
	// Send buffers a message to the client.
	Send(msg pgproto3.BackendMessage)
	// Flush writes buffered messages to the client.
	Flush() error
	// Receive reads the client's next message (valid until the next call).
	Receive() (pgproto3.FrontendMessage, error)
	// SetAuthType tells the decoder which 'p' message to expect.
	SetAuthType(authType uint32) error
}

// Config configures a Server.
type Config struct {
	Handler Handler
	// Authenticator checks credentials at startup; nil means trust.
	Authenticator Authenticator
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// ServerVersion is reported in the server_version ParameterStatus.
	ServerVersion string
	// TimeZone is reported in the TimeZone ParameterStatus.
	TimeZone string
	// MaxMessageSize bounds a frontend message's length field (which
	// counts itself), in bytes: a longer message ends the connection with
	// FATAL 08P01 "invalid message length". 0 = DefaultMaxMessageSize.
	MaxMessageSize int
	// TLS, when set, makes the server answer SSLRequest with 'S' and
	// upgrade the connection; nil answers 'N'.
	TLS *tls.Config
	// RequireTLS refuses a StartupMessage sent in plaintext with FATAL
	// 28000. It needs TLS.
	RequireTLS bool
	// MaxConnections bounds the connections past their StartupMessage;
	// one more gets FATAL 53300. 0 means no limit.
	MaxConnections int
	// Observer receives the server's measurements (metrics); nil = none.
	Observer Observer
}

// startupTimeout bounds the whole startup phase of a connection, like
// PostgreSQL's authentication_timeout.
const startupTimeout = 60 * time.Second

// Server serves the PostgreSQL protocol on listeners.
type Server struct {
	cfg Config
	log *slog.Logger
	obs Observer

	inShutdown atomic.Bool
	nextPID    atomic.Uint32

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	keys      map[uint32]*conn // by process id, for CancelRequest
	wg        sync.WaitGroup   // connection goroutines
	slots     int              // connections holding a MaxConnections slot

	// endPoint is the tls-server-end-point channel binding data of the
	// server's certificate (RFC 5929); nil without TLS or a static one.
	endPoint []byte
}

// NewServer returns a server with cfg's zero fields set to their defaults.
func NewServer(cfg Config) *Server {
	if cfg.ServerVersion == "" {
		cfg.ServerVersion = DefaultServerVersion
	}
	if cfg.TimeZone == "" {
		cfg.TimeZone = DefaultTimeZone
	}
	if cfg.MaxMessageSize <= 0 || cfg.MaxMessageSize > MaxMessageSizeLimit {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	return &Server{
		cfg:       cfg,
		log:       log,
		obs:       obs,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		keys:      make(map[uint32]*conn),
		endPoint:  tlsServerEndPoint(cfg.TLS),
	}
}

// acquireSlot takes one of the MaxConnections slots; false when all are
// taken.
func (s *Server) acquireSlot() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.MaxConnections > 0 && s.slots >= s.cfg.MaxConnections {
		return false
	}
	s.slots++
	return true
}

// releaseSlot gives back a slot taken by acquireSlot.
func (s *Server) releaseSlot() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slots--
}

// Serve accepts connections on l and serves each in its own goroutine. It
// returns ErrServerClosed after Shutdown, or the listener's error.
func (s *Server) Serve(l net.Listener) error {
	if !s.trackListener(l) {
		return ErrServerClosed
	}
	defer s.untrackListener(l)

	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "backoff", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.startConn(nc)
	}
}

// Shutdown stops the server: it closes the listeners, ends idle connections
// with FATAL 57P01 at once and busy ones after their current query. When ctx
// ends first, the remaining queries are cancelled, their connections are
// closed, and Shutdown returns ctx.Err() once every goroutine has ended.
func (s *Server) Shutdown(ctx context.Context) error {
	s.inShutdown.Store(true)

	s.mu.Lock()
	for l := range s.listeners {
		if err := l.Close(); err != nil {
			s.log.Debug("closing listener", "err", err)
		}
	}
	for c := range s.conns {
		c.drain()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()

	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.kill()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

func (s *Server) trackListener(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inShutdown.Load() {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) untrackListener(l net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, l)
}

// startConn registers nc and serves it in a new goroutine; during shutdown
// it closes nc instead.
func (s *Server) startConn(nc net.Conn) {
	c, ctx := newConn(s, nc)
	s.mu.Lock()
	if s.inShutdown.Load() {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()

	s.obs.ConnectionOpened()
	go func() {
		defer s.wg.Done()
		defer s.obs.ConnectionClosed()
		defer s.forgetConn(c)
		c.serve(ctx)
	}()
}

func (s *Server) forgetConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}
