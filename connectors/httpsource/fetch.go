package httpsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

const (
	// backoffBase and backoffMax shape the waits between retries: base,
	// 2*base, 4*base ... up to max, each with jitter (half fixed, half
	// random).
	backoffBase = 200 * time.Millisecond
	backoffMax  = 10 * time.Second
	// maxRetryAfter bounds how long a Retry-After header makes a retry wait.
	maxRetryAfter = time.Minute
)

// errIdle is the cause that ends a request whose server went quiet for
// longer than the timeout.
var errIdle = errors.New("timed out")

// response is a fetched document, or a 304 Not Modified.
type response struct {
	status     int
	validators position // ETag and Last-Modified, as sent
	length     int64    // Content-Length, -1 if unknown
	body       *body    // never nil; empty for a 304
}

// fetch GETs the document, conditional on cond's ETag and Last-Modified
// when set. Network errors, timeouts, 5xx, 408 and 429 are retried up to
// the retries option, waiting with exponential backoff and jitter, or as
// long as Retry-After says. A 2xx or, for a conditional request, a 304 is
// returned with its body open: the caller closes it.
func (s *source) fetch(ctx context.Context, cond position) (*response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := s.try(ctx, cond)
		if err == nil {
			return resp, nil
		}
		var r *retryable
		if !errors.As(err, &r) {
			return nil, err
		}
		if attempt >= s.retries {
			if attempt > 0 {
				return nil, errorf(r.code, r.err, "%v (after %d attempts)", r.err, attempt+1)
			}
			return nil, errorf(r.code, r.err, "%v", r.err)
		}
		wait := backoff(attempt)
		if r.after > wait {
			wait = min(r.after, maxRetryAfter)
		}
		s.log.Debug("retrying an HTTP request", "url", s.display, "attempt", attempt+1, "wait", wait, "error", r.err.Error())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, canceled(ctx, "the request to "+s.display)
		case <-t.C:
		}
	}
}

// backoff is the wait before retry number attempt+1.
func backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt, 16)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	return d/2 + rand.N(d/2+1)
}

// retryable is a failed attempt worth repeating.
type retryable struct {
	code  string        // the SQLSTATE if no attempt succeeds
	err   error         // what went wrong (names no header)
	after time.Duration // Retry-After, 0 if none
}

func (r *retryable) Error() string { return r.err.Error() }

