package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/settings"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
	"github.com/sluice-db/sluice/wire"
)

// NewSession implements wire.Handler: one DuckDB connection per client.
func (g *Gateway) NewSession(ctx context.Context, info wire.StartupInfo) (wire.Session, error) {
	db := info.Database
	if db == "" {
		db = info.User
	}
	if db != DatabaseName {
		e := pgerr.New(pgerrcode.InvalidCatalogName, "database %q does not exist", db)
		e.Severity = "FATAL"
		e.Hint = fmt.Sprintf("Sluice serves one database, %q.", DatabaseName)
		return nil, e
	}
	// The role must exist and may log in (with trust too, as in
	// PostgreSQL).
	snap, err := g.access.Snapshot(ctx)
	if err != nil {
		return nil, engine.Translate(err)
	}
	switch r, ok := snap.Role(info.User); {
	case !ok:
		e := pgerr.New(pgerrcode.InvalidAuthorizationSpecification, "role %q does not exist", info.User)
		e.Severity = "FATAL"
		return nil, e
	case !r.Login:
		e := pgerr.New(pgerrcode.InvalidAuthorizationSpecification, "role %q is not permitted to log in", info.User)
		e.Severity = "FATAL"
		return nil, e
	case !snap.Has(info.User, catalog.Object{Kind: catalog.ObjectDatabase, Name: catalog.DatabaseName}, access.Connect):
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for database %q", db)
		e.Severity = "FATAL"
		e.Detail = "User does not have CONNECT privilege."
		return nil, e
	}
	conn, err := g.db.Connect(ctx)
	if err != nil {
		return nil, engine.Translate(err)
	}
	// current_database() answers the name clients connected to, not the
	// DuckDB file's name; current_user and its kin the session's role, not
	// DuckDB's "duckdb" (has_table_privilege(current_user, ...) and
	// pg_roles WHERE rolname = current_user are what BI tools ask).
	for _, m := range sessionMacros(info.User) {
		if _, err := conn.Exec(ctx, m); err != nil {
			conn.Close()
			return nil, engine.Translate(err)
		}
	}
	s := &session{g: g, conn: conn, user: info.User, tx: txIdle, plans: newPlanCache(planCacheSize), settings: settings.NewWithDefaults(info.Params, g.opts.SessionDefaults),
		startedAs: startedAs(info)}
	// The role's privileges, for the system tables' row filters and
	// pg_catalog (authorize.go).
	if _, err := s.checker(ctx); err != nil {
		conn.Close()
		return nil, engine.Translate(err)
	}
	return s, nil
}

// sessionMacros are the session's own temporary macros: the names of its
// database and role.
func sessionMacros(role string) []string {
	out := []string{"CREATE OR REPLACE TEMP MACRO current_database() AS " + sql.QuoteLiteral(DatabaseName)}
	for _, name := range sessionMacroNames[1:] {
		out = append(out, "CREATE OR REPLACE TEMP MACRO "+sql.QuoteIdent(name)+"() AS "+sql.QuoteLiteral(role))
	}
	return out
}

// sessionMacroNames are the macros sessionMacros makes; they are not the
// session's temporary objects as users see them (temps).
var sessionMacroNames = []string{"current_database", "current_user", "session_user", "user", "current_role"}

// startedAs is what a session's shared answers are kept under: its role
// and startup parameters.
func startedAs(info wire.StartupInfo) string {
	keys := make([]string, 0, len(info.Params))
	for k := range info.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(info.User)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + info.Params[k])
	}
	return b.String()
}

// Transaction states, as ReadyForQuery reports them.
const (
	txIdle   = 'I'
	txActive = 'T'
	txFailed = 'E'
)

// session is one client connection's state.
type session struct {
	g    *Gateway
	conn *engine.Conn
	user string
	tx   byte

	// A reader ticket is held from the start of a statement (or of a
	// transaction block) to its end, so the versions it may read stay on disk.
	ticket  uint64
	reading bool

	settings *settings.Values // PostgreSQL-only and custom settings (settings.go)

	// The privileges the session's DuckDB variables state (authorize.go),
	// and its temporary objects as last read.
	varsGen    uint64
	varsSynced bool
	// ownership are the statements that record the owner and privileges
	// of the objects the next passthrough DDL creates, renames or drops
	// (set by authorize, run by passthrough in the DDL's transaction).
	ownership []string
	tempObjs  map[string]access.Temp
	created   bool // the session ran a CREATE: it may have temporary objects (catalogreads.go)
	// startedAs is the session's role and startup parameters; changed
	// is set once a statement changed the session's own state (SET, DDL,
	// PRAGMA: what moves its epoch). Until then it shares kept answers
	// with the sessions started alike (answers.go).
	startedAs string
	changed   bool
	tempEpoch uint64

	// Kept plans of queries (plancache.go), and what says they are stale.
	plans           *planCache
	answers         map[string]*answer        // constant queries' and catalog reads' kept answers (answers.go)
	answerBytes     int                       // the rows they hold
	catalogVerdicts map[string]catalogVerdict // which queries are catalog reads (catalogreads.go)
	allowed         map[string]planGen        // queries allowed, and in which state (authorize.go)
	epoch           uint64                    // moved by statements that may change how SQL binds
	txRebinds       bool                      // the open transaction block ran such a statement

	deployment int64 // the deployment START DEPLOYMENT began, until FINISH (deploy.go)

	cursors map[string]*sqlCursor // DECLAREd cursors of the transaction block (cursors.go)
}

