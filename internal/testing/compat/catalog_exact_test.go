package compat

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestCatalogAnswersAfterRandomDDL checks that catalog answers stay exact
// through a seeded random sequence of DDL, DML, role, grant and session
// setting changes made from several sessions. After each step every
// catalog query (the BI suite and the pgbench introspection script) runs
// twice on long-lived sessions and once on a brand-new session of the same
// role and settings, which cannot have anything kept from before the step:
// any difference (rows as a multiset, errors by SQLSTATE) is a stale or
// wrong answer. It is black-box through the wire, so it holds for a gateway that
// keeps catalog answers per session as well as for one that keeps nothing.
//
// Sessions: A (the superuser sluice), A2 (a non-superuser role, analyst,
// whose privileges the GRANT and REVOKE steps change) and C (the superuser,
// making changes A must see). While A has session-local state (an open
// transaction block, a temporary table) no fresh session can share its
// view, so there A's second run is compared with its first, both after the
// step; the state is ended within the step, and the next comparison with a
// fresh session shows whether an answer kept during it outlived it. (SET
// ROLE, which would be another such state, Sluice does not have.)
//
// SLUICE_TEST_SEED replays a sequence; SLUICE_TEST_STEPS changes its length.
func TestCatalogAnswersAfterRandomDDL(t *testing.T) {
	queries := catalogQueries(t)
	seed := time.Now().UnixNano()
	if v := os.Getenv("SLUICE_TEST_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("SLUICE_TEST_SEED=%q: %v", v, err)
		}
	}
	steps := 36
	if v := os.Getenv("SLUICE_TEST_STEPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SLUICE_TEST_STEPS=%q: not a positive count", v)
		}
		steps = n
	}
	t.Logf("seed %d (SLUICE_TEST_SEED=%d replays it), %d steps, %d queries", seed, seed, steps, len(queries))

	dsn := startGateway(t)
	ctx := context.Background()
	a := connect(t, dsn)
	for _, q := range fixture {
		if _, err := a.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, q := range []string{
		`CREATE ROLE analyst LOGIN PASSWORD 'analyst password'`,
		`GRANT SELECT ON py_t TO analyst`,
	} {
		if _, err := a.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The test gateway trusts loopback clients (no Authenticator), so the
	// role logs in by name, as under auth: trust (docs/security.md).
	analystDSN := strings.Replace(dsn, "://sluice@", "://analyst@", 1)
	h := &ddlHarness{
		t:       t,
		ctx:     ctx,
		queries: queries,
		rng:     rand.New(rand.NewSource(seed)),
		a:       &catSession{name: "A", role: "sluice", dsn: dsn, conn: a, settings: map[string]string{}},
		a2:      &catSession{name: "A2", role: "analyst", dsn: analystDSN, conn: connect(t, analystDSN), settings: map[string]string{}},
		c:       connect(t, dsn),
		tables:  []*ddlTable{{name: "py_t", cols: []string{"id", "name", "amount", "day"}, views: 2}},
	}
	h.check("fixture", true)
	if t.Failed() {
		t.FailNow()
	}

	// The first steps are every kind once, in a random order, each checked
	// with every query; the rest are drawn at random and checked with every
	// query after every fullEvery-th step, and with a rotating quarter of
	// the queries otherwise, to keep the test near a minute on two cores.
	kinds := slices.Clone(ddlStepKinds)
	h.rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	const fullEvery = 5
	start := time.Now()
	for i := range steps {
		k := kinds[i%len(kinds)]
		full := i < len(kinds) || i%fullEvery == 0
		if i >= len(kinds) {
			k = ddlStepKinds[h.rng.Intn(len(ddlStepKinds))]
		}
		h.step = i + 1
		k.run(h, full)
		if i == len(kinds)-1 {
			t.Logf("every kind of step once, all queries checked after each: %s", time.Since(start).Round(time.Millisecond))
		}
		if t.Failed() {
			t.Fatalf("stopping after step %d; replay with SLUICE_TEST_SEED=%d", h.step, seed)
		}
	}
	t.Logf("%d steps, %d comparisons in %s", steps, h.compared.Load(), time.Since(start).Round(time.Millisecond))
}

// catQuery is one catalog query the test runs.
type catQuery struct {
	where string // client and line, for failure messages
	text  string
}

// catalogQueries reads the BI queries the compatibility suite expects to
// succeed (all of bi_queries.sql but its known gaps) and the statements of
// bench/testdata/pgbench/introspection.sql.
func catalogQueries(t *testing.T) []catQuery {
	t.Helper()
	var out []catQuery
	for _, q := range LoadBIQueries(t, filepath.Join("..", "..", "..")) {
		if _, gap := knownGaps[strings.SplitN(q.Client, " (", 2)[0]+" "+strconv.Itoa(q.Line)]; gap {
			continue
		}
		out = append(out, catQuery{where: fmt.Sprintf("bi_queries.sql:%d %s", q.Line, q.Client), text: q.Text})
	}
	ipath := filepath.Join("..", "..", "..", "bench", "testdata", "pgbench", "introspection.sql")
	isrc, err := os.ReadFile(ipath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, line := range strings.Split(string(isrc), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		n++
		out = append(out, catQuery{where: fmt.Sprintf("introspection.sql:%d", i+1), text: line})
	}
	if n != 6 || len(out) < 30 {
		t.Fatalf("read %d introspection queries and %d in all; the files changed shape", n, len(out))
	}
	return out
}

// catSession is a long-lived session whose answers are checked.
type catSession struct {
	name, role, dsn string
	conn            *pgx.Conn
	// local is set while the session has state no fresh session shares.
	local bool
	// settings are the SET statements in force on the session; a fresh
	// session runs them first, so it asks with the same settings.
	settings map[string]string
}

// ddlTable is a table the sequence made, with what depends on it.
type ddlTable struct {
	schema, name string
	cols         []string
	views        int  // views and materialized views reading it
	granted      bool // analyst holds SELECT on it
	rows         int
}

func (t *ddlTable) qname() string {
	if t.schema == "" {
		return t.name
	}
	return t.schema + "." + t.name
}

type ddlHarness struct {
	t        *testing.T
	ctx      context.Context
	queries  []catQuery
	rng      *rand.Rand
	a, a2    *catSession
	c        *pgx.Conn
	step     int
	checks   int
	compared atomic.Int64
	n        int // name counter

	tables   []*ddlTable
	views    []ddlView
	matviews []ddlView
	schemas  []string // schemas the sequence made
	roles    []string
}

type ddlView struct {
	name  string
	table *ddlTable
}

func (h *ddlHarness) name(prefix string) string {
	h.n++
	return fmt.Sprintf("%s_%d", prefix, h.n)
}

// exec runs statements on conn (A, or C when fromC), failing the test on
// any error: the sequence only makes changes that must succeed.
func (h *ddlHarness) exec(conn *pgx.Conn, label string, stmts ...string) {
	h.t.Helper()
	for _, s := range stmts {
		if _, err := conn.Exec(h.ctx, s); err != nil {
			h.t.Fatalf("step %d (%s): %s: %v", h.step, label, s, err)
		}
	}
}

// who picks the session a change is made from: A or C, at random.
func (h *ddlHarness) who() (*pgx.Conn, string) {
	if h.rng.Intn(2) == 0 {
		return h.c, "C"
	}
	return h.a.conn, "A"
}

// ddlStep is one kind of change; run makes it and checks the answers.
type ddlStep struct {
	kind string
	run  func(h *ddlHarness, full bool)
}

// plain is a step that makes a change from A or C, then checks.
func plain(kind string, change func(h *ddlHarness, conn *pgx.Conn) []string) ddlStep {
	return ddlStep{kind: kind, run: func(h *ddlHarness, full bool) {
		conn, from := h.who()
		stmts := change(h, conn)
		label := kind + " from " + from + ": " + strings.Join(stmts, "; ")
		h.exec(conn, label, stmts...)
		h.check(label, full)
	}}
}

func (h *ddlHarness) pickTable(ok func(*ddlTable) bool) *ddlTable {
	var c []*ddlTable
	for _, t := range h.tables {
		if ok(t) {
			c = append(c, t)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[h.rng.Intn(len(c))]
}

// newTable makes a table, in a schema of the sequence's now and then.
func (h *ddlHarness) newTable() (*ddlTable, string) {
	t := &ddlTable{name: h.name("t"), cols: []string{"id", "v"}}
	if len(h.schemas) > 0 && h.rng.Intn(2) == 0 {
		t.schema = h.schemas[h.rng.Intn(len(h.schemas))]
	}
	h.tables = append(h.tables, t)
	return t, fmt.Sprintf("CREATE TABLE %s (id INTEGER, v VARCHAR)", t.qname())
}

func (h *ddlHarness) dropTable(t *ddlTable) {
	h.tables = slices.DeleteFunc(h.tables, func(x *ddlTable) bool { return x == t })
}

func (h *ddlHarness) tablesIn(schema string) int {
	n := 0
	for _, t := range h.tables {
		if t.schema == schema {
			n++
		}
	}
	return n
}

var ddlStepKinds = []ddlStep{
	plain("create table", func(h *ddlHarness, _ *pgx.Conn) []string {
		_, s := h.newTable()
		return []string{s}
	}),
	plain("drop table", func(h *ddlHarness, _ *pgx.Conn) []string {
		t := h.pickTable(func(t *ddlTable) bool { return t.name != "py_t" && t.views == 0 })
		if t == nil {
			var s string
			t, s = h.newTable()
			h.dropTable(t)
			return []string{s, "DROP TABLE " + t.qname()}
		}
		h.dropTable(t)
		return []string{"DROP TABLE " + t.qname()}
	}),
	plain("create view", func(h *ddlHarness, _ *pgx.Conn) []string {
		t := h.pickTable(func(*ddlTable) bool { return true })
		v := ddlView{name: h.name("v"), table: t}
		t.views++
		h.views = append(h.views, v)
		return []string{fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM %s", v.name, t.qname())}
	}),
	plain("drop view", func(h *ddlHarness, _ *pgx.Conn) []string {
		if len(h.views) == 0 {
			return []string{"DROP VIEW IF EXISTS no_such_view"}
		}
		i := h.rng.Intn(len(h.views))
		v := h.views[i]
		h.views = slices.Delete(h.views, i, i+1)
		v.table.views--
		return []string{"DROP VIEW " + v.name}
	}),
	plain("create schema", func(h *ddlHarness, _ *pgx.Conn) []string {
		s := h.name("s")
		h.schemas = append(h.schemas, s)
		return []string{"CREATE SCHEMA " + s}
	}),
	plain("drop schema", func(h *ddlHarness, _ *pgx.Conn) []string {
		for i, s := range h.schemas {
			// Not one on a session's search_path, which a fresh session
			// could then not SET.
			if h.tablesIn(s) == 0 && !strings.Contains(h.a.settings["search_path"]+" "+h.a2.settings["search_path"], " "+s) {
				h.schemas = slices.Delete(h.schemas, i, i+1)
				return []string{"DROP SCHEMA " + s}
			}
		}
		s := h.name("s")
		return []string{"CREATE SCHEMA " + s, "DROP SCHEMA " + s}
	}),
	plain("add column", func(h *ddlHarness, _ *pgx.Conn) []string {
		t, pre := h.alterableTable()
		c := h.name("c")
		t.cols = append(t.cols, c)
		return append(pre, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s INTEGER", t.qname(), c))
	}),
	plain("rename", func(h *ddlHarness, _ *pgx.Conn) []string {
		t, pre := h.alterableTable()
		if h.rng.Intn(2) == 0 {
			c := h.name("c")
			old := t.cols[len(t.cols)-1]
			t.cols[len(t.cols)-1] = c
			return append(pre, fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", t.qname(), old, c))
		}
		old := t.qname()
		t.name = h.name("t")
		return append(pre, fmt.Sprintf("ALTER TABLE %s RENAME TO %s", old, t.name))
	}),
	plain("comment", func(h *ddlHarness, _ *pgx.Conn) []string {
		t := h.pickTable(func(*ddlTable) bool { return true })
		text := fmt.Sprintf("'comment %d'", h.rng.Intn(1000))
		if h.rng.Intn(3) == 0 {
			text = "NULL"
		}
		if h.rng.Intn(2) == 0 {
			return []string{fmt.Sprintf("COMMENT ON TABLE %s IS %s", t.qname(), text)}
		}
		return []string{fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", t.qname(), t.cols[h.rng.Intn(len(t.cols))], text)}
	}),
	plain("insert", func(h *ddlHarness, _ *pgx.Conn) []string {
		t := h.pickTable(func(t *ddlTable) bool { return t.name != "py_t" })
		var pre []string
		if t == nil {
			var s string
			t, s = h.newTable()
			pre = append(pre, s)
		}
		if t.rows > 0 && h.rng.Intn(3) == 0 {
			return append(pre, fmt.Sprintf("DELETE FROM %s WHERE id %% 2 = 0", t.qname()))
		}
		n := 1 + h.rng.Intn(50)
		t.rows += n
		return append(pre, fmt.Sprintf("INSERT INTO %s (%s, %s) SELECT i, 'r' || i FROM range(%d) r(i)", t.qname(), t.cols[0], t.cols[1], n))
	}),
	{kind: "session setting", run: func(h *ddlHarness, full bool) {
		// search_path changes what is visible (pg_table_is_visible,
		// current_schema()), TimeZone what SHOW answers: the session's
		// own kept answers must follow its settings.
		s := h.a
		if h.rng.Intn(2) == 0 {
			s = h.a2
		}
		var stmt string
		switch h.rng.Intn(3) {
		case 0:
			stmt = "RESET search_path"
			delete(s.settings, "search_path")
		case 1:
			stmt = "RESET search_path"
			delete(s.settings, "search_path")
			if len(h.schemas) > 0 {
				// A makes tables unqualified, in public, so public stays
				// first there; A2 makes none, so its current_schema()
				// may change.
				path := "public, " + h.schemas[h.rng.Intn(len(h.schemas))]
				if s == h.a2 {
					path = h.schemas[h.rng.Intn(len(h.schemas))] + ", public"
				}
				stmt = "SET search_path TO " + path
				s.settings["search_path"] = stmt
			}
		default:
			stmt = "SET TimeZone TO 'Europe/Paris'"
			if _, set := s.settings["timezone"]; set {
				stmt = "RESET TimeZone"
				delete(s.settings, "timezone")
			} else {
				s.settings["timezone"] = stmt
			}
		}
		label := "session setting on " + s.name + ": " + stmt
		h.exec(s.conn, label, stmt)
		h.check(label, full)
	}},
	plain("materialized view", func(h *ddlHarness, _ *pgx.Conn) []string {
		if len(h.matviews) > 0 && h.rng.Intn(2) == 0 {
			i := h.rng.Intn(len(h.matviews))
			m := h.matviews[i]
			if h.rng.Intn(2) == 0 {
				h.matviews = slices.Delete(h.matviews, i, i+1)
				m.table.views--
				return []string{"DROP MATERIALIZED VIEW " + m.name}
			}
			m.table.rows++
			return []string{
				fmt.Sprintf("INSERT INTO %s (id) VALUES (-1)", m.table.qname()),
				"REFRESH MATERIALIZED VIEW " + m.name,
			}
		}
		t := h.pickTable(func(t *ddlTable) bool { return t.name != "py_t" && t.schema == "" })
		var pre []string
		if t == nil {
			var s string
			t, s = h.newTable()
			t.schema = ""
			s = fmt.Sprintf("CREATE TABLE %s (id INTEGER, v VARCHAR)", t.name)
			pre = append(pre, s)
		}
		m := ddlView{name: h.name("mv"), table: t}
		t.views++
		h.matviews = append(h.matviews, m)
		return append(pre,
			fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS SELECT count(*) AS n FROM %s", m.name, t.qname()),
			fmt.Sprintf("INSERT INTO %s (id) VALUES (-2)", t.qname()),
			"REFRESH MATERIALIZED VIEW "+m.name)
	}),
	plain("grant or revoke", func(h *ddlHarness, _ *pgx.Conn) []string {
		t := h.pickTable(func(*ddlTable) bool { return true })
		var pre []string
		if t.schema != "" {
			// USAGE on the schema too, or the grant would change nothing visible.
			pre = append(pre, fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO analyst", t.schema))
		}
		t.granted = !t.granted
		if t.granted {
			return append(pre, fmt.Sprintf("GRANT SELECT ON %s TO analyst", t.qname()))
		}
		return append(pre, fmt.Sprintf("REVOKE SELECT ON %s FROM analyst", t.qname()))
	}),
	plain("role", func(h *ddlHarness, _ *pgx.Conn) []string {
		if len(h.roles) > 0 && h.rng.Intn(2) == 0 {
			r := h.roles[0]
			h.roles = h.roles[1:]
			return []string{"DROP ROLE " + r}
		}
		r := h.name("r")
		h.roles = append(h.roles, r)
		if h.rng.Intn(2) == 0 {
			return []string{"CREATE ROLE " + r, "GRANT " + r + " TO analyst"}
		}
		return []string{"CREATE ROLE " + r + " LOGIN"}
	}),
	{kind: "temporary table", run: func(h *ddlHarness, full bool) {
		name := h.name("tmp")
		label := "temporary table on A: CREATE TEMP TABLE " + name
		h.exec(h.a.conn, label, "CREATE TEMP TABLE "+name+" (id INTEGER, v VARCHAR)", "INSERT INTO "+name+" VALUES (1, 'x')")
		h.a.local = true
		h.check(label, full)
		h.a.local = false
		label = "temporary table on A, dropped: DROP TABLE " + name
		h.exec(h.a.conn, label, "DROP TABLE "+name)
		h.check(label, full)
	}},
	{kind: "transaction block", run: func(h *ddlHarness, full bool) {
		t, s := h.newTable()
		end := "COMMIT"
		if h.rng.Intn(2) == 0 {
			end = "ROLLBACK"
			h.dropTable(t)
		}
		label := "transaction block on A: BEGIN; " + s
		h.exec(h.a.conn, label, "BEGIN", s, fmt.Sprintf("INSERT INTO %s VALUES (1, 'x')", t.qname()))
		h.a.local = true
		h.check(label+" (inside the block)", full)
		h.a.local = false
		label += "; " + end
		h.exec(h.a.conn, label, end)
		h.check(label, full)
	}},
}

// catResult is a query's answer as text: columns and rows, or an error's
// SQLSTATE.
type catResult struct {
	code string // SQLSTATE, "" on success
	msg  string // the error's message, for the report only
	cols []string
	rows []string
}

func (r catResult) String() string {
	if r.code != "" {
		return "ERROR " + r.code + ": " + r.msg
	}
	return fmt.Sprintf("columns %v, %d rows", r.cols, len(r.rows))
}

// same says whether r and w are the same answer (errors by SQLSTATE).
func (r catResult) same(w catResult) bool {
	if r.code != "" || w.code != "" {
		return r.code == w.code
	}
	return slices.Equal(r.cols, w.cols) && slices.Equal(r.rows, w.rows)
}

// runCat runs q on conn with the simple or the extended protocol (pgx's
// default: a statement prepared once per connection and kept).
// An error that is not the server's (a broken connection) is returned.
func (h *ddlHarness) runCat(conn *pgx.Conn, q catQuery, simple bool) (catResult, error) {
	var args []any
	if simple {
		args = []any{pgx.QueryExecModeSimpleProtocol}
	}
	rows, err := conn.Query(h.ctx, q.text, args...)
	var res catResult
	if err == nil {
		for _, f := range rows.FieldDescriptions() {
			res.cols = append(res.cols, f.Name)
		}
		for rows.Next() {
			vals, verr := rows.Values()
			if verr != nil {
				err = verr
				break
			}
			var b strings.Builder
			for i, v := range vals {
				if i > 0 {
					b.WriteString(" | ")
				}
				if v == nil {
					b.WriteString("NULL")
				} else {
					fmt.Fprintf(&b, "%v", v)
				}
			}
			res.rows = append(res.rows, b.String())
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			return catResult{}, err
		}
		return catResult{code: pgErr.Code, msg: pgErr.Message}, nil
	}
	// Rows are compared as a multiset: an ORDER BY leaves ties in any
	// order (Npgsql's type query orders only by a 0-3 rank), so the order
	// of two correct answers may differ.
	slices.Sort(res.rows)
	return res, nil
}

// alterableTable picks a table that no view reads (and not the fixture),
// making one (pre, the statement to run first) when there is none.
func (h *ddlHarness) alterableTable() (t *ddlTable, pre []string) {
	if t = h.pickTable(func(t *ddlTable) bool { return t.name != "py_t" && t.views == 0 }); t != nil {
		return t, nil
	}
	t, s := h.newTable()
	return t, []string{s}
}

// check runs the queries (all when full, else a rotating quarter) on A
// and A2, twice each, and on a fresh session of each role, and reports
// every difference. A and A2 are checked at the same time, which also has
// two sessions reading the catalog at once.
func (h *ddlHarness) check(label string, full bool) {
	h.t.Helper()
	h.checks++
	var wg sync.WaitGroup
	for _, s := range []*catSession{h.a, h.a2} {
		wg.Go(func() { h.checkSession(s, label, full) })
	}
	wg.Wait()
}

func (h *ddlHarness) checkSession(s *catSession, label string, full bool) {
	var fresh *pgx.Conn
	if !s.local {
		// A startup parameter of its own: sessions started alike share
		// kept catalog answers, and the reference must be DuckDB's own.
		cfg, err := pgx.ParseConfig(s.dsn)
		if err != nil {
			h.t.Errorf("step %d: %v", h.step, err)
			return
		}
		cfg.RuntimeParams["application_name"] = fmt.Sprintf("reference-%d-%d", h.step, h.checks)
		if fresh, err = pgx.ConnectConfig(h.ctx, cfg); err != nil {
			h.t.Errorf("step %d: a fresh session as %s: %v", h.step, s.role, err)
			return
		}
		defer fresh.Close(h.ctx)
		for _, set := range slices.Sorted(maps.Values(s.settings)) {
			if _, err := fresh.Exec(h.ctx, set); err != nil {
				h.t.Errorf("step %d: a fresh session as %s: %s: %v", h.step, s.role, set, err)
				return
			}
		}
	}
	for i, q := range h.queries {
		if !full && (i+h.checks)%4 != 0 {
			continue
		}
		// Each query alternates between the protocols from check to
		// check, so both meet every kind of step.
		simple := (i+h.checks)%2 == 0
		proto := "extended"
		if simple {
			proto = "simple"
		}
		first, err1 := h.runCat(s.conn, q, simple)
		second, err2 := h.runCat(s.conn, q, simple)
		if err := errors.Join(err1, err2); err != nil {
			h.t.Errorf("step %d: %s on %s: %v", h.step, q.where, s.name, err)
			return
		}
		if s.local {
			h.compare(label, s.name+" run 2", s.name+" run 1", q, proto, second, first)
			continue
		}
		want, err := h.runCat(fresh, q, simple)
		if err != nil {
			h.t.Errorf("step %d: %s on a fresh session as %s: %v", h.step, q.where, s.role, err)
			return
		}
		h.compare(label, s.name+" run 1", "a fresh session as "+s.role, q, proto, first, want)
		h.compare(label, s.name+" run 2", "a fresh session as "+s.role, q, proto, second, want)
	}
}

func (h *ddlHarness) compare(label, gotName, wantName string, q catQuery, proto string, got, want catResult) {
	h.t.Helper()
	h.compared.Add(1)
	if got.same(want) {
		return
	}
	h.t.Errorf("step %d (%s): %s (%s protocol): %s differs from %s:\n%s\nquery:\n%s",
		h.step, label, q.where, proto, gotName, wantName, catDiff(got, want), q.text)
}

// catDiff shows how got differs from want: the error or columns, then the
// rows only one of them has.
func catDiff(got, want catResult) string {
	if got.code != "" || want.code != "" || !slices.Equal(got.cols, want.cols) {
		return fmt.Sprintf("  got:  %s\n  want: %s", got, want)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  got %d rows, want %d\n", len(got.rows), len(want.rows))
	count := map[string]int{}
	for _, r := range want.rows {
		count[r]++
	}
	for _, r := range got.rows {
		count[r]--
	}
	for _, r := range want.rows {
		if count[r] > 0 {
			fmt.Fprintf(&b, "  - %s\n", r)
			count[r]--
		}
	}
	for _, r := range got.rows {
		if count[r] < 0 {
			fmt.Fprintf(&b, "  + %s\n", r)
			count[r]++
		}
	}
	return b.String()
}
