// Package pgerr defines the error type that carries a PostgreSQL SQLSTATE from
// wherever an error is born to the wire, where it becomes an ErrorResponse.
//
// Foreign errors (DuckDB's, the OS's) are translated once, at their boundary
// (internal/engine for DuckDB). Anything that reaches the wire without a code
// is reported as XX000 (internal_error), which means a bug.
package pgerr

import (
	"errors"
	"fmt"

	"github.com/jackc/pgerrcode"
)

// Error is an error with a SQLSTATE and the optional fields of a PostgreSQL
// ErrorResponse.
type Error struct {
	Severity string // ERROR (default), FATAL
	Code     string // SQLSTATE, e.g. pgerrcode.SyntaxError
	Message  string
	Detail   string
	Hint     string
	Position int32 // 1-based character position in the query text, 0 if none
	Cause    error // the foreign error this one translates, if any
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the translated foreign error.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with the given SQLSTATE and a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap gives err the SQLSTATE code, keeping err's message. If err already
// carries a code it is returned unchanged.
func Wrap(code string, err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	return &Error{Code: code, Message: err.Error(), Cause: err}
}

// Code returns the SQLSTATE carried by err, or XX000 if it carries none.
func Code(err error) string {
	var pe *Error
	if errors.As(err, &pe) && pe.Code != "" {
		return pe.Code
	}
	return pgerrcode.InternalError
}

// As returns err as an *Error, giving an uncoded error the code XX000.
func As(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Code: pgerrcode.InternalError, Message: err.Error(), Cause: err}
}

// WithPosition returns a copy of e pointing at a 1-based character position.
func (e *Error) WithPosition(pos int) *Error {
	c := *e
	c.Position = int32(pos)
	return &c
}

// Frequently used constructors.

func Syntax(pos int, format string, args ...any) *Error {
	e := New(pgerrcode.SyntaxError, format, args...)
	e.Position = int32(pos)
	return e
}

func Unsupported(format string, args ...any) *Error {
	return New(pgerrcode.FeatureNotSupported, format, args...)
}

func UndefinedTable(name string) *Error {
	return New(pgerrcode.UndefinedTable, "relation %q does not exist", name)
}

func DuplicateTable(name string) *Error {
	return New(pgerrcode.DuplicateTable, "relation %q already exists", name)
}

func InvalidParameter(format string, args ...any) *Error {
	return New(pgerrcode.InvalidParameterValue, format, args...)
}

// WithDetail returns a copy of e with its DETAIL set.
func (e *Error) WithDetail(detail string) *Error {
	c := *e
	c.Detail = detail
	return &c
}
