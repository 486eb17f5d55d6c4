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
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgerrcode"
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

// describe reads the columns, checks cursor_column and the stored schema,
// and finds the columns a read can be split by.
func (s *source) describe(ctx context.Context, conn *pgx.Conn, opts map[string]string, stored *arrow.Schema) error {
	desc, err := conn.PgConn().Prepare(ctx, "", "SELECT * FROM "+s.rel+" AS q", nil)
	if err != nil {
		return err
	}
	what := "query"
	if s.table != "" {
		what = "table " + s.table
	}
	if len(desc.Fields) == 0 {
		return pgerr.Unsupported("the POSTGRES source's %s returns no columns", what)
	}
	fields := make([]arrow.Field, 0, len(desc.Fields))
	seen := map[string]bool{}
	aliases := make([]string, 0, len(desc.Fields))
	for i, f := range desc.Fields {
		if seen[f.Name] {
			return pgerr.New(pgerrcode.DuplicateColumn, "the POSTGRES source's %s returns column %q more than once; give the columns distinct names", what, f.Name)
		}
		seen[f.Name] = true
		c := mapColumn(f.Name, f.DataTypeOID, f.TypeModifier)
		s.cols = append(s.cols, c)
		fields = append(fields, c.field)
		aliases = append(aliases, "c"+strconv.Itoa(i+1))
	}
	s.alias = " AS q(" + strings.Join(aliases, ", ") + ")"
	s.schema = arrow.NewSchema(fields, nil)
	if stored != nil {
		if err := sameColumns(stored, s.schema); err != nil {
			return err
		}
		s.schema = stored
	}

	if name, ok := opts["cursor_column"]; ok {
		for i, c := range s.cols {
			if c.name == name {
				s.cursor = i
			}
		}
		if s.cursor < 0 {
			names := make([]string, len(s.cols))
			for i, c := range s.cols {
				names[i] = c.name
			}
			return pgerr.InvalidParameter("invalid value for option \"cursor_column\": %s has no column %q (its columns: %s)", what, name, strings.Join(names, ", "))
		}
		if c := s.cols[s.cursor]; !cursorType(c.oid) {
			return pgerr.InvalidParameter("invalid value for option \"cursor_column\": column %q is %s, which cannot be a cursor (use an integer, numeric, date, timestamp, timestamptz or text column)", name, typeName(c.oid))
		}
	}
	if s.table == "" || s.parallel == 1 {
		return nil
	}
	// Indexes leading with a column: a range of it is cheap to read.
	rows, err := conn.Query(ctx, `
		SELECT a.attname, i.indisprimary AND i.indnkeyatts = 1
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = $1::regclass AND i.indisvalid AND i.indpred IS NULL`, s.table)
	if err != nil {
		return err
	}
	var indexed []string
	var pk string
	for rows.Next() {
		var name string
		var isPK bool
		if err := rows.Scan(&name, &isPK); err != nil {
			return err
		}
		indexed = append(indexed, name)
		if isPK {
			pk = name
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, c := range s.cols {
		if i == s.cursor && integerType(c.oid) {
			for _, n := range indexed {
				s.cursorIndexed = s.cursorIndexed || n == c.name
			}
		}
		if c.name == pk && integerType(c.oid) {
			s.pk = i
		}
	}
	return nil
}

// sameColumns checks that the columns described now are the ones the
// source was created with.
func sameColumns(stored, now *arrow.Schema) error {
	if stored.NumFields() != now.NumFields() {
		return pgerr.New(pgerrcode.DatatypeMismatch, "the POSTGRES source's columns changed since it was created: it had %d columns, now %d; recreate the source", stored.NumFields(), now.NumFields())
	}
	for i, f := range stored.Fields() {
		g := now.Field(i)
		if f.Name != g.Name || !arrow.TypeEqual(f.Type, g.Type) {
			return pgerr.New(pgerrcode.DatatypeMismatch, "the POSTGRES source's columns changed since it was created: column %d was %s %s, now %s %s; recreate the source", i+1, f.Name, f.Type, g.Name, g.Type)
		}
	}
	return nil
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

// certificateError reports whether err is a failed verification of the
// server's certificate (verify-full's through crypto/tls, verify-ca's
// through pgx's own check of the chain).
func certificateError(err error) bool {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// checkVerification refuses what libpq refuses and pgx would accept:
// sslmode verify-ca or verify-full without a root certificate (neither
// sslrootcert nor ~/.postgresql/root.crt). pgx would then verify against
// the system's roots, under which verify-ca accepts a certificate any
// public CA issued for any name; libpq fails instead, and so do we.
// sslrootcert=system asks for the system's roots explicitly.
func checkVerification(c *pgconn.Config) error {
	cfgs := []*tls.Config{c.TLSConfig}
	for _, f := range c.Fallbacks {
		cfgs = append(cfgs, f.TLSConfig)
	}
	for _, t := range cfgs {
		if t == nil || t.RootCAs != nil {
			continue
		}
		if !t.InsecureSkipVerify || t.VerifyPeerCertificate != nil { // verify-full, verify-ca
			return pgerr.InvalidParameter("invalid value for option \"dsn\": sslmode verify-ca and verify-full need sslrootcert, the CA file that signed the server's certificate (or sslrootcert=system for the system's trusted roots), as libpq does")
		}
	}
	return nil
}

// noteTLS warns, once per source, when a connection over TCP ended up
// unencrypted although the dsn allowed TLS: sslmode prefer (libpq's and
// pgx's default) or allow tries the other way when the first fails, so a
// server without TLS, or anything between that refuses it, gets plaintext
// without an error. sslmode=disable asked for it and is not warned about.
func (s *source) noteTLS(c *pgconn.PgConn) {
	nc := c.Conn()
	if _, ok := nc.(*tls.Conn); ok || nc.RemoteAddr().Network() == "unix" || s.warnedPlain.Load() {
		return
	}
	tlsAllowed := s.connCfg.TLSConfig != nil
	for _, f := range s.connCfg.Fallbacks {
		tlsAllowed = tlsAllowed || f.TLSConfig != nil
	}
	if tlsAllowed && !s.warnedPlain.Swap(true) {
		s.log.Warn("POSTGRES source connected without TLS: sslmode prefer (the default) or allow fell back to an unencrypted connection; set sslmode=verify-full (or require) in the dsn to refuse one",
			"server", nc.RemoteAddr().String())
	}
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

// sslFileProblem says what is wrong with the dsn's sslrootcert, sslcert
// or sslkey file, "" if nothing is (or the dsn names none). It reads the
// parameters as a lenient reader would: it only explains a failure pgx
// already reported.
func sslFileProblem(dsn string) string {
	params := map[string]string{}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			for _, k := range []string{"sslrootcert", "sslcert", "sslkey"} {
				params[k] = u.Query().Get(k)
			}
		}
	} else {
		for _, f := range strings.Fields(dsn) {
			if k, v, ok := strings.Cut(f, "="); ok {
				params[strings.TrimSpace(k)] = strings.Trim(v, "'")
			}
		}
	}
	if f := params["sslrootcert"]; f != "" && f != "system" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "sslrootcert: " + err.Error()
		}
		if !x509.NewCertPool().AppendCertsFromPEM(b) {
			return fmt.Sprintf("sslrootcert %s holds no PEM certificate", f)
		}
	}
	for _, k := range []string{"sslcert", "sslkey"} {
		f := params[k]
		if f == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return k + ": " + err.Error()
		}
		if block, _ := pem.Decode(b); block == nil {
			return fmt.Sprintf("%s %s is not a PEM file", k, f)
		}
	}
	if params["sslcert"] != "" && params["sslkey"] != "" {
		if _, err := tls.LoadX509KeyPair(params["sslcert"], params["sslkey"]); err != nil && !encryptedKey(params["sslkey"]) {
			return fmt.Sprintf("sslcert %s and sslkey %s are not a certificate and its key: %v", params["sslcert"], params["sslkey"], err)
		}
	} else if (params["sslcert"] == "") != (params["sslkey"] == "") {
		return "sslcert and sslkey must be given together"
	}
	return ""
}

