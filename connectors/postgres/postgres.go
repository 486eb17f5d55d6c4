// Package postgres is the POSTGRES connector: a table or a query of a
// PostgreSQL server, read with COPY (SELECT ...) TO STDOUT (FORMAT binary)
// and decoded straight into Arrow record batches. Incremental reads follow
// a cursor column (an id or a timestamp that grows as rows are added);
// large tables are read in parallel by ranges of an indexed integer column.
//
// Positions are {"cursor":"<last value read, in its text form>"}. A read
// (from, to] returns the rows whose cursor is above from and at most to.
// This assumes rows arrive with increasing cursor values and are not
// updated afterwards (append-only): a row committed after a read with a
// cursor at or below that read's end position is never read.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// Options declares the POSTGRES options (documented in docs/connectors.md).
var Options = connectors.Specs{
	{Name: "dsn", Type: connectors.String, Secret: true, Redact: DisplayDSN,
		Doc: "required: the server to read, as a libpq URL (postgres://user@host:5432/db?sslmode=verify-full&sslrootcert=/etc/sluice/pg-ca.crt) or key=value string; sslmode, sslrootcert, sslcert and sslkey work as in libpq (default sslmode prefer, which may fall back to no TLS; see TLS to sources). A password in it is never logged and shown only as ********, but prefer option password"},
	{Name: "password", Type: connectors.String, Secret: true,
		Doc: "the password, set on the connection's configuration (the dsn then holds none); never logged nor shown. Give it as password = SECRET name, password_env or password_file rather than in clear"},
	{Name: "table", Type: connectors.String, Doc: "the table or view to read, optionally schema-qualified (sales.orders); unquoted names fold to lower case, \"Quoted\" ones keep theirs. Exactly one of table and query"},
	{Name: "query", Type: connectors.String, Doc: "a SELECT whose result is the source (a parallel read needs table). Exactly one of table and query"},
	{Name: "cursor_column", Type: connectors.String, Doc: "a column whose values grow as rows are added (integer, numeric, date, timestamp, timestamptz or text): incremental reads return the rows above the last value read. Without it only full reads are possible"},
	{Name: "parallel", Type: connectors.Int, Doc: "how many ranges (each its own connection and COPY) a read of a table with more than 1M rows is split into, by an indexed integer cursor_column or the integer primary key; 1 = never split (default: half the gateway's CPUs, 1 to 4: each range costs a CPU on both sides)"},
	{Name: "batch_size", Type: connectors.Int, Default: "65536", Doc: "rows per record batch (a batch also ends at 64 MiB)"},
}

const (
	// splitMinRows is how many rows (pg_class.reltuples, scaled to the
	// read's range) a read must cover before it is split.
	splitMinRows = 1_000_000
	// batchBytes ends a batch early when its values pass this size.
	batchBytes   = 64 << 20
	maxParallel  = 64
	maxBatchRows = 1 << 20
)

// Connector opens POSTGRES sources.
type Connector struct{}

// Name is POSTGRES.
func (Connector) Name() string { return "POSTGRES" }

// Options declares the options.
func (Connector) Options() connectors.Specs { return Options }

// source is an open POSTGRES source. Everything but the metadata
// connection is fixed at Open, so it is safe for concurrent use.
type source struct {
	metaMu  sync.Mutex
	meta    *pgx.Conn       // Latest's and Plan's queries, one at a time; nil until needed
	metaCfg *pgx.ConnConfig // the metadata connection's
	connCfg *pgconn.Config  // each split's own connection
	secrets redactor
	log     *slog.Logger
	mem     memory.Allocator
	// warnedPlain is set once the log has said that sslmode prefer or
	// allow ended on an unencrypted connection.
	warnedPlain atomic.Bool

	schema *arrow.Schema
	cols   []column
	rel    string // the relation read: "schema"."table", or (query)
	table  string // rel when it is a table, for ::regclass; "" for a query
	alias  string // " AS q(c1, ..., cn)": columns by position, names never quoted

	cursor        int  // index of cursor_column, -1 = none
	cursorIndexed bool // an index leads with the cursor column
	pk            int  // index of the table's integer one-column primary key, -1 = none
	parallel      int
	batchRows     int
}

