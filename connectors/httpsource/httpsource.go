// Package httpsource is the HTTP connector: one document (JSON, CSV or
// Parquet) fetched from an http or https URL and read as Arrow record
// batches.
//
// A source's position is the document's validator: its ETag and
// Last-Modified, or the SHA-256 of its content when the server sends
// neither. Positions only tell that the document changed, so a read after a
// position returns the whole new document (the pipeline replaces what it
// read before), and a read after an unchanged position returns nothing.
package httpsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

const (
	// batchRows bounds the rows of one record batch.
	batchRows = 64 << 10
	// inferRows is how many rows of JSON or CSV content Open samples to
	// infer the columns.
	inferRows = 64 << 10
	// maxRetries bounds the retries option.
	maxRetries = 10
	// maxTimeout bounds the timeout option.
	maxTimeout = time.Hour
)

// Options declares the HTTP options (documented in docs/connectors.md).
var Options = connectors.Specs{
	{Name: "format", Type: connectors.Enum, Values: []string{"json", "csv", "parquet"},
		Doc: "content format; default from the URL path's extension (.json, .ndjson, .jsonl, .csv, .tsv, .parquet)"},
	{Name: "headers", Type: connectors.String, Secret: true, Redact: DisplayHeaders,
		Doc: `request headers as a JSON object of names to values, e.g. '{"X-Api-Key": "..."}'; values are never logged nor shown in errors, and shown in the source's options as ********. May be given as a whole as headers = SECRET name, headers_env or headers_file`},
	{Name: "bearer_token", Type: connectors.String, Secret: true,
		Doc: "sent as Authorization: Bearer <token> with every request (not with an Authorization header in headers); never logged nor shown. Give it as bearer_token = SECRET name, bearer_token_env or bearer_token_file rather than in clear"},
	{Name: "header", Type: connectors.Bool, Default: "true",
		Doc: "csv: the first line holds the column names"},
	{Name: "delimiter", Type: connectors.String,
		Doc: "csv: the field delimiter, one character (default ',', or tab for .tsv)"},
	{Name: "retries", Type: connectors.Int, Default: "3",
		Doc: "how often a request is retried after a network error, a 5xx or a 429, with exponential backoff and jitter (0 to 10)"},
	{Name: "timeout", Type: connectors.String,
		Doc: "bounds connecting, waiting for the response headers and each wait for body data: seconds, or a duration like '1m30s' (default: the gateway's connector timeout)"},
	{Name: "max_bytes", Type: connectors.Int, Default: "4294967296",
		Doc: "parquet: the largest document downloaded (to a temporary file) for a read"},
	{Name: "ca_file", Type: connectors.String,
		Doc: "https: a PEM file of CA certificates, on the gateway's host, that replace the system's roots for this source (a private CA); the server's certificate and host name are always verified"},
}

// Connector is the HTTP connector. The zero value is ready to use.
//
// https URLs are verified against the system's roots, or against the
// ca_file option's certificates instead; nothing turns verification off.
type Connector struct {
	// Client makes the requests. Nil gives each source its own client
	// whose dialer and transport have timeouts (the source's timeout
	// bounds every request in any case) and that refuses a redirect from
	// https to http. With option ca_file, a source uses a copy of Client
	// whose transport (an *http.Transport) trusts that file's CAs.
	Client *http.Client
}

// Name is "HTTP".
func (Connector) Name() string { return "HTTP" }

// Options declares the options.
func (Connector) Options() connectors.Specs { return Options }