func (s *session) TxStatus() byte { return s.tx }

func (s *session) Close() error {
	s.closeCursors()
	s.abandonDeployment()
	s.endRead()
	s.plans.close()
	return s.conn.Close()
}

func (s *session) beginRead() {
	if !s.reading {
		s.ticket = s.g.mat.Readers.Enter()
		s.reading = true
	}
}

func (s *session) endRead() {
	if s.reading {
		s.g.mat.Readers.Leave(s.ticket)
		s.reading = false
	}
}

// SimpleQuery runs each statement of a simple-protocol query in turn. A
// query of one statement that may be kept runs through the session's kept
// plans; one that was kept needs no parsing (plancache.go).
func (s *session) SimpleQuery(ctx context.Context, query string, w wire.ResultWriter) error {
	query, err := truncateIdentifiers(query, w)
	if err != nil {
		return err
	}
	kept := s.plans.take(planKey{query: query})
	var stmts []sql.Statement
	if kept != nil {
		stmts = []sql.Statement{kept.stmt}
	} else {
		var err error
		if stmts, err = sql.Parse(query); err != nil {
			return err
		}
		if len(stmts) == 0 {
			return w.EmptyQuery()
		}
	}
	for _, st := range stmts {
		sctx, cancel := s.withTimeout(ctx)
		var err error
		if kept != nil || len(stmts) == 1 && plannable(query, st) {
			err = s.simplePlan(sctx, query, st, kept, w)
		} else {
			var c *cursor
			c, err = s.start(sctx, st, nil, nil, w, nil)
			s.ran(st)
			if err == nil {
				_, err = c.send(w, 0)
				c.close()
			}
		}
		err = timedOut(sctx, err)
		cancel()
		if err != nil {
			return s.failed(err, query, st)
		}
	}
	return nil
}

// failed records an error's effect on the transaction and gives it its
// final form: a SQLSTATE, and a position relative to the whole query.
func (s *session) failed(err error, query string, st sql.Statement) error {
	if s.tx == txActive {
		s.tx = txFailed
	}
	if s.tx == txIdle {
		s.endRead()
	}
	pe := pgerr.As(engine.Translate(err))
	if pe.Position > 0 && st != nil {
		// DuckDB counted from the start of the statement it saw.
		pe = pe.WithPosition(int(pe.Position) + runeCount(query[:st.Start()]))
	}
	return pe
}

func runeCount(s string) int { return len([]rune(s)) }