// encryptedKey reports whether the PEM key file is encrypted (sslpassword
// decrypts it; its failures are pgx's to report).
func encryptedKey(file string) bool {
	b, _ := os.ReadFile(file)
	block, _ := pem.Decode(b)
	return block != nil && (x509.IsEncryptedPEMBlock(block) || block.Type == "ENCRYPTED PRIVATE KEY")
}

// RedactDSN is dsn with every password in it replaced by xxxxx, as error
// messages show it.
func RedactDSN(dsn string) string {
	return secretsOf(dsn)[1:].clean(dsn)
}

// DisplayDSN is dsn as a source's options show it (sluice.sources, SHOW
// SOURCES): the passwords in it (the URL's user info, any parameter whose
// name holds "password") replaced by ********, the rest as written. A
// string it cannot read is shown as ******** whole: the display never
// guesses where a password ends.
func DisplayDSN(dsn string) string {
	if rest, ok := strings.CutPrefix(dsn, "postgres://"); ok {
		return "postgres://" + displayURL(rest)
	}
	if rest, ok := strings.CutPrefix(dsn, "postgresql://"); ok {
		return "postgresql://" + displayURL(rest)
	}
	out, ok := displayKeywords(dsn)
	if !ok {
		return connectors.Masked
	}
	return out
}

