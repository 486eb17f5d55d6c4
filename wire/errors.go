package wire

import (
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Severities of ErrorResponse and NoticeResponse.
const (
	severityError  = "ERROR"
	severityFatal  = "FATAL"
	severityNotice = "NOTICE"
)

// errAdminShutdown is sent to connections ended by Server.Shutdown.
func errAdminShutdown() *pgerr.Error {
	return fatal(pgerrcode.AdminShutdown, "terminating connection due to administrator command")
}

// fatal returns a FATAL error with the given SQLSTATE.
func fatal(code, format string, args ...any) *pgerr.Error {
	e := pgerr.New(code, format, args...)
	e.Severity = severityFatal
	return e
}

// protocolViolation returns an ERROR with SQLSTATE 08P01.
func protocolViolation(format string, args ...any) *pgerr.Error {
	return pgerr.New(pgerrcode.ProtocolViolation, format, args...)
}

// isFatal reports whether e ends the connection.
func isFatal(e *pgerr.Error) bool {
	return e.Severity == severityFatal || e.Severity == "PANIC"
}

// errorResponse converts e to an ErrorResponse with every field it carries;
// an empty severity is ERROR and an empty code XX000.
func errorResponse(e *pgerr.Error) *pgproto3.ErrorResponse {
	sev := e.Severity
	if sev == "" {
		sev = severityError
	}
	code := e.Code
	if code == "" {
		code = pgerrcode.InternalError
	}
	return &pgproto3.ErrorResponse{
		Severity:            sev,
		SeverityUnlocalized: sev,
		Code:                code,
		Message:             e.Message,
		Detail:              e.Detail,
		Hint:                e.Hint,
		Position:            e.Position,
	}
}

// noticeResponse converts n to a NoticeResponse; an empty severity is NOTICE
// and an empty code 00000.
func noticeResponse(n *pgerr.Error) *pgproto3.NoticeResponse {
	c := *n
	if c.Severity == "" {
		c.Severity = severityNotice
	}
	if c.Code == "" {
		c.Code = pgerrcode.SuccessfulCompletion
	}
	return (*pgproto3.NoticeResponse)(errorResponse(&c))
}