// Prepare implements the extended protocol's Parse. A query kept with the
// same text and parameter types is taken from the session's kept plans
// (plancache.go), unless it is stale or a transaction block failed (where
// Parse answers what preparing answers).
func (s *session) Prepare(ctx context.Context, query string, paramOIDs []uint32) (wire.Statement, error) {
	query, _ = truncateIdentifiers(query, nil)
	key := newPlanKey(query, paramOIDs)
	if kept := s.plans.take(key); kept != nil {
		switch {
		case s.tx == txFailed:
			s.plans.put(kept)
		case kept.gen == s.planGen():
			return &statement{s: s, query: query, stmt: kept.stmt, prep: kept.prep, text: kept.text, gen: kept.gen,
				params: declared(kept.prep.ParamOIDs(), paramOIDs), cols: kept.prep.Columns(), key: key, kept: true,
				analysis: kept.analysis}, nil
		default:
			kept.close()
		}
	}
	stmts, err := sql.Parse(query)
	if err != nil {
		return nil, err
	}
	switch len(stmts) {
	case 0:
		return &statement{s: s}, nil
	case 1:
	default:
		return nil, pgerr.New(pgerrcode.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	p := &statement{s: s, query: query, stmt: stmts[0], key: key}
	if err := s.authorize(ctx, p.stmt, &p.analysis); err != nil {
		return nil, s.failed(err, query, p.stmt)
	}
	if err := p.prepare(ctx); err != nil {
		return nil, err
	}
	p.params = declared(p.params, paramOIDs)
	return p, nil
}

// declared returns the parameter types DuckDB inferred with the ones Parse
// declared (non-zero) in their place.
func declared(inferred, decl []uint32) []uint32 {
	params := slices.Clone(inferred)
	for i, oid := range decl {
		if oid != 0 && i < len(params) {
			params[i] = oid
		}
	}
	return params
}

// prepare (re)prepares the statement's SQL in DuckDB, if it runs SQL.
func (p *statement) prepare(ctx context.Context) error {
	text, ok := p.s.rowSQL(p.stmt)
	if er, isExplain := p.stmt.(*sql.ExplainRefresh); isExplain {
		a, err := p.s.actor(ctx)
		if err != nil {
			return err
		}
		t, err := p.s.g.objects.ExplainSQL(ctx, er, a) // ddl: needs ctx to ask DuckDB for its estimate
		if err != nil {
			return err
		}
		text, ok = t, true
	}
	if !ok {
		if f, isFetch := p.stmt.(*sql.Fetch); isFetch {
			p.cols = p.s.cursorColumns(f) // cursors.go
		}
		return nil
	}
	gen := p.s.planGen()
	if a := p.s.answerFor(text, p.s.answerKey()); a != nil {
		// A kept (or shared) answer, given to the same text without
		// parameters: its columns describe the statement, and a run
		// replays it, or runs the text if it went stale (answers.go).
		p.prep, p.text, p.gen, p.suspect, p.kept = nil, text, gen, false, false
		p.params, p.cols = nil, a.cols
		return nil
	}
	prep, err := p.s.conn.Prepare(ctx, text)
	if err != nil {
		return p.s.failed(err, p.query, p.stmt)
	}
	p.prep, p.text, p.gen, p.suspect = prep, text, gen, false
	p.kept = plannable(p.query, p.stmt) && prep.IsQuery()
	p.params = prep.ParamOIDs()
	p.cols = prep.Columns()
	return nil
}

// refresh prepares the statement again when the catalog changed since it
// was prepared, or anything else that may change how it binds (planGen):
// DuckDB would otherwise run the plan of a view's old definition (a
// materialized view's previous version). A kept query whose run failed is
// prepared again too. As in PostgreSQL, a plan whose result columns changed
// is refused with 0A000, until one with the old columns can be prepared.
func (p *statement) refresh(ctx context.Context) error {
	if p.prep == nil || !p.suspect && p.gen == p.s.planGen() {
		return nil
	}
	old, oldCols, oldParams := p.prep, p.cols, p.params
	if err := p.prepare(ctx); err != nil {
		return err
	}
	old.Close()
	if !sameColumns(oldCols, p.cols) || len(oldParams) != len(p.params) {
		p.cols, p.params = oldCols, oldParams
		p.suspect = true
		return p.s.failed(pgerr.Unsupported("cached plan must not change result type"), p.query, p.stmt)
	}
	p.params = oldParams // keep the types the client was told
	return nil
}

func sameColumns(a, b []pgcodec.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].OID != b[i].OID || a[i].TypeMod != b[i].TypeMod {
			return false
		}
	}
	return true
}

// statement is a prepared statement.
type statement struct {
	s      *session
	query  string
	stmt   sql.Statement // nil for an empty query
	prep   *engine.Stmt  // DuckDB's prepared statement, when the statement runs SQL
	text   string        // the SQL prep was prepared from
	gen    planGen       // the state prep was prepared in
	params []uint32
	cols   []pgcodec.Column

	// analysis is the query's parse, checked against the role's
	// privileges at Parse (before DuckDB prepares it: binding a file
	// function reads the file) and again at every Execute.
	analysis *sqlplan.Analysis

	key     planKey // the statement's plan's key in the session's kept plans
	kept    bool    // prep is a query the session may keep (plancache.go)
	suspect bool    // a run of the kept query failed: prepare again, never keep
	portals int     // open portals of the statement
	closed  bool
}

func (p *statement) ParamOIDs() []uint32       { return p.params }
func (p *statement) Columns() []pgcodec.Column { return p.cols }

// Close releases the prepared statement once no portal of it is open: a
// suspended portal keeps its rows.
func (p *statement) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if p.portals == 0 {
		p.release()
	}
	return nil
}

// release gives the prepared statement to the session's kept plans when it
// is a query they may keep, else back to DuckDB.
func (p *statement) release() {
	prep := p.prep
	if prep == nil {
		return
	}
	p.prep = nil
	if p.kept && !p.suspect {
		p.s.plans.put(&plan{key: p.key, stmt: p.stmt, text: p.text, prep: prep, gen: p.gen, analysis: p.analysis})
		return
	}
	prep.Close()
}

