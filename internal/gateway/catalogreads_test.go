package gateway

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/pgcatalog"
	"github.com/sluice-db/sluice/wire"
)

// A catalog read's answer is kept and replayed, and every kind of change
// its rows depend on, made by the session itself or by another, is seen by
// the next run: the replay never answers what DuckDB would not.
func TestCatalogReadsKept(t *testing.T) {
	g := openGateway(t)
	s, other := newTestSession(t, g), newTestSession(t, g)
	rows := func(s *session, q string) []string { return query(t, s, q) }
	// kept runs q twice on s; the second must be a replay, and both the
	// answer a new session gets from DuckDB.
	kept := func(q string, want ...string) {
		t.Helper()
		first := rows(s, q)
		if !slices.Equal(first, want) {
			t.Fatalf("%s: got %q, want %q", q, first, want)
		}
		key, _ := answerText(pgcatalog.Resolve(q), nil, nil)
		if s.answerFor(key, s.answerKey()) == nil {
			t.Fatalf("%s: no answer kept", q)
		}
		if again := rows(s, q); !slices.Equal(again, want) {
			t.Fatalf("%s replayed: got %q, want %q", q, again, want)
		}
		if fresh := rows(newTestSession(t, g), q); !slices.Equal(fresh, want) {
			t.Fatalf("%s on a new session: got %q, want %q", q, fresh, want)
		}
	}
	notKept := func(q string) {
		t.Helper()
		rows(s, q)
		key, _ := answerText(pgcatalog.Resolve(q), nil, nil)
		if s.answerFor(key, s.answerKey()) != nil {
			t.Fatalf("%s: answer kept", q)
		}
	}

	tables := `SELECT relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') ORDER BY 1`
	kept(tables)
	rows(other, "CREATE TABLE ck_a (id INTEGER)") // another session's DDL
	kept(tables, "ck_a")
	rows(s, "CREATE VIEW ck_v AS SELECT 1 AS x") // the session's own
	kept(tables, "ck_a", "ck_v")

	// A transaction block: its own DDL is seen inside it, and is gone
	// after ROLLBACK.
	rows(s, "BEGIN")
	rows(s, "CREATE TABLE ck_tx (id INTEGER)")
	for range 2 { // not kept while the block holds DDL
		if got := rows(s, tables); !slices.Equal(got, []string{"ck_a", "ck_tx", "ck_v"}) {
			t.Fatalf("in the block: got %q", got)
		}
		notKept(tables)
	}
	rows(s, "ROLLBACK")
	kept(tables, "ck_a", "ck_v")

	// A transaction block reads one snapshot: another session's DDL
	// committed meanwhile is not seen in it, and is once the block ends.
	// (What the block read must not be kept under the state after that
	// DDL.)
	rows(s, "BEGIN")
	if got := rows(s, tables); !slices.Equal(got, []string{"ck_a", "ck_v"}) {
		t.Fatalf("in the block: got %q", got)
	}
	rows(other, "CREATE TABLE ck_b (id INTEGER)")
	for range 2 {
		if got := rows(s, tables); !slices.Equal(got, []string{"ck_a", "ck_v"}) {
			t.Fatalf("in the block after another session's CREATE: got %q", got)
		}
	}
	rows(s, "COMMIT")
	kept(tables, "ck_a", "ck_b", "ck_v")

	// Table data: DuckDB's row counts (pg_class.reltuples) move with
	// INSERT and DELETE from any session, which the catalog does not see.
	counts := `SELECT relname, reltuples FROM pg_class WHERE relname = 'ck_a'`
	kept(counts, "ck_a 0")
	rows(other, "INSERT INTO ck_a SELECT * FROM range(5)")
	kept(counts, "ck_a 5")

	// Comments, columns, renames.
	desc := `SELECT obj_description('ck_a'::regclass, 'pg_class')`
	kept(desc, "(null)")
	rows(other, "COMMENT ON TABLE ck_a IS 'the a table'")
	kept(desc, "the a table")
	cols := `SELECT attname FROM pg_attribute WHERE attrelid = 'ck_a'::regclass AND attnum > 0 ORDER BY attnum`
	kept(cols, "id")
	rows(other, "ALTER TABLE ck_a ADD COLUMN name VARCHAR")
	kept(cols, "id", "name")

	// Temporary objects are the session's: seen by it at once.
	temps := `SELECT count(*) FROM information_schema.tables WHERE table_name = 'ck_tmp'`
	kept(temps, "0")
	rows(s, "CREATE TEMP TABLE ck_tmp (x INTEGER)")
	if got := rows(s, temps); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("temporary table: got %q", got)
	}

	// Not catalog reads: a function of time, a user's table, and a
	// catalog name taken by a relation of public (unqualified names
	// resolve there first).
	notKept(`SELECT now() > '2000-01-01', count(*) FROM pg_class`)
	notKept(`SELECT count(*) FROM pg_class, ck_a`)
	notKept(`SELECT pg_relation_size('ck_a'::regclass) >= 0`)
	rows(other, "CREATE TABLE pg_am (amname VARCHAR)")
	notKept(`SELECT count(*) FROM pg_am`)
	kept(`SELECT count(*) FROM pg_catalog.pg_am`, "2")
}

