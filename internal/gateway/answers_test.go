//go:build duckdb_arrow

package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/wire"
)

// answerCorpus are constant queries (sql.IsConstantQuery), answered from
// the session's kept answers once DuckDB has answered them.
var answerCorpus = []string{
	"SELECT 1", "SELECT 1 AS a", "SELECT -1", "SELECT 2147483648", "SELECT 9223372036854775808", "SELECT 1.5",
	"SELECT 1e10", "SELECT 'x'", "SELECT 'x'::text", "SELECT 'xyz'::varchar(3)", "SELECT true, false, NULL",
	"SELECT NULL::int", "SELECT 1::bigint, 2::smallint, '3'::int2", "SELECT 1.25::numeric(10,2)",
	"SELECT '1.5'::double precision", "SELECT 1::float4", "SELECT 'a' AS \"Mixed Case\"", "SELECT E'a\\nb'",
	"SELECT $$dollar$$", "SELECT 1, 2, 3", "SELECT 1 x", "SELECT 'x'::bpchar", "SELECT 100::hugeint",
	"SELECT 1::decimal", "SELECT ''", "SELECT 0.1::real", "SELECT 1_000", "SELECT 'a'::character varying",
	"SELECT '12'::int::text", "SELECT 1;",
	// Errors are never kept: each run asks DuckDB again, and answers the same.
	"SELECT 'x'::int", "SELECT 99999::int2", "SELECT 0x1F",
}

// answerResult is what the client saw of one statement.
type answerResult struct {
	fields []pgconn.FieldDescription
	rows   [][][]byte
	tag    string
	code   string
}

func (r answerResult) String() string {
	return fmt.Sprintf("fields %+v rows %q tag %q error %q", r.fields, r.rows, r.tag, r.code)
}

func sameResult(a, b answerResult) bool {
	return slices.Equal(a.fields, b.fields) && a.tag == b.tag && a.code == b.code &&
		slices.EqualFunc(a.rows, b.rows, func(x, y [][]byte) bool {
			return slices.EqualFunc(x, y, func(p, q []byte) bool { return (p == nil) == (q == nil) && string(p) == string(q) })
		})
}

// answerModes run a statement as a client would: the simple protocol, and
// the extended one (Parse, Bind, Describe, Execute, Sync) with text and
// with binary results.
var answerModes = map[string]func(ctx context.Context, c *pgconn.PgConn, q string) answerResult{
	"simple": func(ctx context.Context, c *pgconn.PgConn, q string) answerResult {
		res, err := c.Exec(ctx, q).ReadAll()
		if err != nil {
			return answerResult{code: errCode(err)}
		}
		r := res[len(res)-1]
		return answerResult{fields: r.FieldDescriptions, rows: r.Rows, tag: r.CommandTag.String()}
	},
	"text": func(ctx context.Context, c *pgconn.PgConn, q string) answerResult {
		r := c.ExecParams(ctx, q, nil, nil, nil, []int16{0}).Read()
		return answerResult{fields: r.FieldDescriptions, rows: r.Rows, tag: r.CommandTag.String(), code: errCode(r.Err)}
	},
	"binary": func(ctx context.Context, c *pgconn.PgConn, q string) answerResult {
		r := c.ExecParams(ctx, q, nil, nil, nil, []int16{1}).Read()
		return answerResult{fields: r.FieldDescriptions, rows: r.Rows, tag: r.CommandTag.String(), code: errCode(r.Err)}
	},
}

