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
	"log/slog"
	"net/http"
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
