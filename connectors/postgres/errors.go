package postgres

// Errors from talking to the server, given a SQLSTATE and cleaned of the
// password, and the explanation of a dsn pgx cannot parse.

import (
	"context"
	"errors"
	"io/fs"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// fail gives err, from talking to the server, a SQLSTATE: the server's own
// when it sent one, 57014 when ctx ended, 08001 when no connection could
// be made, 08006 when it broke. The message never holds the password.
func (s *source) fail(ctx context.Context, doing string, err error) error {
	var pe *pgerr.Error
	if errors.As(err, &pe) {
		return err
	}
	var se *pgconn.PgError
	if errors.As(err, &se) {
		return &pgerr.Error{
			Code:    se.Code,
			Message: s.secrets.clean("POSTGRES source: " + se.Message),
			Detail:  s.secrets.clean(se.Detail),
			Hint:    s.secrets.clean(se.Hint),
			Cause:   se,
		}
	}
	if ctx.Err() != nil {
		return &pgerr.Error{Code: pgerrcode.QueryCanceled, Message: "POSTGRES source: " + doing + " was canceled", Cause: ctx.Err()}
	}
	if certificateError(err) {
		e := pgerr.New(pgerrcode.SQLClientUnableToEstablishSQLConnection, "%s", s.secrets.clean("POSTGRES source: cannot connect: TLS verification of the server's certificate failed: "+err.Error()))
		e.Hint = "the dsn's sslrootcert must hold the CA that signed the server's certificate, and with sslmode=verify-full the dsn's host must be a name in it"
		return e
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || doing == "connecting" {
		return pgerr.New(pgerrcode.SQLClientUnableToEstablishSQLConnection, "%s", s.secrets.clean("POSTGRES source: cannot connect: "+err.Error()))
	}
	return pgerr.New(pgerrcode.ConnectionFailure, "%s", s.secrets.clean("POSTGRES source: "+doing+": "+err.Error()))
}

// dsnError reports a connection string pgx cannot parse without quoting
// it: the text may hold a password. A certificate or key file named by
// the string that is missing or unreadable as PEM is named (paths are no
// secret).
func dsnError(dsn string, err error) error {
	msg := "invalid value for option \"dsn\": not a libpq connection URL (postgres://user:password@host:port/db?param=value) or key=value string (host=... user=... dbname=...)"
	var pe *fs.PathError // a missing certificate or password file: its path is no secret
	if errors.As(err, &pe) {
		msg = "invalid value for option \"dsn\": " + pe.Error()
	} else if problem := sslFileProblem(dsn); problem != "" {
		msg = "invalid value for option \"dsn\": " + problem
	}
	return pgerr.InvalidParameter("%s", msg)
}
