//go:build duckdb_arrow

package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

var updateMatrix = flag.Bool("update-matrix", false, "rewrite testdata/privilege_matrix.md with the observed matrix")

// TestPrivilegeMatrix grants a reader each privilege on each kind of
// object (owned by etl) and tries every path a read or a refresh can take,
// through pgx: directly, in a join, in a subquery, through a temporary view
// of the reader's, as COPY TO STDOUT, as a prepared statement, in the
// system tables and in pg_catalog's listing. What it observes must be what
// PostgreSQL's model says (expect), and is written as a table,
// testdata/privilege_matrix.md, which docs/security.md shows.
func TestPrivilegeMatrix(t *testing.T) {
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	addr := startMatrixGateway(t, repo)
	connect := func(user string) *pgx.Conn {
		c, err := pgx.Connect(t.Context(), "postgres://"+user+"@"+addr+"/sluice?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	super := connect("sluice")
	for _, q := range []string{
		"CREATE ROLE etl LOGIN", "CREATE ROLE analyst LOGIN",
		"GRANT CREATE ON SCHEMA public TO etl", "GRANT pg_read_server_files TO etl",
	} {
		exec(t, super, q)
	}
	etl := connect("etl")
	trips := filepath.Join(repo, "testdata", "trips", "*.csv")
	type object struct {
		kind, create string
		privs        []string
	}
	kinds := []object{
		{"table", "CREATE TABLE %s AS SELECT * FROM range(3) r(id)", []string{"none", "SELECT", "ALL"}},
		{"view", "CREATE VIEW %s AS SELECT * FROM range(3) r(id)", []string{"none", "SELECT"}},
		{"source", "CREATE SOURCE %s FROM FILES '" + trips + "' WITH (format = 'csv', header = true)", []string{"none", "SELECT"}},
		{"materialized view", "CREATE MATERIALIZED VIEW %s AS SELECT * FROM range(3) r(id)", []string{"none", "SELECT", "REFRESH", "ALL"}},
		{"pipeline", "CREATE PIPELINE %s AS SELECT * FROM matrix_src", []string{"none", "SELECT", "REFRESH", "ALL"}},
	}
	exec(t, etl, "CREATE SOURCE matrix_src FROM FILES '"+trips+"' WITH (format = 'csv', header = true)")
	type cell struct{ kind, priv, name string }
	var cells []cell
	for _, k := range kinds {
		for _, p := range k.privs {
			name := strings.ReplaceAll(k.kind, " ", "_") + "_" + strings.ToLower(p)
			exec(t, etl, fmt.Sprintf(k.create, name))
			if p != "none" {
				exec(t, etl, "GRANT "+p+" ON "+name+" TO analyst")
			}
			cells = append(cells, cell{k.kind, p, name})
		}
	}
	reader := connect("analyst")
	paths := []string{"direct", "join", "subquery", "own view", "COPY TO STDOUT", "prepared", "system table", "pg_catalog", "REFRESH"}
	var table bytes.Buffer
	fmt.Fprintf(&table, "| object | granted | %s |\n|---|---|%s\n", strings.Join(paths, " | "), strings.Repeat("---|", len(paths)))
	for _, c := range cells {
		fmt.Fprintf(&table, "| %s | %s |", c.kind, c.priv)
		for _, path := range paths {
			got, applies := tryPath(t, reader, path, c.kind, c.name)
			mark := "-"
			if applies {
				mark = map[bool]string{true: "allow", false: "deny"}[got]
				if want := expect(path, c.priv); got != want {
					t.Errorf("%s %s granted %s, %s: allowed = %v, want %v", c.kind, c.name, c.priv, path, got, want)
				}
			}
			fmt.Fprintf(&table, " %s |", mark)
		}
		table.WriteString("\n")
	}
	golden := filepath.Join(repo, "testdata", "privilege_matrix.md")
	header := "<!-- Written by internal/gateway/privilege_matrix_test.go (-update-matrix); what a reader may do, by what it was granted. -->\n\n"
	if *updateMatrix {
		if err := os.WriteFile(golden, []byte(header+table.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil || string(want) != header+table.String() {
		t.Errorf("%s differs from the observed matrix (rerun with -update-matrix if intended):\n%s", golden, table.String())
	}
}

// expect is PostgreSQL's model: reads need SELECT, a listing any
// privilege, REFRESH the REFRESH privilege (ALL holds both).
func expect(path, priv string) bool {
	switch path {
	case "system table", "pg_catalog":
		return priv != "none"
	case "REFRESH":
		return priv == "REFRESH" || priv == "ALL"
	}
	return priv == "SELECT" || priv == "ALL"
}

// tryPath runs one path as the reader; applies is false where the path
// means nothing for the kind (REFRESH of a table, a system table for a
// plain table).
func tryPath(t *testing.T, c *pgx.Conn, path, kind, name string) (allowed, applies bool) {
	ctx := t.Context()
	denied := func(err error) bool {
		if err != nil && code(err) != "42501" {
			t.Errorf("%s on %s: unexpected error %v", path, name, err)
		}
		return err != nil
	}
	count := func(q string) int64 {
		var n int64
		if err := c.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Errorf("%s: %v", q, err)
		}
		return n
	}
	switch path {
	case "direct":
		_, err := c.Exec(ctx, "SELECT count(*) FROM "+name)
		return !denied(err), true
	case "join":
		_, err := c.Exec(ctx, "SELECT count(*) FROM (SELECT 1 AS k) a JOIN "+name+" ON true")
		return !denied(err), true
	case "subquery":
		_, err := c.Exec(ctx, "SELECT (SELECT count(*) FROM "+name+")")
		return !denied(err), true
	case "own view":
		if _, err := c.Exec(ctx, "CREATE TEMP VIEW tv_"+name+" AS SELECT * FROM "+name); err != nil {
			t.Errorf("temp view over %s: %v", name, err)
		}
		_, err := c.Exec(ctx, "SELECT count(*) FROM tv_"+name)
		return !denied(err), true
	case "COPY TO STDOUT":
		_, err := c.PgConn().CopyTo(ctx, &bytes.Buffer{}, "COPY (SELECT * FROM "+name+") TO STDOUT")
		return !denied(err), true
	case "prepared":
		sd, err := c.Prepare(ctx, "matrix_"+name, "SELECT count(*) FROM "+name)
		if err == nil {
			_, err = c.Exec(ctx, sd.Name)
			_ = c.Deallocate(ctx, sd.Name)
		}
		return !denied(err), true
	case "system table":
		table := map[string]string{"source": "sluice.sources", "materialized view": "sluice.materialized_views", "pipeline": "sluice.pipelines"}[kind]
		if table == "" {
			return false, false
		}
		return count("SELECT count(*) FROM "+table+" WHERE name = '"+name+"'") == 1, true
	case "pg_catalog":
		return count("SELECT count(*) FROM pg_class WHERE relname = '"+name+"'") == 1, true
	case "REFRESH":
		verb := map[string]string{"materialized view": "REFRESH MATERIALIZED VIEW ", "pipeline": "REFRESH PIPELINE "}[kind]
		if verb == "" {
			return false, false
		}
		_, err := c.Exec(ctx, verb+name)
		return !denied(err), true
	}
	return false, false
}

// startMatrixGateway serves a gateway whose file roots hold the
// repository.
func startMatrixGateway(t *testing.T, repo string) string {
	t.Helper()
	g, err := gateway.Open(t.Context(), gateway.Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), FileRoots: []string{repo}})
	if err != nil {
		t.Fatal(err)
	}
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
