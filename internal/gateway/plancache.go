package gateway

import (
	"context"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
	"github.com/sluice-db/sluice/wire"
)

// Kept plans. DuckDB parses, binds and plans a statement each time it is
// prepared, which costs more than running a small query. So a session keeps
// the prepared statements of the queries it ran, by their text, and runs
// one again when the same text comes back: a simple-protocol query, or a
// Parse (named or unnamed) of the same text with the same parameter types.
//
// Only queries are kept: a statement the dialect passes through to DuckDB
// (or SHOW over the system tables) that starts like a query and that DuckDB
// prepared as one (engine.Stmt.IsQuery). Preparing one has no effect and
// running it touches nothing of Sluice's own, so running the kept statement
// is what preparing the text again and running that would do. DDL, DML,
// SET, transaction control and the dialect's statements are never kept.
//
// A kept plan is as good as the state it was bound in (planGen):
//
//   - the catalog's generation, as for prepared statements (a view
//     redefined, a materialized view refreshed, the session's settings
//     written to DuckDB), and
//   - the session's own epoch, which statements that may change how later
//     SQL binds move: SET and RESET (DuckDB's search_path), USE, ATTACH,
//     PRAGMA, the end of a transaction block that ran DDL, ... (rebinds).
//
// A plan bound in another state is closed and the text prepared again. A
// plan whose run failed is closed too, whatever the error: it may be stale
// in a way neither counter saw.
//
// A plan has one owner at a time: the cache, one simple-protocol statement
// while it runs, or one prepared statement and its portals until the
// statement is closed and its last portal too. Taking a plan removes it
// from the cache, so two portals never share one through the cache (a
// suspended portal keeps its rows); a second Parse of a text whose plan is
// in use prepares its own, and the first returned to the cache wins.

// planCacheSize bounds a session's kept plans; the least recently used
// goes first.
const planCacheSize = 64

// maxPlanText bounds the text of a kept query: the cache holds at most
// planCacheSize of them.
const maxPlanText = 64 << 10

// planKey identifies a kept plan: the query string as the client sent it
// (so a hit needs no parsing), and the parameter types Parse gave (their
// OIDs, 4 bytes each; empty for the simple protocol).
type planKey struct {
	query  string
	params string
}

func newPlanKey(query string, paramOIDs []uint32) planKey {
	if len(paramOIDs) == 0 {
		return planKey{query: query}
	}
	b := make([]byte, 0, 4*len(paramOIDs))
	for _, oid := range paramOIDs {
		b = append(b, byte(oid>>24), byte(oid>>16), byte(oid>>8), byte(oid))
	}
	return planKey{query: query, params: string(b)}
}

// planGen is the state a plan was bound in.
type planGen struct {
	catalog uint64 // the catalog's generation
	session uint64 // the session's epoch
}

func (s *session) planGen() planGen {
	return planGen{catalog: s.g.cat.Generation(), session: s.epoch}
}

// plan is a kept query: its statement, the SQL DuckDB prepared (rowSQL)
// and the prepared statement.
type plan struct {
	key  planKey
	stmt sql.Statement
	text string
	prep *engine.Stmt
	gen  planGen
	// analysis is the query's parse, checked against the role's
	// privileges at every run (authorize.go).
	analysis *sqlplan.Analysis

	prev, next *plan // the cache's recency list, most recent first
}

func (p *plan) close() { p.prep.Close() }

// planCache is a session's kept plans, least recently used evicted first.
type planCache struct {
	max    int
	plans  map[planKey]*plan
	list   plan // sentinel: list.next is the most recently used
	closed bool
}

func newPlanCache(max int) *planCache {
	c := &planCache{max: max, plans: make(map[planKey]*plan)}
	c.list.prev, c.list.next = &c.list, &c.list
	return c
}

// take removes and returns the plan kept under key, or nil.
func (c *planCache) take(key planKey) *plan {
	p, ok := c.plans[key]
	if !ok {
		return nil
	}
	delete(c.plans, key)
	p.prev.next, p.next.prev = p.next, p.prev
	p.prev, p.next = nil, nil
	return p
}

// put keeps p, evicting the least recently used plan beyond the bound. A
// plan for a key already kept (prepared while the kept one was in use) is
// closed instead, as is any plan once the cache is closed.
func (c *planCache) put(p *plan) {
	if _, dup := c.plans[p.key]; dup || c.closed || c.max <= 0 {
		p.close()
		return
	}
	c.plans[p.key] = p
	p.prev, p.next = &c.list, c.list.next
	p.next.prev, c.list.next = p, p
	for len(c.plans) > c.max {
		c.take(c.list.prev.key).close()
	}
}

// len returns the number of kept plans.
func (c *planCache) len() int { return len(c.plans) }

// close closes every kept plan; plans put afterwards are closed at once.
func (c *planCache) close() {
	c.closed = true
	for c.list.next != &c.list {
		c.take(c.list.next.key).close()
	}
}