// For a role that is not a superuser, a kept catalog read follows GRANT
// and REVOKE from another session at once: the relations it may see
// listed, and whether it may run the query at all.
func TestCatalogReadsFollowPrivileges(t *testing.T) {
	g := openGateway(t)
	admin := newTestSession(t, g)
	run := func(s *session, q string) ([]string, error) {
		r := &recorder{}
		err := s.SimpleQuery(t.Context(), q, r)
		return r.rows, err
	}
	must := func(s *session, q string) []string {
		t.Helper()
		r, err := run(s, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return r
	}
	must(admin, "CREATE ROLE ck_reader LOGIN")
	must(admin, "CREATE TABLE ck_secret (id INTEGER)")
	ws, err := g.NewSession(t.Context(), wire.StartupInfo{User: "ck_reader", Database: DatabaseName})
	if err != nil {
		t.Fatal(err)
	}
	reader := ws.(*session)
	t.Cleanup(func() { reader.Close() })

	// The session's role, as PostgreSQL names it (DuckDB's own functions
	// answer "duckdb").
	for _, c := range []struct {
		s    *session
		want string
	}{{admin, "sluice"}, {reader, "ck_reader"}} {
		for range 2 {
			got := must(c.s, `SELECT current_user, session_user, user, current_role, current_user(), (SELECT count(*) FROM pg_roles WHERE rolname = current_user)`)
			if want := strings.Repeat(c.want+" ", 5) + "1"; len(got) != 1 || got[0] != want {
				t.Fatalf("as %s: got %q, want %q", c.want, got, want)
			}
		}
	}
	if got := must(admin, `SELECT CASE WHEN has_table_privilege(current_user, 'pg_catalog.pg_class', 'select') THEN 'yes' ELSE 'no' END`); !slices.Equal(got, []string{"yes"}) {
		t.Fatalf("has_table_privilege(current_user, ...) for the superuser: %q", got)
	}

	listed := `SELECT relname FROM pg_class WHERE relname = 'ck_secret'`
	for range 2 {
		if got := must(reader, listed); len(got) != 0 {
			t.Fatalf("listed without a privilege: %q", got)
		}
	}
	must(admin, "GRANT SELECT ON ck_secret TO ck_reader")
	for range 2 {
		if got := must(reader, listed); !slices.Equal(got, []string{"ck_secret"}) {
			t.Fatalf("after GRANT: %q", got)
		}
	}
	must(admin, "REVOKE SELECT ON ck_secret FROM ck_reader")
	if got := must(reader, listed); len(got) != 0 {
		t.Fatalf("after REVOKE: %q", got)
	}

	// A catalog query that reads a table the role may not: refused the
	// first time and every time after, never replayed.
	q := `SELECT count(*) FROM pg_class, ck_secret`
	for range 2 {
		if _, err := run(reader, q); pgerr.As(err).Code != "42501" {
			t.Fatalf("%s: got %v, want 42501", q, err)
		}
	}
	if _, err := run(reader, "SELECT 1"); err != nil {
		t.Fatalf("session unusable after the refusals: %v", err)
	}
}

// An answer larger than maxAnswerBytes is not kept; the rows still
// arrive in full.
func TestCatalogReadTooLargeNotKept(t *testing.T) {
	g := openGateway(t)
	s := newTestSession(t, g)
	// pg_attribute of a table with many long column names.
	var cols []string
	for i := range 1500 {
		cols = append(cols, "c"+strings.Repeat("x", 50)+"_"+strconv.Itoa(i)+" INTEGER")
	}
	r := &recorder{}
	if err := s.SimpleQuery(t.Context(), "CREATE TABLE ck_wide ("+strings.Join(cols, ", ")+")", r); err != nil {
		t.Fatal(err)
	}
	q := `SELECT a.attname, repeat(a.attname, 20) FROM pg_attribute a WHERE a.attrelid = 'ck_wide'::regclass AND a.attnum > 0`
	for range 2 {
		r := &recorder{}
		if err := s.SimpleQuery(t.Context(), q, r); err != nil {
			t.Fatal(err)
		}
		if len(r.rows) != 1500 {
			t.Fatalf("%d rows, want 1500", len(r.rows))
		}
	}
	key, _ := answerText(pgcatalog.Resolve(q), nil, nil)
	if _, ok := s.answers[key]; ok {
		t.Fatalf("an answer of over %d bytes was kept", maxAnswerBytes)
	}
}

// Sessions started alike (role and startup parameters) share catalog
// reads' answers until one changes its own state; a session of another
// role, or one that ran SET, or one in a transaction block, does not.
func TestCatalogReadsShared(t *testing.T) {
	g := openGateway(t)
	run := func(s *session, q string) []string { return query(t, s, q) }
	q := `SELECT relname FROM pg_class WHERE relname LIKE 'sh_%' ORDER BY 1`
	key, _ := answerText(pgcatalog.Resolve(q), nil, nil)
	sharedFor := func(s *session) bool { return s.answerFor(key, s.answerKey()) != nil }

	admin := newTestSession(t, g)
	run(admin, "CREATE ROLE sh_reader LOGIN")
	run(admin, "CREATE TABLE sh_t (id INTEGER)")
	a := newTestSession(t, g)
	if got := run(a, q); !slices.Equal(got, []string{"sh_t"}) {
		t.Fatalf("got %q", got)
	}
	b := newTestSession(t, g)
	if len(b.answers) != 0 || !sharedFor(b) {
		t.Fatal("a session started alike does not get the shared answer")
	}
	if got := run(b, q); !slices.Equal(got, []string{"sh_t"}) {
		t.Fatalf("shared replay: got %q", got)
	}

	// Parse, Bind, Execute of the same text on a new session: described
	// and answered from the shared answer, without preparing it in DuckDB.
	x := newTestSession(t, g)
	st, err := x.Prepare(t.Context(), q, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.(*statement).prep != nil || len(st.Columns()) != 1 || st.Columns()[0].Name != "relname" {
		t.Fatalf("Parse with a shared answer: prep %v, columns %+v", st.(*statement).prep, st.Columns())
	}
	pt, err := st.Bind(t.Context(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	if _, err := pt.Execute(t.Context(), r, 0); err != nil || !slices.Equal(r.rows, []string{"sh_t"}) {
		t.Fatalf("Execute: %q, %v", r.rows, err)
	}
	pt.Close()
	// Still right once the answer is stale: the text runs in DuckDB.
	run(admin, "CREATE TABLE sh_w (id INTEGER)")
	pt, err = st.Bind(t.Context(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r = &recorder{}
	if _, err := pt.Execute(t.Context(), r, 0); err != nil || !slices.Equal(r.rows, []string{"sh_t", "sh_w"}) {
		t.Fatalf("Execute after CREATE: %q, %v", r.rows, err)
	}
	pt.Close()
	st.Close()
	run(admin, "DROP TABLE sh_w")

	// A change anywhere: the next session's answer is DuckDB's again.
	run(admin, "CREATE TABLE sh_u (id INTEGER)")
	c := newTestSession(t, g)
	if sharedFor(c) {
		t.Fatal("a shared answer outlived a CREATE")
	}
	if got := run(c, q); !slices.Equal(got, []string{"sh_t", "sh_u"}) {
		t.Fatalf("after CREATE: got %q", got)
	}

	// Another role: its own answers (it may list nothing here).
	ws, err := g.NewSession(t.Context(), wire.StartupInfo{User: "sh_reader", Database: DatabaseName})
	if err != nil {
		t.Fatal(err)
	}
	reader := ws.(*session)
	t.Cleanup(func() { reader.Close() })
	if sharedFor(reader) {
		t.Fatal("a session of another role got the superuser's answer")
	}
	if got := run(reader, q); len(got) != 0 {
		t.Fatalf("the reader lists %q without privileges", got)
	}

	// A session that ran SET, or is in a block, neither uses nor adds.
	d := newTestSession(t, g)
	run(d, "SET application_name = 'x'")
	if sharedFor(d) {
		t.Fatal("a session that ran SET got the shared answer")
	}
	e := newTestSession(t, g)
	run(e, "BEGIN")
	if sharedFor(e) {
		t.Fatal("a session in a transaction block got the shared answer")
	}
	run(admin, "CREATE TABLE sh_v (id INTEGER)")
	run(e, q) // DuckDB, in e's block; not shared
	if f := newTestSession(t, g); sharedFor(f) {
		t.Fatal("an answer read in a transaction block was shared")
	}
	run(e, "COMMIT")
}

// Parameter values are kept apart however they are split: a value may
// hold the key's separator.
func TestAnswerTextParameters(t *testing.T) {
	a, _ := answerText("q", []uint32{25, 25}, []any{"x\x00sy", "z"})
	b, _ := answerText("q", []uint32{25, 25}, []any{"x", "y\x00sz"})
	if a == b {
		t.Fatalf("two splits of the values share the key %q", a)
	}
	if _, ok := answerText("q", nil, []any{struct{}{}}); ok {
		t.Fatal("a value of a kind not encoded was keyed")
	}
}
