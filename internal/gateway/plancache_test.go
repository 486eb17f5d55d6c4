//go:build duckdb_arrow

package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/wire"
)

// recorder is a wire.ResultWriter that keeps what it is sent as text.
type recorder struct {
	cols []pgcodec.Column
	rows []string
	tags []string
}

func (r *recorder) Columns(cols []pgcodec.Column) error { r.cols = cols; return nil }

func (r *recorder) Rows(rec arrow.RecordBatch) error {
	for i := range int(rec.NumRows()) {
		vals := make([]string, rec.NumCols())
		for j := range vals {
			vals[j] = rec.Column(j).ValueStr(i)
		}
		// Values may point into the batch, which DuckDB reuses: copy.
		r.rows = append(r.rows, strings.Clone(strings.Join(vals, " ")))
	}
	return nil
}

func (r *recorder) Complete(tag string) error            { r.tags = append(r.tags, tag); return nil }
func (r *recorder) EmptyQuery() error                    { return nil }
func (r *recorder) Notice(*pgerr.Error) error            { return nil }
func (r *recorder) ParameterStatus(string, string) error { return nil }
func (r *recorder) CopyOut([]pgcodec.Column, pgcodec.CopyOptions) error {
	return errors.New("recorder: no COPY")
}
func (r *recorder) CopyIn(int, pgcodec.CopyFormat) (io.Reader, error) {
	return nil, errors.New("recorder: no COPY")
}