// plannable reports whether st, the one statement of query, may be kept,
// before DuckDB prepares it: a pass-through statement that starts like a
// query, or SHOW over the system tables. (Such a text is never a
// transaction verb nor DDL that guardDDL checks, so start would only pass
// it through.) Whether it is kept is then DuckDB's call:
// engine.Stmt.IsQuery.
func plannable(query string, st sql.Statement) bool {
	if len(query) > maxPlanText {
		return false
	}
	switch st := st.(type) {
	case *sql.Show:
		return true
	case *sql.Passthrough:
		kw := sql.LeadingKeywords(st.Text(), 1)
		if len(kw) == 0 {
			return false
		}
		switch kw[0] {
		case "SELECT", "WITH", "VALUES", "FROM", "TABLE", "SHOW", "DESCRIBE", "SUMMARIZE":
			return true
		}
	}
	return false
}

// rebinds reports whether running st may change how the session's later
// SQL binds, so that plans kept before it may be stale: anything but
// queries, DML, COPY, transaction verbs (whose effect ran) and SHOW of a
// setting. The end of a transaction block is judged by ran.
func rebinds(st sql.Statement) bool {
	switch st := st.(type) {
	case *sql.Passthrough:
		kw := sql.LeadingKeywords(st.Text(), 1)
		if len(kw) == 0 {
			return false
		}
		switch kw[0] {
		case "SELECT", "WITH", "VALUES", "FROM", "TABLE", "SHOW", "DESCRIBE", "SUMMARIZE",
			"INSERT", "UPDATE", "DELETE", "MERGE", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT":
			return false
		}
		return true
	case *sql.Show, *sql.Copy, *sql.ExplainRefresh:
		return false
	case *sql.ShowSetting:
		// SHOW name reads; a SELECT of set_config() calls sets.
		kw := sql.LeadingKeywords(st.Text(), 1)
		return len(kw) > 0 && kw[0] == "SELECT"
	}
	return true // SET, RESET, the dialect's statements
}

// ran records what a statement that started (successfully or not) means
// for kept plans. Statements that may rebind move the session's epoch. DDL
// inside a transaction block is seen by the session's own plans at once,
// but by other sessions only at COMMIT, after the catalog generation moved
// for it: so the end of a block that ran any moves the generation again
// (COMMIT) or the epoch (ROLLBACK undid it).
func (s *session) ran(st sql.Statement) {
	if rebinds(st) {
		s.epoch++
		s.changed = true
		if s.tx != txIdle {
			s.txRebinds = true
		}
	}
	if s.tx == txIdle && s.txRebinds {
		s.txRebinds = false
		s.epoch++
		s.g.cat.Invalidate()
	}
}

// simplePlan runs a single-statement simple query that may be kept: with
// kept (the plan the cache held for the query, if any, which it owns) when
// it is still good, else preparing the query. It returns the plan to the
// cache when the statement succeeded and DuckDB prepared a query.
func (s *session) simplePlan(ctx context.Context, query string, st sql.Statement, kept *plan, w wire.ResultWriter) error {
	if s.tx == txFailed {
		if kept != nil {
			s.plans.put(kept)
		}
		return errInFailedTransaction()
	}
	var analysis *sqlplan.Analysis
	if kept != nil {
		analysis = kept.analysis
	}
	if err := s.authorize(ctx, st, &analysis); err != nil {
		if kept != nil {
			s.plans.put(kept)
		}
		return err
	}
	// The reader ticket before the generation: a version retired after
	// this point stays on disk until the statement ends, and one retired
	// before it moved the generation first.
	s.beginRead()
	p := kept
	if p != nil && p.gen != s.planGen() {
		p.close()
		p = nil
	}
	if p == nil {
		text, _ := s.rowSQL(st)
		if s.answerFor(text, s.answerKey()) != nil {
			// Kept (or shared) answer: nothing to prepare (answers.go).
			c, err := s.passthrough(ctx, text, nil, nil, w)
			if err == nil {
				_, err = c.send(w, 0)
				c.close()
			}
			return err
		}
		gen := s.planGen()
		prep, err := s.conn.Prepare(ctx, text)
		if err != nil {
			return err
		}
		p = &plan{key: planKey{query: query}, stmt: st, text: text, prep: prep, gen: gen}
	}
	p.analysis = analysis
	c, err := s.passthrough(ctx, p.text, p.prep, nil, w)
	if err == nil {
		_, err = c.send(w, 0)
		c.close()
	}
	if err != nil || !p.prep.IsQuery() {
		p.close()
	} else {
		s.plans.put(p)
	}
	return err
}

// runPlan starts a prepared statement's kept query: what start and
// passthrough do for it, without rewriting its text again.
func (s *session) runPlan(ctx context.Context, st *statement, args []any, w wire.ResultWriter) (*cursor, error) {
	if s.tx == txFailed {
		return nil, errInFailedTransaction()
	}
	return s.passthrough(ctx, st.text, st.prep, args, w)
}

// errInFailedTransaction is start's refusal in a failed transaction block.
func errInFailedTransaction() error {
	return pgerr.New(pgerrcode.InFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
}
