package wire

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// The interfaces in this file are everything the wire layer knows of the
// rest of Sluice (CockroachDB's ClientComm idea): the server hands statements
// to a Session and the Session writes results through a ResultWriter that
// the wire layer implements. The wire layer never sees the engine.

// StartupInfo is what a client said in its StartupMessage.
type StartupInfo struct {
	User       string
	Database   string
	Params     map[string]string // every startup parameter, including user and database
	RemoteAddr net.Addr
	// TLS describes the encrypted connection; nil in plaintext.
	TLS       *tls.ConnectionState
	ProcessID uint32 // the process id sent in BackendKeyData
}

// Handler creates sessions; the server calls it once per connection after
// the startup and authentication phase.
type Handler interface {
	// NewSession returns the session for a new connection, or an error
	// (a *pgerr.Error, e.g. 3D000 for an unknown database) that is sent as a
	// FATAL ErrorResponse before the connection is closed.
	NewSession(ctx context.Context, info StartupInfo) (Session, error)
}

// Session executes one connection's statements. Its methods are called from
// the connection's goroutine only, one at a time. The ctx passed to each call
// is cancelled by a CancelRequest for this session or by server shutdown.
type Session interface {
	// SimpleQuery runs a simple-protocol query string, which may hold several
	// statements. For each statement it writes Columns/Rows (if the statement
	// returns rows) and then Complete, or EmptyQuery for an empty string.
	// It stops at the first error and returns it; the wire layer sends it
	// as an ErrorResponse, then ReadyForQuery.
	SimpleQuery(ctx context.Context, query string, w ResultWriter) error

	// Prepare parses and plans one statement for the extended protocol.
	// paramOIDs are the types the client gave in Parse (0 = unspecified).
	Prepare(ctx context.Context, query string, paramOIDs []uint32) (Statement, error)

	// TxStatus is the transaction status for ReadyForQuery: 'I' idle,
	// 'T' in a transaction block, 'E' in a failed transaction block.
	TxStatus() byte

	// Close releases the session's resources; called once when the
	// connection ends, whatever the reason.
	Close() error
}

// Statement is a prepared statement of the extended protocol.
type Statement interface {
	// ParamOIDs are the parameter types for ParameterDescription.
	ParamOIDs() []uint32
	// Columns describes the rows the statement returns; nil means it returns
	// none (NoData).
	Columns() []pgcodec.Column
	// Bind creates a portal. formats are the parameter format codes as sent
	// in Bind (0, 1 or len(params) entries; 0 = text, 1 = binary); params[i]
	// is nil for SQL NULL. The wire layer copies the values before the call.
	Bind(ctx context.Context, formats []int16, params [][]byte) (Portal, error)
	Close() error
}

// Portal is a bound statement ready to execute.
type Portal interface {
	// Columns describes the rows the portal returns; nil means none.
	Columns() []pgcodec.Column
	// Execute runs (or continues) the portal, writing at most maxRows rows
	// (0 = all). It returns suspended = true when rows remain; then it does
	// not call Complete, and a later Execute continues where it stopped.
	Execute(ctx context.Context, w ResultWriter, maxRows int) (suspended bool, err error)
	Close() error
}

// ResultWriter receives the results of statements. Writes are buffered; the
// wire layer flushes them to the client as the buffer fills and at
// ReadyForQuery, so a large result streams with bounded memory.
type ResultWriter interface {
	// Columns starts a row-returning result (RowDescription in the simple
	// protocol; in the extended protocol it only sets up the encoders).
	// Column.Type must be the Arrow type the rows will arrive in.
	Columns(cols []pgcodec.Column) error
	// Rows writes every row of rec as a DataRow.
	Rows(rec arrow.RecordBatch) error
	// Complete ends the current statement with a CommandComplete tag such as
	// "SELECT 3", "INSERT 0 1" or "CREATE MATERIALIZED VIEW".
	Complete(tag string) error
	// EmptyQuery reports an empty query string (EmptyQueryResponse).
	EmptyQuery() error
	// Notice sends a NoticeResponse (severity NOTICE unless set).
	Notice(n *pgerr.Error) error
	// ParameterStatus reports a changed run-time parameter
	// (application_name, TimeZone, ...) to the client.
	ParameterStatus(name, value string) error

	// CopyOut starts COPY TO STDOUT in place of Columns: it sends
	// CopyOutResponse, Rows then writes the batches as COPY data in the
	// given format, one CopyData message per row as PostgreSQL does, and
	// Complete ends the data with CopyDone.
	CopyOut(cols []pgcodec.Column, opts pgcodec.CopyOptions) error
	// CopyIn starts COPY FROM STDIN: it sends CopyInResponse for ncols
	// columns and returns a reader of the client's CopyData. The reader
	// returns io.EOF at CopyDone and a 57014 error at CopyFail; messages
	// the caller leaves unread are discarded by the wire layer.
	CopyIn(ncols int, format pgcodec.CopyFormat) (io.Reader, error)
}

// IdleSession is an optional power of a Session: when it reports a timeout
// greater than zero while a transaction block is open, a client that stays
// silent longer is disconnected with FATAL 25P03
// (idle_in_transaction_session_timeout); outside one, with FATAL 57P05
// (idle_session_timeout).
type IdleSession interface {
	Session
	IdleInTransactionTimeout() time.Duration
	IdleSessionTimeout() time.Duration
}