// displayURL masks the password of a URL's user info (everything between
// the first ':' and the last '@', as the most lenient reader would take
// it: an '@' in the query masks more, never less) and the values of its
// password parameters.
func displayURL(rest string) string {
	user := ""
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user, rest = rest[:at+1], rest[at+1:]
		if name, _, ok := strings.Cut(user, ":"); ok {
			user = name + ":" + connectors.Masked + "@"
		}
	}
	head, query, hasQuery := strings.Cut(rest, "?")
	head = user + head
	if !hasQuery {
		return head
	}
	params := strings.Split(query, "&")
	for i, kv := range params {
		if k, _, ok := strings.Cut(kv, "="); ok && strings.Contains(strings.ToLower(k), "password") {
			params[i] = k + "=" + connectors.Masked
		}
	}
	return head + "?" + strings.Join(params, "&")
}

// displayKeywords masks the password values of a key=value connection
// string (libpq's: values bare or in single quotes with backslash
// escapes); ok is false when the string is not of that form.
func displayKeywords(dsn string) (string, bool) {
	var parts []string
	i := 0
	skip := func() {
		for i < len(dsn) && (dsn[i] == ' ' || dsn[i] == '\t' || dsn[i] == '\n' || dsn[i] == '\r') {
			i++
		}
	}
	for {
		skip()
		if i >= len(dsn) {
			return strings.Join(parts, " "), true
		}
		start := i
		for i < len(dsn) && dsn[i] != '=' && dsn[i] != ' ' && dsn[i] != '\t' {
			i++
		}
		key := dsn[start:i]
		skip()
		if key == "" || i >= len(dsn) || dsn[i] != '=' {
			return "", false
		}
		i++
		skip()
		vstart := i
		if i < len(dsn) && dsn[i] == '\'' {
			for i++; ; i++ {
				if i >= len(dsn) {
					return "", false // unterminated: where the value ends is anyone's guess
				}
				if dsn[i] == '\\' {
					i++
					continue
				}
				if dsn[i] == '\'' {
					i++
					break
				}
			}
		} else {
			for i < len(dsn) && dsn[i] != ' ' && dsn[i] != '\t' && dsn[i] != '\n' && dsn[i] != '\r' {
				i++
			}
		}
		value := dsn[vstart:i]
		if strings.Contains(strings.ToLower(key), "password") {
			value = connectors.Masked
		}
		parts = append(parts, key+"="+value)
	}
}

// redactor holds the secrets no message may show.
type redactor []string

// secretsOf finds the passwords in a connection string the way a lenient
// reader would, so that even a string pgx refuses cannot leak one. The
// first secret is the whole string.
func secretsOf(dsn string) redactor {
	r := redactor{dsn}
	if rest, ok := strings.CutPrefix(dsn, "postgres://"); ok || strings.HasPrefix(dsn, "postgresql://") {
		if !ok {
			rest = strings.TrimPrefix(dsn, "postgresql://")
		}
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				r = append(r, pw)
				if u, err := url.PathUnescape(pw); err == nil {
					r = append(r, u)
				}
			}
		}
		if _, q, ok := strings.Cut(rest, "?"); ok {
			for _, kv := range strings.Split(q, "&") {
				k, v, _ := strings.Cut(kv, "=")
				if strings.Contains(strings.ToLower(k), "password") {
					r = append(r, v)
					if u, err := url.QueryUnescape(v); err == nil {
						r = append(r, u)
					}
				}
			}
		}
		return r
	}
	for _, f := range strings.Fields(dsn) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.Contains(strings.ToLower(k), "password") && !strings.HasPrefix(v, "'") {
			r = append(r, v)
		}
	}
	// A quoted value may hold spaces: password='a b'.
	for i := 0; ; {
		j := strings.Index(dsn[i:], "password")
		if j < 0 {
			break
		}
		i += j + len("password")
		v := strings.TrimLeft(dsn[i:], " =")
		if strings.HasPrefix(v, "'") {
			if end := strings.IndexByte(v[1:], '\''); end >= 0 {
				r = append(r, v[1:1+end])
			}
		}
	}
	return r
}

// clean replaces every secret in msg, longest first (one may hold another).
func (r redactor) clean(msg string) string {
	r = slices.Clone(r)
	slices.SortFunc(r, func(a, b string) int { return len(b) - len(a) })
	for _, s := range r {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

// defaultParallel is half the CPUs Go may use, between 1 and 4: a range
// read keeps a DuckDB thread and a server backend busy, and on a machine
// of 2 CPUs splitting measured slower than one COPY (docs/benchmarks.md,
// W8).
func defaultParallel() int {
	return max(1, min(4, runtime.GOMAXPROCS(0)/2))
}