var _ connectors.Connector = Connector{}

// Open validates cfg, connects, and describes the table or query.
func (Connector) Open(ctx context.Context, cfg connectors.Config) (connectors.Source, error) {
	opts, err := Options.Validate("POSTGRES", cfg.Options)
	if err != nil {
		return nil, err
	}
	if cfg.Location != "" { // may be a connection string: never echo it
		return nil, pgerr.InvalidParameter("POSTGRES sources take their connection string in option \"dsn\", not after FROM POSTGRES")
	}
	dsn := opts["dsn"]
	if strings.TrimSpace(dsn) == "" {
		return nil, pgerr.InvalidParameter("option \"dsn\" is required for POSTGRES sources (a libpq URL or key=value connection string)")
	}
	table, hasTable := opts["table"]
	query, hasQuery := opts["query"]
	if hasTable == hasQuery {
		return nil, pgerr.InvalidParameter("POSTGRES sources need exactly one of options \"table\" and \"query\"")
	}
	s := &source{cursor: -1, pk: -1, log: cfg.Logger, mem: cfg.Allocator, parallel: defaultParallel(), batchRows: 65536}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.mem == nil {
		s.mem = memory.DefaultAllocator
	}
	if v, ok := opts["parallel"]; ok {
		n, _ := strconv.Atoi(v)
		if n < 1 || n > maxParallel {
			return nil, pgerr.InvalidParameter("invalid value for option \"parallel\": %s is not between 1 and %d", v, maxParallel)
		}
		s.parallel = n
	}
	if v, ok := opts["batch_size"]; ok {
		n, _ := strconv.Atoi(v)
		if n < 1 || n > maxBatchRows {
			return nil, pgerr.InvalidParameter("invalid value for option \"batch_size\": %s is not between 1 and %d", v, maxBatchRows)
		}
		s.batchRows = n
	}
	if hasTable {
		parts, err := parseTableName(table)
		if err != nil {
			return nil, pgerr.InvalidParameter("invalid value for option \"table\": %v", err)
		}
		s.rel = pgx.Identifier(parts).Sanitize()
		s.table = s.rel
	} else {
		q := strings.TrimSpace(query)
		for strings.HasSuffix(q, ";") {
			q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
		}
		if q == "" {
			return nil, pgerr.InvalidParameter("invalid value for option \"query\": the query is empty")
		}
		s.rel = "(\n" + q + "\n)" // newlines: a trailing -- comment must not swallow the rest
	}

	s.secrets = secretsOf(dsn)
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, dsnError(dsn, err)
	}
	s.secrets = append(s.secrets, pc.Password)
	if err := checkVerification(&pc.Config); err != nil {
		return nil, err
	}
	if pw, ok := opts["password"]; ok {
		if len(secretsOf(dsn)) > 1 {
			return nil, pgerr.InvalidParameter("option \"password\" and a password in option \"dsn\": give the password once, in option \"password\"")
		}
		pc.Password = pw // on the configuration: the dsn's text is never spliced
		s.secrets = append(s.secrets, pw)
	}
	timeout := cfg.TimeoutOrDefault()
	setSession(pc.RuntimeParams)
	pc.ConnectTimeout = timeout
	pc.BuildContextWatcherHandler = cancelRequestHandler
	pc.DefaultQueryExecMode = pgx.QueryExecModeExec // queries inline positions: cache none
	s.metaCfg = pc
	s.connCfg = pc.Config.Copy()

	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = s.withMeta(octx, func(conn *pgx.Conn) error {
		return s.describe(octx, conn, opts, cfg.Schema)
	})
	if err != nil {
		s.Close()
		return nil, s.fail(ctx, "describing the source", err)
	}
	return s, nil
}