func (p *statement) Bind(ctx context.Context, formats []int16, params [][]byte) (wire.Portal, error) {
	if len(params) != len(p.params) {
		return nil, pgerr.New(pgerrcode.ProtocolViolation, "bind message supplies %d parameters, but prepared statement requires %d", len(params), len(p.params))
	}
	args := make([]any, len(params))
	for i, raw := range params {
		f := int16(0)
		switch {
		case len(formats) == 1:
			f = formats[0]
		case len(formats) == len(params):
			f = formats[i]
		case len(formats) != 0:
			return nil, pgerr.New(pgerrcode.ProtocolViolation, "bind message has %d parameter formats but %d parameters", len(formats), len(params))
		}
		v, err := pgcodec.DecodeParam(p.params[i], f, raw)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	p.portals++
	return &portal{st: p, args: args}, nil
}

// portal is a bound statement; its cursor lives across Execute calls with a
// row limit.
type portal struct {
	st   *statement
	args []any
	cur  *cursor

	// A suspended portal's rows outlive the Execute that started them (a
	// client fetching in batches), so they run under the portal's own
	// context; each Execute's context (cancel, statement_timeout) cancels it
	// while that Execute runs.
	runCtx    context.Context
	runCancel context.CancelFunc
	closed    bool
}

func (pt *portal) Columns() []pgcodec.Column { return pt.st.cols }

func (pt *portal) Execute(ctx context.Context, w wire.ResultWriter, maxRows int) (suspended bool, err error) {
	s := pt.st.s
	ctx, cancel := s.withTimeout(ctx)
	defer func() {
		if te := timedOut(ctx, err); te != err {
			err = s.failed(te, pt.st.query, pt.st.stmt)
		}
		cancel()
	}()
	if pt.st.stmt == nil {
		return false, w.EmptyQuery()
	}
	// Without a row limit the portal runs to its end (or fails) in this
	// Execute and is never suspended, so its rows need no context of their
	// own: they run under this Execute's.
	runCtx := ctx
	if pt.cur != nil || maxRows > 0 {
		if pt.runCtx == nil {
			pt.runCtx, pt.runCancel = context.WithCancel(context.WithoutCancel(ctx))
		}
		defer context.AfterFunc(ctx, pt.runCancel)()
		runCtx = pt.runCtx
	}
	if pt.cur == nil {
		c, err := pt.start(ctx, runCtx, w)
		if err != nil {
			return false, err
		}
		pt.cur = c
	}
	suspended, err = pt.cur.send(w, maxRows)
	if err != nil {
		pt.cur.close()
		if pt.st.kept {
			pt.st.suspect = true
		}
		if ctx.Err() != nil && runCtx.Err() != nil {
			err = ctx.Err() // interrupted by this Execute's cancel or timeout
		}
		return false, s.failed(err, pt.st.query, pt.st.stmt)
	}
	if !suspended {
		pt.cur.close()
	}
	return suspended, nil
}

// start starts the portal's statement, its rows under runCtx; its errors
// are final (failed).
func (pt *portal) start(ctx, runCtx context.Context, w wire.ResultWriter) (*cursor, error) {
	st, s := pt.st, pt.st.s
	if !st.kept {
		if err := st.refresh(ctx); err != nil {
			return nil, err
		}
		c, err := s.start(runCtx, st.stmt, st.prep, pt.args, w, &st.analysis)
		s.ran(st.stmt)
		if err != nil {
			return nil, s.failed(err, st.query, st.stmt)
		}
		return c, nil
	}
	// A kept query: as start would, refused in a failed transaction block
	// (before DuckDB is asked to prepare it again there); the reader ticket
	// before the generation (plancache.go); run without rewriting its text
	// again.
	if s.tx == txFailed {
		return nil, s.failed(errInFailedTransaction(), st.query, st.stmt)
	}
	if err := s.authorize(ctx, st.stmt, &st.analysis); err != nil {
		return nil, s.failed(err, st.query, st.stmt)
	}
	s.beginRead()
	if err := st.refresh(ctx); err != nil {
		return nil, err
	}
	c, err := s.runPlan(runCtx, st, pt.args, w)
	if err != nil {
		st.suspect = true
		return nil, s.failed(err, st.query, st.stmt)
	}
	return c, nil
}

func (pt *portal) Close() error {
	if pt.closed {
		return nil
	}
	pt.closed = true
	if pt.cur != nil {
		pt.cur.close()
	}
	if pt.runCancel != nil {
		pt.runCancel()
	}
	if pt.st.portals--; pt.st.closed && pt.st.portals == 0 {
		pt.st.release()
	}
	return nil
}