// try makes one request. Its headers must arrive within the timeout.
func (s *source) try(ctx context.Context, cond position) (*response, error) {
	if ctx.Err() != nil {
		return nil, canceled(ctx, "the request to "+s.display)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(s.timeout, func() { cancel(errIdle) })
	abort := func() {
		timer.Stop()
		cancel(nil)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, s.url.String(), nil)
	if err != nil {
		abort()
		return nil, errorf(pgerrcode.InvalidParameterValue, err, "invalid url for HTTP sources: %s", s.display)
	}
	req.Header = s.headers.Clone()
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "sluice")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", accept[s.format])
	}
	if cond.ETag != "" {
		req.Header.Set("If-None-Match", cond.ETag)
	}
	if cond.LastModified != "" {
		req.Header.Set("If-Modified-Since", cond.LastModified)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		abort()
		if ctx.Err() != nil {
			return nil, canceled(ctx, "the request to "+s.display)
		}
		if errors.Is(context.Cause(rctx), errIdle) {
			return nil, &retryable{code: pgerrcode.SQLClientUnableToEstablishSQLConnection,
				err: fmt.Errorf("no response from %s within %v", s.display, s.timeout)}
		}
		// A *url.Error's text repeats the whole URL, query included:
		// report only what went wrong, with the URL shown without secrets.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, errDowngrade) {
			return nil, errorf(pgerrcode.SQLClientUnableToEstablishSQLConnection, err,
				"%s redirected to an http URL: refusing to follow it without TLS", s.display)
		}
		if e := s.certificateError(err); e != nil {
			return nil, e // retrying would fail the same way
		}
		return nil, &retryable{code: pgerrcode.SQLClientUnableToEstablishSQLConnection,
			err: fmt.Errorf("could not reach %s: %w", s.display, err)}
	}
	timer.Reset(s.timeout)
	b := &body{rc: resp.Body, timer: timer, cancel: cancel, timeout: s.timeout, ctx: ctx, rctx: rctx, display: s.display}
	out := &response{
		status:     resp.StatusCode,
		validators: position{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")},
		length:     resp.ContentLength,
		body:       b,
	}
	switch code := resp.StatusCode; {
	case code == http.StatusNotModified && (cond.ETag != "" || cond.LastModified != ""):
		b.Close()
		b.rc = http.NoBody
		return out, nil
	case code >= 200 && code < 300 && code != http.StatusPartialContent:
		return out, nil
	case code >= 500, code == http.StatusTooManyRequests, code == http.StatusRequestTimeout:
		io.CopyN(io.Discard, resp.Body, 4<<10)
		b.Close()
		return nil, &retryable{code: pgerrcode.IOError, err: statusError(s.display, code), after: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		b.Close()
		return nil, errorf(statusCode(code), nil, "%v", statusError(s.display, code))
	}
}

// certificateError is the 08001 error of a failed verification of the
// server's certificate, nil when err is something else.
func (s *source) certificateError(err error) error {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if !errors.As(err, &ve) && !errors.As(err, &ua) && !errors.As(err, &hn) && !errors.As(err, &ci) {
		return nil
	}
	e := pgerr.New(pgerrcode.SQLClientUnableToEstablishSQLConnection, "TLS verification of the server's certificate failed for %s: %v", s.display, err)
	e.Cause = err
	switch {
	case errors.As(err, &hn):
		e.Hint = "the certificate is not for the URL's host name"
	case s.caFile != "":
		e.Hint = fmt.Sprintf("option ca_file (%s) must hold the CA that signed the server's certificate", s.caFile)
	default:
		e.Hint = "if the server's certificate is signed by a private CA, set option ca_file to a PEM file holding that CA's certificate"
	}
	return e
}

// accept is the Accept header sent for each format (unless the headers
// option sets one).
var accept = map[string]string{
	"json":    "application/json, application/x-ndjson;q=0.9, */*;q=0.1",
	"csv":     "text/csv, text/tab-separated-values;q=0.9, */*;q=0.1",
	"parquet": "application/vnd.apache.parquet, application/octet-stream;q=0.9, */*;q=0.1",
}

// statusError names the status, never the request's headers.
func statusError(display string, code int) error {
	return fmt.Errorf("%s answered HTTP %d %s", display, code, http.StatusText(code))
}

// statusCode is the SQLSTATE of a final HTTP status.
func statusCode(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired:
		return pgerrcode.InvalidAuthorizationSpecification
	case http.StatusNotFound, http.StatusGone:
		return pgerrcode.UndefinedFile
	}
	return pgerrcode.IOError
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return 0
}

// body is a response body whose reads end when ctx ends or when no data
// comes for the timeout. Its errors carry SQLSTATEs.
type body struct {
	rc      io.ReadCloser
	timer   *time.Timer
	cancel  context.CancelCauseFunc
	timeout time.Duration
	ctx     context.Context // the caller's
	rctx    context.Context // the request's: the caller's, or the watchdog's
	display string
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.timeout)
	}
	if err != nil && err != io.EOF {
		switch {
		case b.ctx.Err() != nil:
			err = canceled(b.ctx, "the read of "+b.display)
		case errors.Is(context.Cause(b.rctx), errIdle):
			err = errorf(pgerrcode.ConnectionFailure, errIdle, "no data from %s for %v", b.display, b.timeout)
		default:
			err = errorf(pgerrcode.ConnectionFailure, err, "reading %s: %v", b.display, err)
		}
	}
	return n, err
}

func (b *body) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}