// Open validates cfg and, unless cfg.Schema fixes the columns, fetches the
// document to infer them (JSON and CSV from the first 65,536 rows, Parquet
// from the file's schema). With cfg.Schema set, Open makes no request.
func (c Connector) Open(ctx context.Context, cfg connectors.Config) (connectors.Source, error) {
	st, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	s := &source{settings: st, alloc: cfg.Allocator, log: cfg.Logger, client: c.Client}
	if s.alloc == nil {
		s.alloc = memory.NewGoAllocator()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = newClient(st.timeout, st.rootCAs)
		s.ownClient = true
	} else if st.rootCAs != nil {
		if s.client, err = withRoots(s.client, st.rootCAs); err != nil {
			return nil, err
		}
		s.ownClient = true
	}
	if cfg.Schema != nil {
		if err := checkSchema(cfg.Schema, st.format); err != nil {
			s.Close()
			return nil, err
		}
		s.schema = cfg.Schema
		return s, nil
	}
	if s.schema, err = s.infer(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// settings are a source's validated options.
type settings struct {
	url      *url.URL
	display  string // the URL without user info nor query, for errors and logs
	format   string
	header   bool
	delim    rune
	headers  http.Header
	retries  int
	timeout  time.Duration
	maxBytes int64
	rootCAs  *x509.CertPool // ca_file's certificates; nil = the system's roots
	caFile   string
}

func parseConfig(cfg connectors.Config) (settings, error) {
	var st settings
	u, err := url.Parse(strings.TrimSpace(cfg.Location))
	if err != nil || cfg.Location == "" {
		return st, pgerr.InvalidParameter("invalid url for HTTP sources: it must be an absolute http or https URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return st, pgerr.InvalidParameter("invalid url for HTTP sources: scheme %q is not supported (use http or https)", u.Scheme)
	}
	if u.Host == "" {
		return st, pgerr.InvalidParameter("invalid url for HTTP sources: it names no host")
	}
	st.url = u
	st.display = strings.ToLower(u.Scheme) + "://" + u.Host + u.EscapedPath()

	opts, err := Options.Validate("HTTP", cfg.Options)
	if err != nil {
		return st, err
	}
	ext := strings.ToLower(path.Ext(u.Path))
	st.format = opts["format"]
	if st.format == "" {
		switch ext {
		case ".json", ".ndjson", ".jsonl":
			st.format = "json"
		case ".csv", ".tsv":
			st.format = "csv"
		case ".parquet":
			st.format = "parquet"
		default:
			return st, pgerr.InvalidParameter("cannot infer the format of %s from its extension; set option format = 'json' | 'csv' | 'parquet'", st.display)
		}
	}
	if st.format == "parquet" && !parquetSupported {
		return st, errParquet()
	}
	if st.format != "csv" {
		for _, k := range []string{"header", "delimiter"} {
			if _, ok := opts[k]; ok {
				return st, pgerr.InvalidParameter("option %q applies only to csv content", k)
			}
		}
	}
	st.header = opts["header"] != "false"
	st.delim = ','
	if ext == ".tsv" {
		st.delim = '\t'
	}
	if d, ok := opts["delimiter"]; ok {
		r := []rune(d)
		if len(r) != 1 || r[0] == '"' || r[0] == '\r' || r[0] == '\n' || r[0] == 0xFFFD {
			return st, pgerr.InvalidParameter(`invalid value for option "delimiter": must be one character other than a quote or a line break`)
		}
		st.delim = r[0]
	}
	st.retries = 3
	if v, ok := opts["retries"]; ok {
		n, _ := strconv.Atoi(v)
		if n < 0 || n > maxRetries {
			return st, pgerr.InvalidParameter(`invalid value for option "retries": %s is not between 0 and %d`, v, maxRetries)
		}
		st.retries = n
	}
	st.timeout = cfg.TimeoutOrDefault()
	if v, ok := opts["timeout"]; ok {
		if st.timeout, err = parseTimeout(v); err != nil {
			return st, err
		}
	}
	st.maxBytes = 4 << 30
	if v, ok := opts["max_bytes"]; ok {
		n, _ := strconv.ParseInt(v, 10, 64)
		if n <= 0 {
			return st, pgerr.InvalidParameter(`invalid value for option "max_bytes": must be positive`)
		}
		if st.format != "parquet" {
			return st, pgerr.InvalidParameter(`option "max_bytes" applies only to parquet content (json and csv are streamed)`)
		}
		st.maxBytes = n
	}
	st.headers = http.Header{}
	if v, ok := opts["headers"]; ok {
		if st.headers, err = parseHeaders(v); err != nil {
			return st, err
		}
	}
	if v, ok := opts["ca_file"]; ok {
		if !strings.EqualFold(u.Scheme, "https") {
			return st, pgerr.InvalidParameter(`option "ca_file" applies only to https URLs`)
		}
		if st.rootCAs, err = loadRoots(v); err != nil {
			return st, err
		}
		st.caFile = v
	}
	if tok, ok := opts["bearer_token"]; ok {
		switch {
		case st.headers.Get("Authorization") != "":
			return st, pgerr.InvalidParameter(`option "bearer_token" and an Authorization header in option "headers": give one`)
		case tok == "" || !validValue(tok):
			return st, pgerr.InvalidParameter(`invalid value for option "bearer_token": it is empty or holds control characters`)
		}
		st.headers.Set("Authorization", "Bearer "+tok)
	}
	return st, nil
}

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

// DisplayHeaders is the headers option as a source's options show it: the
// header names, every value ********; text that is not a JSON object of
// strings is shown as ******** whole.
func DisplayHeaders(v string) string {
	dec := json.NewDecoder(strings.NewReader(v))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return connectors.Masked
	}
	var parts []string
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		var val string
		if err != nil || !ok || dec.Decode(&val) != nil {
			return connectors.Masked
		}
		key, _ := json.Marshal(name)
		parts = append(parts, string(key)+": "+`"`+connectors.Masked+`"`)
	}
	if _, err := dec.Token(); err != nil {
		return connectors.Masked
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// parseTimeout reads seconds ("30") or a Go duration ("1m30s").
func parseTimeout(v string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(maxTimeout/time.Second) {
			n = int64(maxTimeout/time.Second) + 1
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, pgerr.InvalidParameter(`invalid value for option "timeout": %q is neither seconds nor a duration like '30s'`, v)
	}
	if d <= 0 || d > maxTimeout {
		return 0, pgerr.InvalidParameter(`invalid value for option "timeout": must be more than 0 and at most %v`, maxTimeout)
	}
	return d, nil
}

// reserved are the headers the connector sets itself.
var reserved = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Te": true, "Upgrade": true, "Trailer": true, "Keep-Alive": true, "Accept-Encoding": true,
	"Range": true, "If-None-Match": true, "If-Modified-Since": true, "If-Match": true,
	"If-Unmodified-Since": true, "If-Range": true,
}

// parseHeaders reads the headers option, a JSON object of names to string
// values. Its errors name headers, never their values, which may be secrets.
func parseHeaders(v string) (http.Header, error) {
	bad := func(format string, args ...any) error {
		return pgerr.InvalidParameter(`invalid value for option "headers": `+format, args...)
	}
	dec := json.NewDecoder(strings.NewReader(v))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, bad(`must be a JSON object of header names to values, like '{"Authorization": "Bearer ..."}'`)
	}
	h := http.Header{}
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return nil, bad("must be a JSON object of header names to values")
		}
		var val string
		if err := dec.Decode(&val); err != nil {
			return nil, bad("the value of header %q must be a JSON string", name)
		}
		if !validName(name) {
			return nil, bad("%q is not a valid header name", name)
		}
		key := http.CanonicalHeaderKey(name)
		if reserved[key] {
			return nil, bad("header %q is set by the connector", key)
		}
		if _, dup := h[key]; dup {
			return nil, bad("header %q is given twice", key)
		}
		if !validValue(val) {
			return nil, bad("the value of header %q holds control characters", key)
		}
		h.Set(key, val)
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad("must be a JSON object of header names to values")
	}
	if _, err := dec.Token(); err == nil {
		return nil, bad("holds text after the JSON object")
	}
	return h, nil
}