// openGateway opens a gateway on a temporary data directory.
func openGateway(t *testing.T) *Gateway {
	t.Helper()
	g, err := Open(t.Context(), Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func newTestSession(t *testing.T, g *Gateway) *session {
	t.Helper()
	ws, err := g.NewSession(t.Context(), wire.StartupInfo{User: "sluice", Database: DatabaseName})
	if err != nil {
		t.Fatal(err)
	}
	s := ws.(*session)
	t.Cleanup(func() { s.Close() })
	return s
}

// query runs a simple-protocol query and returns its rows, one string each.
func query(t *testing.T, s *session, q string) []string {
	t.Helper()
	var r recorder
	if err := s.SimpleQuery(t.Context(), q, &r); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r.rows
}

// keptPrep returns the prepared statement kept for a simple query, or nil.
func keptPrep(s *session, q string) *engine.Stmt {
	if p, ok := s.plans.plans[planKey{query: q}]; ok {
		return p.prep
	}
	return nil
}

func TestPlanCacheKeepsQueries(t *testing.T) {
	s := newTestSession(t, openGateway(t))
	ctx := t.Context()
	query(t, s, "CREATE TABLE kq (id INTEGER, v VARCHAR)")
	query(t, s, "INSERT INTO kq VALUES (1, 'one')")

	const q = "SELECT id, v FROM kq"
	if got := query(t, s, q); !slices.Equal(got, []string{"1 one"}) {
		t.Fatalf("first run: %q", got)
	}
	first := keptPrep(s, q)
	if first == nil {
		t.Fatal("query not kept")
	}
	query(t, s, "INSERT INTO kq VALUES (2, 'two')")
	if got := query(t, s, q); !slices.Equal(got, []string{"1 one", "2 two"}) {
		t.Fatalf("second run: %q", got)
	}
	if keptPrep(s, q) != first {
		t.Fatal("second run prepared the query again")
	}

	// Parse of the same text without parameter types takes the kept plan;
	// with types it is another plan.
	st, err := s.Prepare(ctx, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.(*statement).prep != first || keptPrep(s, q) != nil {
		t.Fatal("Parse did not take the kept plan")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if keptPrep(s, q) != first {
		t.Fatal("closing the statement did not return the plan")
	}
	const pq = "SELECT v FROM kq WHERE id = $1"
	st1, err := s.Prepare(ctx, pq, []uint32{pgcodec.Int8OID})
	if err != nil {
		t.Fatal(err)
	}
	st2, err := s.Prepare(ctx, pq, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := st1.ParamOIDs(); !slices.Equal(got, []uint32{pgcodec.Int8OID}) {
		t.Fatalf("declared parameter types: %v", got)
	}
	if got := st2.ParamOIDs(); !slices.Equal(got, []uint32{pgcodec.Int4OID}) {
		t.Fatalf("inferred parameter types: %v", got)
	}
	st1.Close()
	st2.Close()
	if s.plans.len() != 3 {
		t.Fatalf("%d plans kept, want 3", s.plans.len())
	}
	if _, ok := s.plans.plans[newPlanKey(pq, []uint32{pgcodec.Int8OID})]; !ok {
		t.Fatal("the plan with declared types is not kept under its types")
	}

	// What is never kept.
	for _, q := range []string{
		"INSERT INTO kq VALUES (3, 'three')",
		"WITH n AS (SELECT 4 AS id) INSERT INTO kq SELECT id, 'four' FROM n",
		"BEGIN", "SELECT 1; SELECT 2", "COMMIT",
		"SET TimeZone = 'UTC'", "SHOW TRANSACTION ISOLATION LEVEL",
		"EXPLAIN SELECT 1", "CREATE VIEW kv AS SELECT 1",
	} {
		query(t, s, q)
		if keptPrep(s, q) != nil {
			t.Errorf("%s: kept", q)
		}
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.plans.len() != 0 {
		t.Fatal("closing the session left plans")
	}
	if _, err := first.Run(ctx); pgerr.As(err).Code != "26000" {
		t.Fatalf("kept statement not closed with the session: %v", err)
	}
}

// The state a plan was bound in: the catalog's generation (here a view
// over no table, which DuckDB itself does not bind again when it is
// replaced), the session's epoch (DuckDB's default schema), a transaction
// block's DDL, committed in another session or rolled back.
func TestPlanCacheInvalidation(t *testing.T) {
	g := openGateway(t)
	a, b := newTestSession(t, g), newTestSession(t, g)
	query(t, a, "CREATE VIEW iv AS SELECT 'v1' AS k")
	const q = "SELECT k FROM iv"
	if got := query(t, b, q); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("got %q", got)
	}
	query(t, a, "CREATE OR REPLACE VIEW iv AS SELECT 'v2' AS k")
	if got := query(t, b, q); !slices.Equal(got, []string{"v2"}) {
		t.Fatalf("after CREATE OR REPLACE VIEW in another session: %q", got)
	}

	// Committed later than it ran: b prepares (and keeps) the committed
	// definition after the generation moved for a's DDL.
	query(t, a, "BEGIN")
	query(t, a, "CREATE OR REPLACE VIEW iv AS SELECT 'v3' AS k")
	if got := query(t, b, q); !slices.Equal(got, []string{"v2"}) {
		t.Fatalf("uncommitted view seen: %q", got)
	}
	query(t, a, "COMMIT")
	if got := query(t, b, q); !slices.Equal(got, []string{"v3"}) {
		t.Fatalf("after COMMIT in another session: %q", got)
	}

	// Rolled back: a's own plan saw the definition of its transaction.
	query(t, a, "BEGIN")
	query(t, a, "CREATE OR REPLACE VIEW iv AS SELECT 'v4' AS k")
	if got := query(t, a, q); !slices.Equal(got, []string{"v4"}) {
		t.Fatalf("in the transaction: %q", got)
	}
	query(t, a, "ROLLBACK")
	if got := query(t, a, q); !slices.Equal(got, []string{"v3"}) {
		t.Fatalf("after ROLLBACK: %q", got)
	}

	// A setting the session keeps, read by current_setting().
	const q3 = "SELECT current_setting('application_name')"
	query(t, a, "SET application_name = 'one'")
	if got := query(t, a, q3); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("got %q", got)
	}
	query(t, a, "SET application_name = 'two'")
	if got := query(t, a, q3); !slices.Equal(got, []string{"two"}) {
		t.Fatalf("after SET: %q", got)
	}

	// DuckDB's default schema is the session's. (Last: SET schema also
	// sets DuckDB's search_path, which then misses the overlay schema.)
	query(t, a, "CREATE SCHEMA other")
	query(t, a, "CREATE TABLE other.iv2 AS SELECT 'other' AS k")
	query(t, a, "CREATE TABLE iv2 AS SELECT 'public' AS k")
	const q2 = "SELECT k FROM iv2"
	if got := query(t, a, q2); !slices.Equal(got, []string{"public"}) {
		t.Fatalf("got %q", got)
	}
	query(t, a, "SET schema = 'other'")
	if got := query(t, a, q2); !slices.Equal(got, []string{"other"}) {
		t.Fatalf("after SET schema: %q", got)
	}
}

// A run that fails closes the plan: the next run prepares the text again.
func TestPlanCacheFailedRunIsNotKept(t *testing.T) {
	s := newTestSession(t, openGateway(t))
	query(t, s, "CREATE TABLE fr (s VARCHAR)")
	query(t, s, "INSERT INTO fr VALUES ('1')")
	const q = "SELECT CAST(s AS INTEGER) FROM fr"
	query(t, s, q)
	if keptPrep(s, q) == nil {
		t.Fatal("not kept")
	}
	query(t, s, "INSERT INTO fr VALUES ('x')")
	err := s.SimpleQuery(t.Context(), q, &recorder{})
	if pgerr.As(err).Code != "22P02" {
		t.Fatalf("got %v, want 22P02", err)
	}
	if s.plans.len() != 0 {
		t.Fatal("the plan that failed is still kept")
	}

	// In a failed transaction block, a kept query is refused as any
	// statement is, and stays kept.
	query(t, s, "DELETE FROM fr WHERE s = 'x'")
	query(t, s, q)
	query(t, s, "BEGIN")
	if err := s.SimpleQuery(t.Context(), "SELECT * FROM fr_missing", &recorder{}); pgerr.As(err).Code != "42P01" {
		t.Fatalf("got %v, want 42P01", err)
	}
	for _, parse := range []bool{false, true} {
		var err error
		if parse {
			var st wire.Statement
			if st, err = s.Prepare(t.Context(), q, nil); err == nil {
				var pt wire.Portal
				if pt, err = st.Bind(t.Context(), nil, nil); err == nil {
					_, err = pt.Execute(t.Context(), &recorder{}, 0)
					pt.Close()
				}
				st.Close()
			}
		} else {
			err = s.SimpleQuery(t.Context(), q, &recorder{})
		}
		if pgerr.As(err).Code != "25P02" {
			t.Fatalf("parse %v: got %v, want 25P02", parse, err)
		}
	}
	query(t, s, "ROLLBACK")
	if got := query(t, s, q); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("got %q", got)
	}
}

// A plan in use by a statement's portal is not in the cache: a suspended
// portal keeps its rows after its statement is closed, and another Parse
// of the text prepares its own plan.
func TestPlanCachePortalsDoNotShare(t *testing.T) {
	s := newTestSession(t, openGateway(t))
	ctx := t.Context()
	const q = "SELECT i FROM range(5) t(i)"
	query(t, s, q)
	kept := keptPrep(s, q)

	open := func() (wire.Statement, wire.Portal, *recorder) {
		t.Helper()
		st, err := s.Prepare(ctx, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := st.Bind(ctx, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var r recorder
		if suspended, err := pt.Execute(ctx, &r, 2); err != nil || !suspended {
			t.Fatalf("Execute: %v %v", suspended, err)
		}
		return st, pt, &r
	}
	st1, pt1, r1 := open()
	if st1.(*statement).prep != kept {
		t.Fatal("Parse did not take the kept plan")
	}
	st1.Close() // as a new unnamed Parse would
	if s.plans.len() != 0 {
		t.Fatal("the plan of an open portal is back in the cache")
	}
	if suspended, err := pt1.Execute(ctx, r1, 0); err != nil || suspended {
		t.Fatalf("Execute: %v %v", suspended, err)
	}
	if got := strings.Join(r1.rows, ","); got != "0,1,2,3,4" || !slices.Equal(r1.tags, []string{"SELECT 5"}) {
		t.Fatalf("portal rows %q, tags %q", got, r1.tags)
	}
	pt1.Close()
	if keptPrep(s, q) != kept {
		t.Fatal("closing the last portal did not return the plan")
	}

	// (Preparing the second statement ends the first portal's rows: a
	// DuckDB connection streams one result at a time.)
	st1, pt1, _ = open()
	st2, err := s.Prepare(ctx, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st2.(*statement).prep == kept {
		t.Fatal("a second Parse shares the plan of an open portal")
	}
	pt1.Close()
	st1.Close()
	st2.Close() // the text is kept already: st2's plan is closed
	if s.plans.len() != 1 || keptPrep(s, q) != kept {
		t.Fatal("the cache changed")
	}
}

// Results through a kept plan are those of the first run: columns, rows,
// tag, and what Parse describes.
func TestPlanCacheSameResults(t *testing.T) {
	g := openGateway(t)
	s := newTestSession(t, g)
	query(t, s, "CREATE TABLE sr (i INTEGER, d DECIMAL(10,2), t TIMESTAMP, b BLOB, j JSON, u UUID)")
	query(t, s, "INSERT INTO sr VALUES (1, 2.50, TIMESTAMP '2024-11-14 08:30:00', '\\xAB'::BLOB, '{\"a\":1}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')")
	for _, q := range []string{
		"SELECT * FROM sr",
		"  select i, d * 2 AS twice, t::DATE AS day FROM sr -- comment",
		"VALUES (1, 'a'), (2, 'b')",
		"WITH x AS (SELECT 1 AS a) SELECT a, a + 1 FROM x",
		"FROM sr SELECT j, u",
		"SHOW MATERIALIZED VIEWS",
		"SELECT relname FROM pg_class WHERE relname = 'sr'",
	} {
		var runs [2]recorder
		for i := range runs {
			if err := s.SimpleQuery(t.Context(), q, &runs[i]); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if keptPrep(s, q) == nil {
			t.Errorf("%s: not kept", q)
		}
		if describe(runs[0]) != describe(runs[1]) {
			t.Errorf("%s:\nfirst  %s\nsecond %s", q, describe(runs[0]), describe(runs[1]))
		}
		fresh := newTestSession(t, g)
		want, err := fresh.Prepare(t.Context(), q, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Prepare(t.Context(), q, nil)
		if err != nil {
			t.Fatal(err)
		}
		gotDesc := fmt.Sprint(got.ParamOIDs(), describe(recorder{cols: got.Columns()}))
		wantDesc := fmt.Sprint(want.ParamOIDs(), describe(recorder{cols: want.Columns()}))
		if gotDesc != wantDesc {
			t.Errorf("%s: Parse describes %s, want %s", q, gotDesc, wantDesc)
		}
		got.Close()
		want.Close()
	}
}

// describe is what a recorder got, as text.
func describe(r recorder) string {
	var b strings.Builder
	for _, c := range r.cols {
		typ := "<nil>"
		if c.Type != nil {
			typ = c.Type.String()
		}
		fmt.Fprintf(&b, "%s:%d:%d:%d:%s ", c.Name, c.OID, c.TypeSize, c.TypeMod, typ)
	}
	fmt.Fprintf(&b, "%q %q", r.rows, r.tags)
	return b.String()
}

func TestPlanCacheBound(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	newPlan := func(q string) *plan {
		prep, err := conn.Prepare(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return &plan{key: planKey{query: q}, text: q, prep: prep}
	}
	closed := func(p *plan) bool {
		_, err := p.prep.Run(ctx)
		return err != nil && pgerr.As(err).Code == "26000"
	}
	c := newPlanCache(2)
	p1, p2, p3 := newPlan("SELECT 1"), newPlan("SELECT 2"), newPlan("SELECT 3")
	c.put(p1)
	c.put(p2)
	if c.take(p1.key) != p1 { // p1 is now the most recently used
		t.Fatal("take")
	}
	c.put(p1)
	c.put(p3)
	if c.len() != 2 || !closed(p2) || closed(p1) || closed(p3) {
		t.Fatal("the least recently used plan was not the one evicted")
	}
	dup := newPlan("SELECT 3")
	c.put(dup)
	if !closed(dup) || c.take(p3.key) != p3 {
		t.Fatal("a second plan for a kept key replaced the first")
	}
	c.put(p3)
	c.close()
	if c.len() != 0 || !closed(p1) || !closed(p3) {
		t.Fatal("close left plans open")
	}
	late := newPlan("SELECT 4")
	c.put(late)
	if c.len() != 0 || !closed(late) {
		t.Fatal("a plan put after close was kept")
	}

	// Evicting (closing) a plan leaves other statements' rows open.
	streaming, evicted := newPlan("SELECT i FROM range(100000) t(i)"), newPlan("SELECT 5")
	res, err := streaming.prep.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evicted.close()
	n := 0
	for res.Rows.Next() {
		n += int(res.Rows.Batch().NumRows())
	}
	if err := res.Rows.Close(); err != nil || n != 100000 {
		t.Fatalf("rows of another statement: %d, %v", n, err)
	}
	streaming.close()

	// A session keeps at most planCacheSize.
	s := newTestSession(t, openGateway(t))
	for i := range planCacheSize + 6 {
		query(t, s, fmt.Sprintf("SELECT %d", i))
	}
	if s.plans.len() != planCacheSize || keptPrep(s, "SELECT 0") != nil || keptPrep(s, fmt.Sprintf("SELECT %d", planCacheSize+5)) == nil {
		t.Fatalf("%d plans kept, want the last %d", s.plans.len(), planCacheSize)
	}
}

// Through the wire, with unnamed statements Parsed for each query (pgx's
// exec and describe-exec modes) as well as the simple protocol: a
// materialized view refreshed and a view replaced are seen at once.
func TestPlanCacheOverTheWire(t *testing.T) {
	g := openGateway(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, wire.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	ctx := t.Context()
	c, err := pgx.Connect(ctx, "postgres://sluice@"+l.Addr().String()+"/sluice?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	exec := func(q string) {
		t.Helper()
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE ow (id INTEGER)")
	exec("INSERT INTO ow VALUES (1)")
	exec("CREATE MATERIALIZED VIEW ow_mv AS SELECT count(*) AS n, max(id) AS top FROM ow")
	exec("CREATE VIEW ow_v AS SELECT 1 AS k")
	modes := []pgx.QueryExecMode{pgx.QueryExecModeExec, pgx.QueryExecModeDescribeExec, pgx.QueryExecModeSimpleProtocol}
	check := func(wantN, wantTop, wantK int64) {
		t.Helper()
		for _, mode := range modes {
			for range 2 { // the second run is the kept plan's
				var n, top int64
				if err := c.QueryRow(ctx, "SELECT n, top FROM ow_mv WHERE n > $1", mode, 0).Scan(&n, &top); err != nil {
					t.Fatalf("%v: %v", mode, err)
				}
				var k int64
				if err := c.QueryRow(ctx, "SELECT k FROM ow_v", mode).Scan(&k); err != nil {
					t.Fatalf("%v: %v", mode, err)
				}
				if n != wantN || top != wantTop || k != wantK {
					t.Fatalf("%v: got %d %d %d, want %d %d %d", mode, n, top, k, wantN, wantTop, wantK)
				}
			}
		}
	}
	check(1, 1, 1)
	exec("INSERT INTO ow VALUES (7)")
	check(1, 1, 1)
	exec("REFRESH MATERIALIZED VIEW ow_mv")
	exec("CREATE OR REPLACE VIEW ow_v AS SELECT 2 AS k")
	check(2, 7, 2)

	// An error keeps its SQLSTATE and position through a kept plan.
	exec("CREATE TABLE ow_s (s VARCHAR)")
	exec("INSERT INTO ow_s VALUES ('1')")
	const bad = "SELECT CAST(s AS INTEGER) + nosuch FROM ow_s"
	for _, mode := range modes {
		_, err := c.Exec(ctx, bad, mode)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42703" || pe.Position != 29 {
			t.Fatalf("%v: got %v", mode, err)
		}
	}
}

// A suspended portal whose result another statement ended reports an
// error with a SQLSTATE when resumed, never a short result or a crash, and
// the session goes on.
func TestSuspendedPortalPreempted(t *testing.T) {
	s := newTestSession(t, openGateway(t))
	ctx := t.Context()
	st, err := s.Prepare(ctx, "SELECT i FROM range(100000) t(i)", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pt, err := st.Bind(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pt.Close()
	var r recorder
	if suspended, err := pt.Execute(ctx, &r, 10); err != nil || !suspended {
		t.Fatalf("Execute: %v %v", suspended, err)
	}
	if got := query(t, s, "SELECT 42"); strings.Join(got, ",") != "42" {
		t.Fatalf("other statement: %v", got)
	}
	_, err = pt.Execute(ctx, &r, 0)
	if code := pgerr.Code(err); code != "0A000" {
		t.Fatalf("resumed portal: %v (SQLSTATE %s), want 0A000", err, code)
	}
	if len(r.tags) != 0 {
		t.Fatalf("the portal completed with %v after its result ended", r.tags)
	}
	if got := query(t, s, "SELECT 7"); strings.Join(got, ",") != "7" {
		t.Fatalf("session after: %v", got)
	}
}
