package wire

// The bounds on what a client sends, and the errors that end a connection
// that breaks them, in PostgreSQL's words (docs/reliability.md lists them).

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// PostgreSQL's limits.
const (
	// DefaultMaxMessageSize is PostgreSQL's PQ_LARGE_MESSAGE_LIMIT
	// (MaxAllocSize - 1): the largest length field a frontend message may
	// carry, the four bytes of the field included.
	DefaultMaxMessageSize = 1<<30 - 2
	// MaxMessageSizeLimit is the largest MaxMessageSize: a length field
	// is a signed 32-bit integer.
	MaxMessageSizeLimit = 1<<31 - 1
	// MaxBindParameters is the most parameters a Bind message can carry
	// (its count is 16 bits), PostgreSQL's limit too.
	MaxBindParameters = 65535
)

// checkParamCount refuses, and closes, a prepared statement with more
// parameters than a Bind message can carry (or a ParameterDescription
// describe): 54000, where PostgreSQL would accept the Parse and then
// refuse every Bind of it (08P01).
func checkParamCount(st Statement) error {
	n := len(st.ParamOIDs())
	if n <= MaxBindParameters {
		return nil
	}
	_ = st.Close()
	return pgerr.New(pgerrcode.ProgramLimitExceeded, "prepared statement has %d parameters; at most %d are allowed", n, MaxBindParameters)
}

// errUnexpectedMessage is the FATAL 08P01 for a message that is valid but
// has no place after startup (a PasswordMessage, say), named by its type
// byte as PostgreSQL names it.
func errUnexpectedMessage(msg pgproto3.FrontendMessage) *pgerr.Error {
	b, err := msg.Encode(nil)
	if err != nil || len(b) == 0 {
		return fatal(pgerrcode.ProtocolViolation, "unexpected frontend message %T", msg)
	}
	return fatal(pgerrcode.ProtocolViolation, "invalid frontend message type %d", b[0])
}

// errIdleSession is idle_session_timeout's FATAL, as PostgreSQL 15 says it.
func errIdleSession() *pgerr.Error {
	return fatal(pgerrcode.IdleSessionTimeout, "terminating connection due to idle-session timeout")
}

// errIdleInTransaction is idle_in_transaction_session_timeout's FATAL.
func errIdleInTransaction() *pgerr.Error {
	return fatal(pgerrcode.IdleInTransactionSessionTimeout, "terminating connection due to idle-in-transaction timeout")
}

// receiveError is the FATAL 08P01 that answers a frontend message the
// decoder refused: a length field below 4 or above max ("invalid message
// length", as PostgreSQL's pq_getmessage says), an unknown message type
// ("invalid frontend message type"), or a body that does not hold its
// fields. pgproto3 reports the first two with fmt.Errorf only, so they are
// told by their text, here and nowhere else.
func receiveError(err error, max int) *pgerr.Error {
	var big *pgproto3.ExceededMaxBodyLenErr
	if errors.As(err, &big) {
		e := fatal(pgerrcode.ProtocolViolation, "invalid message length")
		e.Detail = fmt.Sprintf("The message's length field says %d bytes; max_message_size is %d.", big.ActualBodyLen+4, max)
		return e
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "invalid message length") {
		return fatal(pgerrcode.ProtocolViolation, "invalid message length")
	}
	if t, ok := strings.CutPrefix(msg, "unknown message type: "); ok && len(t) > 0 {
		return fatal(pgerrcode.ProtocolViolation, "invalid frontend message type %d", []rune(t)[0])
	}
	return fatal(pgerrcode.ProtocolViolation, "invalid frontend message: %v", err)
}
