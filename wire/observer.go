package wire

import "time"

// Observer receives what the server measures, for metrics
// (internal/metrics implements it; the wire layer never sees Prometheus).
// Its methods are called from the connections' goroutines, concurrently,
// and must be cheap: QueryDone runs once per query and BytesSent once per
// write to a client.
type Observer interface {
	// ConnectionOpened is called when a connection is accepted,
	// ConnectionClosed when it ends, whatever the reason (cancel requests
	// and refused connections included).
	ConnectionOpened()
	ConnectionClosed()
	// ConnectionRefused is called when a connection ends before its
	// session starts, for one of the Refused* reasons.
	ConnectionRefused(reason string)
	// QueryDone is called after a simple Query message or an extended
	// Execute (and after a Parse or Bind that failed), with its duration,
	// the SQLSTATE of its error ("" on success) and the rows it sent.
	QueryDone(elapsed time.Duration, sqlstate string, rows int64)
	// BytesSent is called with the bytes of each write to a client.
	BytesSent(n int)
}

// Why a connection was refused (the reason label of
// sluice_connections_refused_total): a bounded set.
const (
	RefusedTooManyClients = "too_many_clients" // max_connections reached (53300)
	RefusedTLSRequired    = "tls_required"     // require_tls and a plaintext client (28000)
	RefusedAuthFailed     = "auth_failed"      // wrong password, unknown user, no login (28P01, 28000)
	RefusedProtocol       = "protocol"         // a malformed startup packet, an unsupported protocol version
	RefusedSession        = "session"          // the session could not start (3D000 unknown database, ...)
)

// nopObserver is the Observer of a server configured without one.
type nopObserver struct{}

func (nopObserver) ConnectionOpened()                      {}
func (nopObserver) ConnectionClosed()                      {}
func (nopObserver) ConnectionRefused(string)               {}
func (nopObserver) QueryDone(time.Duration, string, int64) {}
func (nopObserver) BytesSent(int)                          {}
