package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/minio/minio-go/v7"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// errShortBody is a response body that ended before the requested range.
var errShortBody = errors.New("response body ended early")

// stallError is a transfer on which no byte moved for the timeout.
type stallError struct {
	after    time.Duration
	answered bool // some data had arrived before
}

func (e *stallError) Error() string { return fmt.Sprintf("no data for %s", e.after) }

// localError is a failure of the local file system, never retried.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// watchdog cancels a transfer's context when it makes no progress for d.
type watchdog struct {
	d      time.Duration
	t      *time.Timer
	fired  atomic.Bool
	kicked atomic.Bool
	cancel context.CancelFunc
}

// watch returns a context canceled when ctx ends or when the watchdog,
// once armed, sees no kick for the store's timeout. stop releases it.
func (s *Store) watch(ctx context.Context, armed bool) (context.Context, *watchdog, func()) {
	wctx, cancel := context.WithCancel(ctx)
	w := &watchdog{d: s.cfg.Timeout, cancel: cancel}
	w.t = time.AfterFunc(w.d, func() {
		w.fired.Store(true)
		cancel()
	})
	if !armed {
		w.t.Stop()
	}
	return wctx, w, func() {
		w.t.Stop()
		cancel()
	}
}

// kick records progress and re-arms the watchdog.
func (w *watchdog) kick() {
	w.kicked.Store(true)
	w.t.Reset(w.d)
}

// check returns a stallError in place of err when the watchdog fired.
func (w *watchdog) check(err error) error {
	if err != nil && w.fired.Load() {
		return &stallError{after: w.d, answered: w.kicked.Load()}
	}
	return err
}

// fail translates an error of operation op (a verb phrase such as
// "listing") on s3://bucket/key into a coded error. ctx is the caller's:
// when it has ended the error is 57014 whatever the transport said.
func (s *Store) fail(ctx context.Context, op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	target := "s3://" + bucket
	if key != "" {
		target += "/" + key
	}
	if ctx.Err() != nil {
		why := "canceled"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "timed out"
		}
		return &pgerr.Error{Code: pgerrcode.QueryCanceled, Message: fmt.Sprintf("%s %s %s", op, target, why), Cause: ctx.Err()}
	}
	var pe *pgerr.Error
	if errors.As(err, &pe) {
		return err
	}
	wrap := func(code, format string, args ...any) error {
		return &pgerr.Error{Code: code, Message: fmt.Sprintf(format, args...), Cause: err}
	}
	var le *localError
	if errors.As(err, &le) {
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			return wrap(pgerrcode.DiskFull, "no space left in object_storage.cache_dir (%s) while %s %s", s.cfg.CacheDir, op, target)
		}
		return wrap(pgerrcode.IOError, "%s %s: local file: %v", op, target, le.err)
	}
	var se *stallError
	if errors.As(err, &se) {
		if !se.answered {
			if ne := s.recentNetErr(); ne != nil && certificateError(ne) {
				return wrap(pgerrcode.SQLClientUnableToEstablishSQLConnection, "%s", s.certificateMessage(op, target, ne))
			} else if ne != nil {
				return wrap(pgerrcode.SQLClientUnableToEstablishSQLConnection, "cannot reach object storage at %s while %s %s within %s (object_storage.timeout): %v", s.host, op, target, se.after, netCause(ne))
			}
			return wrap(pgerrcode.SQLClientUnableToEstablishSQLConnection, "object storage at %s did not answer within %s (object_storage.timeout) while %s %s", s.host, se.after, op, target)
		}
		return wrap(pgerrcode.IOError, "%s %s: object storage at %s sent no data for %s (object_storage.timeout)", op, target, s.host, se.after)
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.Code != "" {
		switch er.Code {
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidSecurity", "MissingSecurityHeader":
			return wrap(pgerrcode.IOError, "object storage at %s rejected the credentials while %s %s (%s): check %s", s.host, op, target, er.Code, s.credsFrom)
		case "AuthorizationHeaderMalformed", "InvalidRegion":
			return wrap(pgerrcode.IOError, "object storage at %s refused the signing region while %s %s (%s): check object_storage.region", s.host, op, target, er.Code)
		case "AccessDenied", "AllAccessDisabled":
			return wrap(pgerrcode.IOError, "object storage at %s denied access while %s %s: the credentials lack the permission", s.host, op, target)
		case "NoSuchBucket":
			return wrap(pgerrcode.IOError, "%s %s: bucket %q does not exist at %s", op, target, bucket, s.host)
		case "NoSuchKey":
			return wrap(pgerrcode.IOError, "%s %s: the object does not exist (deleted since it was listed?)", op, target)
		case "PreconditionFailed":
			return wrap(pgerrcode.IOError, "%s %s: the object changed since it was listed; run the statement again", op, target)
		}
		return wrap(pgerrcode.IOError, "%s %s: object storage at %s answered %s: %s", op, target, s.host, er.Code, er.Message)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOSPC) {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			if errors.Is(err, syscall.ENOSPC) {
				return wrap(pgerrcode.DiskFull, "%s %s: %v", op, target, pathErr)
			}
			return wrap(pgerrcode.IOError, "%s %s: %v", op, target, pathErr)
		}
	}
	if certificateError(err) {
		return wrap(pgerrcode.SQLClientUnableToEstablishSQLConnection, "%s", s.certificateMessage(op, target, err))
	}
	if unreachable(err) {
		return wrap(pgerrcode.SQLClientUnableToEstablishSQLConnection, "cannot reach object storage at %s while %s %s: %v", s.host, op, target, netCause(err))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return wrap(pgerrcode.SQLClientUnableToEstablishSQLConnection, "object storage at %s did not answer within %s (object_storage.timeout) while %s %s", s.host, s.cfg.Timeout, op, target)
	}
	if errors.As(err, &ne) || errors.Is(err, errShortBody) {
		return wrap(pgerrcode.IOError, "%s %s: connection to object storage at %s failed: %v", op, target, s.host, netCause(err))
	}
	return wrap(pgerrcode.IOError, "%s %s: %v", op, target, netCause(err))
}