func errCode(err error) string {
	if err == nil {
		return ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return err.Error()
}

// serveTest serves g on 127.0.0.1 and returns its address.
func serveTest(t *testing.T, g *Gateway) string {
	t.Helper()
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
	return l.Addr().String()
}

// The fast path against the DuckDB path, for every statement of the corpus
// in every mode: the reference is the first run on a new connection (no
// answer kept: DuckDB answers); a connection that runs the whole corpus
// in every mode, twice and interleaved (so answers kept from one mode are
// replayed in the others), must see exactly the same columns (names,
// OIDs, sizes, modifiers, format codes), bytes, tags and errors.
func TestAnswersAsDuckDBGives(t *testing.T) {
	addr := serveTest(t, openGateway(t))
	ctx := t.Context()
	connect := func() *pgconn.PgConn {
		c, err := pgconn.Connect(ctx, "postgres://sluice@"+addr+"/sluice?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ref := map[string]answerResult{}
	for _, q := range answerCorpus {
		for mode, run := range answerModes {
			c := connect()
			ref[mode+" "+q] = run(ctx, c, q)
			c.Close(ctx)
		}
	}
	for _, q := range answerCorpus {
		if r := ref["simple "+q]; r.code == "" && (len(r.rows) != 1 || !sql.IsConstantQuery(q)) {
			t.Errorf("%s: %s (want one row of a constant query)", q, r)
		}
	}
	c := connect()
	defer c.Close(ctx)
	for round := range 2 {
		for _, mode := range []string{"simple", "binary", "text"} {
			for _, q := range answerCorpus {
				if got, want := answerModes[mode](ctx, c, q), ref[mode+" "+q]; !sameResult(got, want) {
					t.Errorf("round %d, %s %s:\n got %s\nwant %s", round, mode, q, got, want)
				}
			}
		}
	}
}

// A kept answer is used, and only in the state it was given in: SHOW of a
// setting the session keeps sees a SET at once, a failed transaction block
// refuses the query, and a SET moves the session's epoch.
func TestAnswersKept(t *testing.T) {
	g := openGateway(t)
	s := newTestSession(t, g)
	run := func(q string) (*recorder, error) {
		r := &recorder{}
		return r, s.SimpleQuery(t.Context(), q, r)
	}
	mustRun := func(q string) *recorder {
		t.Helper()
		r, err := run(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return r
	}
	mustRun("SELECT 1")
	if len(s.answers) != 1 || s.answerFor("SELECT 1", s.answerKey()) == nil {
		t.Fatalf("answers %v after SELECT 1", s.answers)
	}
	if r := mustRun("SELECT 1"); !slices.Equal(r.rows, []string{"1"}) || !slices.Equal(r.tags, []string{"SELECT 1"}) || r.cols[0].Name != "1" {
		t.Fatalf("replayed: %+v", r)
	}
	mustRun("SELECT 1 FROM range(1)") // not constant
	mustRun("SELECT 1 + 1 AS n")      // not constant either
	if len(s.answers) != 1 {
		t.Fatalf("%d answers kept, want 1", len(s.answers))
	}
	if _, err := run("SELECT 'x'::int"); err == nil {
		t.Fatal("SELECT 'x'::int succeeded")
	}
	if len(s.answers) != 1 {
		t.Fatalf("an error was kept: %v", s.answers)
	}

	// SHOW of a kept setting is a constant query over its value.
	if r := mustRun("SHOW application_name"); !slices.Equal(r.rows, []string{""}) || !slices.Equal(r.tags, []string{"SHOW"}) {
		t.Fatalf("SHOW application_name: %+v", r)
	}
	mustRun("SHOW application_name")
	mustRun("SET application_name = 'fast'")
	if r := mustRun("SHOW application_name"); !slices.Equal(r.rows, []string{"fast"}) || !slices.Equal(r.tags, []string{"SHOW"}) {
		t.Fatalf("SHOW application_name after SET: %+v", r)
	}

	// A SET (any statement that moves the epoch) makes the answers stale.
	gen := s.planGen()
	mustRun("SET TimeZone = 'Europe/Paris'")
	if s.planGen() == gen || s.answerFor("SELECT 1", s.answerKey()) != nil {
		t.Fatal("SET kept the answer of SELECT 1")
	}
	mustRun("SELECT 1")

	// A failed transaction block refuses a kept query.
	mustRun("BEGIN")
	if _, err := run("SELECT 1/0 FROM range(1) WHERE error('x') IS NULL"); err == nil {
		t.Fatal("error() did not fail")
	}
	if _, err := run("SELECT 1"); pgerr.Code(err) != pgerrcode.InFailedSQLTransaction {
		t.Fatalf("SELECT 1 in a failed block: %v, want 25P02", err)
	}
	mustRun("ROLLBACK")
	mustRun("SELECT 1")
}

// Allowed queries are kept per state, never past a change of privileges:
// a reader's query, allowed and run again (so its decision is kept), is
// refused at the very next statement after another session's REVOKE, in
// the simple protocol, with unnamed statements and with a named prepared
// one; a GRANT gives it back at once.
func TestAllowedQueriesAfterRevoke(t *testing.T) {
	g := openGateway(t)
	addr := serveTest(t, g)
	ctx := t.Context()
	connect := func(user string) *pgconn.PgConn {
		c, err := pgconn.Connect(ctx, "postgres://"+user+"@"+addr+"/sluice?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	admin := connect("sluice")
	for _, q := range []string{
		"CREATE TABLE rv_t AS SELECT range AS id FROM range(10)",
		"CREATE VIEW rv_v AS SELECT id FROM rv_t WHERE id < 5",
		"CREATE ROLE rv_reader LOGIN",
		"GRANT SELECT ON rv_t, rv_v TO rv_reader",
	} {
		if _, err := admin.Exec(ctx, q).ReadAll(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	reader := connect("rv_reader")
	if _, err := reader.Prepare(ctx, "rv_p", "SELECT count(*) FROM rv_t WHERE id > $1", nil); err != nil {
		t.Fatal(err)
	}
	queries := map[string]func() error{
		"simple": func() error { _, err := reader.Exec(ctx, "SELECT count(*) FROM rv_t").ReadAll(); return err },
		"view":   func() error { _, err := reader.Exec(ctx, "SELECT count(*) FROM rv_v").ReadAll(); return err },
		"extended": func() error {
			return reader.ExecParams(ctx, "SELECT count(*) FROM rv_t WHERE id > $1", [][]byte{[]byte("1")}, nil, nil, nil).Read().Err
		},
		"prepared": func() error { return reader.ExecPrepared(ctx, "rv_p", [][]byte{[]byte("1")}, nil, nil).Read().Err },
	}
	check := func(when, want string) {
		t.Helper()
		for name, run := range queries {
			for range 2 {
				if got := errCode(run()); got != want && !(name == "view" && when == "after REVOKE on rv_t") {
					t.Errorf("%s, %s: %q, want %q", when, name, got, want)
				}
			}
		}
	}
	check("granted", "")
	if _, err := admin.Exec(ctx, "REVOKE SELECT ON rv_t FROM rv_reader").ReadAll(); err != nil {
		t.Fatal(err)
	}
	check("after REVOKE on rv_t", pgerrcode.InsufficientPrivilege)
	// The view reads rv_t as its owner: still allowed.
	if err := queries["view"](); err != nil {
		t.Errorf("view after REVOKE on rv_t: %v", err)
	}
	if _, err := admin.Exec(ctx, "REVOKE SELECT ON rv_v FROM rv_reader").ReadAll(); err != nil {
		t.Fatal(err)
	}
	if got := errCode(queries["view"]()); got != pgerrcode.InsufficientPrivilege {
		t.Errorf("view after REVOKE on rv_v: %q, want 42501", got)
	}
	if _, err := admin.Exec(ctx, "GRANT SELECT ON rv_t, rv_v TO rv_reader").ReadAll(); err != nil {
		t.Fatal(err)
	}
	check("granted again", "")
}