// withMeta runs fn on the metadata connection, connecting first if there
// is none. The connection stays open between calls; when it turns out to
// have broken meanwhile (an idle timeout, a server restart, a terminated
// backend's FATAL), fn runs once more on a new one: it only reads. Calls
// take turns.
func (s *source) withMeta(ctx context.Context, fn func(*pgx.Conn) error) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	reused := s.meta != nil && !s.meta.IsClosed()
	if !reused {
		conn, err := pgx.ConnectConfig(ctx, s.metaCfg)
		if err != nil {
			return err
		}
		s.meta = conn
		s.noteTLS(conn.PgConn())
	}
	err := fn(s.meta)
	if err != nil && reused && s.meta.IsClosed() && ctx.Err() == nil {
		conn, cerr := pgx.ConnectConfig(ctx, s.metaCfg)
		if cerr != nil {
			return cerr
		}
		s.meta = conn
		s.noteTLS(conn.PgConn())
		err = fn(conn)
	}
	return err
}

// Schema is the columns every read returns.
func (s *source) Schema() *arrow.Schema { return s.schema }

// Close closes the metadata connection; readers have their own.
func (s *source) Close() error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if s.meta == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.meta.Close(ctx)
	s.meta = nil
	return err
}

// parseTableName splits [schema.]table into identifiers: bare parts fold
// to lower case as PostgreSQL folds them, "quoted" parts keep theirs.
func parseTableName(name string) ([]string, error) {
	var parts []string
	rest := name
	for {
		var part string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(rest[i:], '"')
				if j < 0 {
					return nil, errors.New("unterminated quoted identifier")
				}
				b.WriteString(rest[i : i+j])
				i += j + 1
				if i < len(rest) && rest[i] == '"' { // "" is a quote
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			part, rest = b.String(), rest[i:]
			if part == "" {
				return nil, errors.New("empty quoted identifier")
			}
		} else {
			i := 0
			for i < len(rest) && rest[i] != '.' {
				c := rest[i]
				ok := c == '_' || c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
					i > 0 && (c == '$' || '0' <= c && c <= '9')
				if !ok {
					return nil, fmt.Errorf("%q is not a table name (write [schema.]table, \"double-quoting\" names with other characters)", name)
				}
				i++
			}
			if i == 0 {
				return nil, fmt.Errorf("%q is not a table name (write [schema.]table)", name)
			}
			part, rest = strings.ToLower(rest[:i]), rest[i:]
		}
		parts = append(parts, part)
		if rest == "" {
			break
		}
		if rest[0] != '.' {
			return nil, fmt.Errorf("%q is not a table name (write [schema.]table)", name)
		}
		rest = rest[1:]
	}
	if len(parts) > 2 {
		return nil, fmt.Errorf("%q has more than two parts (write [schema.]table)", name)
	}
	return parts, nil
}

// setSession pins the session settings positions depend on: cursor values
// travel in their text form, which must not change with the server's or
// the dsn's TimeZone or DateStyle.
func setSession(params map[string]string) {
	for k := range params {
		if strings.EqualFold(k, "timezone") || strings.EqualFold(k, "datestyle") {
			delete(params, k)
		}
	}
	params["timezone"] = "UTC"
	params["datestyle"] = "ISO, MDY"
	if _, ok := params["application_name"]; !ok {
		params["application_name"] = "sluice"
	}
}

// cancelRequestHandler makes a canceled context send the server a
// CancelRequest, so a read stops on the server too, then close the
// connection if the server has not answered within 2 s.
func cancelRequestHandler(c *pgconn.PgConn) ctxwatch.Handler {
	return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
}

// defaultParallel is half the CPUs Go may use, between 1 and 4: a range
// read keeps a DuckDB thread and a server backend busy, and on a machine
// of 2 CPUs splitting measured slower than one COPY (docs/benchmarks.md,
// W8).
func defaultParallel() int {
	return max(1, min(4, runtime.GOMAXPROCS(0)/2))
}