// certificateError reports whether err is a failed verification of the
// endpoint's certificate.
func certificateError(err error) bool {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// certificateMessage says that the endpoint's certificate failed
// verification, and which key to look at.
func (s *Store) certificateMessage(op, target string, err error) string {
	what := "set object_storage.ca_file to a PEM file holding the CA that signed the endpoint's certificate"
	var hn x509.HostnameError
	switch {
	case errors.As(err, &hn):
		what = "the certificate is not for the host of object_storage.endpoint"
	case s.cfg.CAFile != "":
		what = fmt.Sprintf("object_storage.ca_file (%s) must hold the CA that signed the endpoint's certificate", s.cfg.CAFile)
	}
	return fmt.Sprintf("TLS verification of object storage at %s failed while %s %s: %v; %s", s.host, op, target, netCause(err), what)
}

// unreachable reports whether err means no connection could be made:
// DNS, refused or timed-out dial, TLS handshake.
func unreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	if errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &rh) {
		return true
	}
	return false
}

// netCause drops url.Error's "METHOD URL:" preamble.
func netCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryable reports whether a failed range read may succeed when tried
// again: connection and stall failures and 5xx answers, not local errors,
// coded errors nor 4xx answers.
func retryable(err error) bool {
	var le *localError
	var pe *pgerr.Error
	if errors.As(err, &le) || errors.As(err, &pe) {
		return false
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.Code != "" {
		return er.StatusCode >= 500 || er.StatusCode == http.StatusRequestTimeout || er.StatusCode == http.StatusTooManyRequests ||
			er.Code == "SlowDown" || er.Code == "RequestTimeout" || er.Code == "InternalError"
	}
	return true
}

// errorf is a 58030 error.
func errorf(format string, args ...any) error {
	return pgerr.New(pgerrcode.IOError, format, args...)
}
