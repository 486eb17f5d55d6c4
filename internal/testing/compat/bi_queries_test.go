package compat

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/gateway"
)

// startGateway opens a gateway in a temporary data directory and serves it
// on a free local port; it returns a pgx connection string.
func startGateway(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g, err := gateway.Open(ctx, gateway.Options{DataDir: t.TempDir(), BaseDir: root, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(l) }()
	t.Cleanup(func() {
		_ = g.Shutdown(context.Background())
		<-done
		_ = g.Close()
	})
	return "postgres://sluice@" + l.Addr().String() + "/sluice?sslmode=disable"
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// fixture creates the relations of every kind the catalog must show.
var fixture = []string{
	`CREATE TABLE py_t (id INTEGER, name VARCHAR, amount DOUBLE PRECISION, day DATE)`,
	`INSERT INTO py_t VALUES (1, 'a', 1.5, DATE '2024-01-01')`,
	`CREATE SOURCE trips FROM FILES 'testdata/trips/*.csv' WITH (format = 'csv', header = true)`,
	`CREATE VIEW py_v AS SELECT id, name FROM py_t`,
	`CREATE MATERIALIZED VIEW py_mv AS SELECT day, count(*) AS n FROM py_t GROUP BY day`,
}

func TestBIQueries(t *testing.T) {
	queries := LoadBIQueries(t, filepath.Join("..", "..", ".."))
	dsn := startGateway(t)
	ctx := context.Background()
	conn := connect(t, dsn)
	for _, q := range fixture {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	passed := 0
	for _, q := range queries {
		ok := t.Run(q.Client, func(t *testing.T) {
			problems := runBIQuery(ctx, conn, q)
			gap, known := knownGaps[strings.SplitN(q.Client, " (", 2)[0]+" "+strconv.Itoa(q.Line)]
			switch {
			case len(problems) > 0 && known:
				t.Skipf("known gap (%s): %s", gap, strings.Join(problems, "; "))
			case len(problems) > 0:
				t.Errorf("%s\n%s", strings.Join(problems, "\n"), q.Text)
			case known:
				t.Logf("line %d now passes; remove it from knownGaps", q.Line)
			}
		})
		if ok && len(runBIQuery(ctx, conn, q)) == 0 {
			passed++
		}
	}
	t.Logf("%d of %d BI queries pass", passed, len(queries))
}

// knownGaps are the queries Sluice cannot answer yet, by client name and
// line, with the reason (docs/clients.md, "Catalog").
var knownGaps = map[string]string{}

// runBIQuery runs q with the simple protocol and returns what is wrong
// with its result: an error, missing columns, or no rows where rows are due.
func runBIQuery(ctx context.Context, conn *pgx.Conn, q BIQuery) []string {
	rows, err := conn.Query(ctx, q.Text, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return []string{fmt.Sprintf("line %d: %v", q.Line, err)}
	}
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, strings.ToLower(f.Name))
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return []string{fmt.Sprintf("line %d: %v", q.Line, err)}
	}
	var problems []string
	for _, want := range expectedColumns(q.Expect) {
		if !contains(cols, strings.ToLower(want)) {
			problems = append(problems, fmt.Sprintf("line %d: result columns %v lack %q (expect: %s)", q.Line, cols, want, q.Expect))
		}
	}
	if (strings.HasPrefix(q.Expect, ">=1 row") || strings.HasPrefix(q.Expect, "1 row")) && n == 0 {
		problems = append(problems, fmt.Sprintf("line %d: no rows (expect: %s)", q.Line, q.Expect))
	}
	return problems
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// expectedColumns reads the column names an expect line states after
// "columns " (up to the next ';' or '('), skipping descriptions such as
// "all pg_type columns".
func expectedColumns(expect string) []string {
	i := strings.Index(expect, "columns ")
	if i < 0 {
		i = strings.Index(expect, "column ")
		if i < 0 {
			return nil
		}
		i += len("column ")
	} else {
		i += len("columns ")
	}
	s := expect[i:]
	if j := strings.IndexAny(s, ";"); j >= 0 {
		s = s[:j]
	}
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if k := strings.Index(part, " ("); k >= 0 {
			part = part[:k]
		}
		if strings.HasPrefix(part, "(") {
			part = strings.TrimPrefix(part, "(")
			part = strings.TrimSuffix(part, ")")
		}
		if part == "" || part == "NULL" || strings.Contains(part, " ") || strings.ContainsAny(part, "()") {
			continue
		}
		out = append(out, part)
	}
	return out
}