// validName reports whether name is an RFC 9110 token.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validValue(v string) bool {
	for _, c := range []byte(v) {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// newClient is the default client: bounded dial and TLS handshake; the
// source's own watchdog bounds the response headers and body reads. TLS
// verifies against roots (nil: the system's), and a redirect from https
// to http is refused: it would send the headers option in the clear.
func newClient(timeout time.Duration, roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = timeout
	t.ResponseHeaderTimeout = timeout
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

// source is an open HTTP source. It is safe for concurrent use.
type source struct {
	settings
	schema    *arrow.Schema
	alloc     memory.Allocator
	log       *slog.Logger
	client    *http.Client
	ownClient bool

	mu   sync.Mutex
	last position // the validators last seen, for conditional requests
}

func (s *source) Schema() *arrow.Schema { return s.schema }

func (s *source) Close() error {
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	return nil
}

// infer fetches the document and infers its columns.
func (s *source) infer(ctx context.Context) (*arrow.Schema, error) {
	resp, err := s.fetch(ctx, position{})
	if err != nil {
		return nil, err
	}
	defer resp.body.Close()
	if v := resp.validators; v.ETag != "" || v.LastModified != "" {
		s.remember(v)
	}
	switch s.format {
	case "json":
		rows, err := newJSONRows(resp.body)
		if err != nil {
			return nil, err
		}
		return inferJSON(rows, inferRows)
	case "csv":
		return inferCSV(newCSV(resp.body, s.delim), s.header, inferRows)
	default:
		f, err := s.download(ctx, resp)
		if err != nil {
			return nil, err
		}
		defer f.remove()
		return f.inferSchema(s.alloc)
	}
}

// checkSchema refuses a fixed schema the format's reader cannot fill.
func checkSchema(sc *arrow.Schema, format string) error {
	if format == "parquet" {
		return nil // checked against the file's columns at each read
	}
	for _, f := range sc.Fields() {
		if !textType(f.Type) {
			return pgerr.Unsupported("column %q: type %s cannot be read from %s content", f.Name, f.Type, format)
		}
	}
	return nil
}

func errParquet() error {
	return pgerr.Unsupported("parquet content is not supported by this build of the HTTP connector (it is built without arrow-go's parquet reader)")
}

// errorf is a coded error that wraps cause (for errors.Is), with a message
// of its own.
func errorf(code string, cause error, format string, args ...any) error {
	e := pgerr.New(code, format, args...)
	e.Cause = cause
	return e
}

// canceled is the error of a read whose context ended.
func canceled(ctx context.Context, what string) error {
	return errorf(pgerrcode.QueryCanceled, ctx.Err(), "%s canceled: %v", what, context.Cause(ctx))
}
