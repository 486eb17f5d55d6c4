package httpsource

// The HTTP client: the default one with its timeouts, the ca_file roots it
// verifies against, and the refusal of redirects from https to http.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// loadRoots reads the ca_file option's PEM certificates. Its errors name
// the file, never its content.
func loadRoots(file string) (*x509.CertPool, error) {
	if strings.TrimSpace(file) == "" {
		return nil, pgerr.InvalidParameter(`invalid value for option "ca_file": must name a PEM file of CA certificates`)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once, below
		}
		return nil, pgerr.InvalidParameter(`invalid value for option "ca_file": cannot read %s: %v`, file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, pgerr.InvalidParameter(`invalid value for option "ca_file": %s holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`, file)
	}
	return pool, nil
}

// newClient is the default client: bounded dial and TLS handshake; the
// source's own watchdog bounds the response headers and body reads (a
// transport ResponseHeaderTimeout of the same length would race it, and a
// stalled server's error would read one way or the other at random). TLS
// verifies against roots (nil: the system's), and a redirect from https
// to http is refused: it would send the headers option in the clear.
func newClient(timeout time.Duration, roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = timeout
	t.IdleConnTimeout = 90 * time.Second
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t, CheckRedirect: noDowngrade}
}

// errDowngrade refuses a redirect from https to http.
var errDowngrade = errors.New("redirected from https to http")

func noDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if strings.EqualFold(via[0].URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
		return errDowngrade
	}
	return nil
}

// withRoots is a copy of c whose transport verifies against roots.
func withRoots(c *http.Client, roots *x509.CertPool) (*http.Client, error) {
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return nil, pgerr.Unsupported(`option "ca_file" needs the HTTP connector's client to use an *http.Transport, not %T`, rt)
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t.TLSClientConfig.RootCAs = roots
	cc := *c
	cc.Transport = t
	return &cc, nil
}
