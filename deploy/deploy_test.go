//go:build duckdb_arrow

package deploy_test

import (
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

	"github.com/sluice-db/sluice/deploy"
	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/plans/*/plan.golden with the plans computed (review the diff!)")

// startGateway serves a gateway on a fresh data directory on 127.0.0.1 and
// returns a connection string for the role; it stops when the test ends.
// Its working directory is this package's, so '../testdata/trips/*.csv'
// names the repository's sample data.
func startGateway(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.Open(t.Context(), gateway.Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), FileRoots: []string{root, os.TempDir()}})
	if err != nil {
		t.Fatalf("open gateway: %v", err)
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
			t.Errorf("Serve: %v", err)
		}
	})
	return fmt.Sprintf("postgres://%%s@%s/sluice?sslmode=disable", l.Addr())
}

func connect(t *testing.T, url, role string) *deploy.Client {
	t.Helper()
	c, err := deploy.Connect(t.Context(), fmt.Sprintf(url, role))
	if err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// plan loads dir and computes its plan against the gateway.
func plan(t *testing.T, c *deploy.Client, dir string, prune bool) (*deploy.Plan, error) {
	t.Helper()
	d, err := deploy.Load(dir)
	if err != nil {
		return nil, err
	}
	in, err := deploy.Inspect(t.Context(), c.Conn, d, prune)
	if err != nil {
		return nil, err
	}
	return deploy.Compute(in)
}

func mustPlan(t *testing.T, c *deploy.Client, dir string, prune bool) *deploy.Plan {
	t.Helper()
	p, err := plan(t, c, dir, prune)
	if err != nil {
		t.Fatalf("plan %s: %v", dir, err)
	}
	return p
}

// apply plans dir and applies the plan; the output goes to the test log.
func apply(t *testing.T, c *deploy.Client, dir string, prune bool) error {
	t.Helper()
	p, err := plan(t, c, dir, prune)
	if err != nil {
		return err
	}
	var out strings.Builder
	err = deploy.Apply(t.Context(), c, p, deploy.ApplyOptions{Out: &out})
	t.Logf("apply %s:\n%s%s", filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir), p.Text(), out.String())
	return err
}

func exec(t *testing.T, c *deploy.Client, stmts string) {
	t.Helper()
	if _, err := c.Conn.PgConn().Exec(t.Context(), stmts).ReadAll(); err != nil {
		t.Fatalf("%s: %v", stmts, err)
	}
}

func queryRows(t *testing.T, c *deploy.Client, q string) [][]string {
	t.Helper()
	rows, err := c.Conn.Query(t.Context(), q, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var row []string
		for _, v := range rows.RawValues() {
			if v == nil {
				row = append(row, "NULL")
			} else {
				row = append(row, string(v))
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// TestGoldenPlans runs each testdata/plans/<case>: setup.sql, then apply of
// before/ (when there is one), then the plan of after/ (with --prune when
// the case's args say prune), compared with plan.golden; then after/ is
// applied, and planning it again must find nothing to do (apply is
// idempotent).
//
//	go test -tags duckdb_arrow ./deploy -run TestGoldenPlans -update
func TestGoldenPlans(t *testing.T) {
	cases, err := filepath.Glob("testdata/plans/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 6 {
		t.Fatalf("%d cases in testdata/plans", len(cases))
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			args, _ := os.ReadFile(filepath.Join(dir, "args"))
			prune := strings.Contains(string(args), "prune")
			c := connect(t, startGateway(t), "sluice")
			if setup, err := os.ReadFile(filepath.Join(dir, "setup.sql")); err == nil {
				exec(t, c, string(setup))
			}
			if _, err := os.Stat(filepath.Join(dir, "before")); err == nil {
				if err := apply(t, c, filepath.Join(dir, "before"), false); err != nil {
					t.Fatalf("apply before/: %v", err)
				}
				if p := mustPlan(t, c, filepath.Join(dir, "before"), false); !p.Empty() {
					t.Fatalf("before/ applied, its plan is not empty:\n%s", p.Text())
				}
			}
			after := filepath.Join(dir, "after")
			got := mustPlan(t, c, after, prune).Text()
			golden := filepath.Join(dir, "plan.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("plan of %s differs from %s:\n--- got\n%s--- want\n%s", after, golden, got, want)
			}
			if err := apply(t, c, after, prune); err != nil {
				t.Fatalf("apply after/: %v", err)
			}
			if p := mustPlan(t, c, after, prune); !p.Empty() {
				t.Errorf("a second plan after apply is not empty:\n%s", p.Text())
			}
		})
	}
}

// writeDir writes files into a new directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestApplyAsRoles deploys as an owner (etl, not a superuser) and tries as
// a reader (analyst): the owner's apply creates objects it owns and a
// second plan is empty; the reader's apply is refused with 42501 and its
// deployment is recorded as failed, visible to it and to superusers but
// not to the owner.
func TestApplyAsRoles(t *testing.T) {
	url := startGateway(t)
	su := connect(t, url, "sluice")
	exec(t, su, `CREATE ROLE etl LOGIN; CREATE ROLE analyst LOGIN;
		GRANT CREATE ON SCHEMA public TO etl; GRANT pg_read_server_files TO etl`)
	v1 := writeDir(t, map[string]string{
		"a.sql": `CREATE SOURCE trips FROM FILES '../testdata/trips/*.csv' WITH (format = 'csv', header = true);
CREATE MATERIALIZED VIEW zones AS SELECT zone, count(*) AS n FROM trips GROUP BY zone;
CREATE VIEW big_zones AS SELECT zone FROM zones WHERE n > 80;
GRANT SELECT ON MATERIALIZED VIEW zones TO analyst;
GRANT SELECT ON big_zones TO CURRENT_USER;`,
	})
	etl := connect(t, url, "etl")
	if err := apply(t, etl, v1, false); err != nil {
		t.Fatalf("apply as etl: %v", err)
	}
	if p := mustPlan(t, etl, v1, false); !p.Empty() {
		t.Errorf("etl's second plan:\n%s", p.Text())
	}
	if got := queryRows(t, su, `SELECT relname, pg_get_userbyid(relowner) FROM pg_class WHERE relname IN ('trips', 'zones', 'big_zones') ORDER BY relname`); fmt.Sprint(got) != "[[big_zones etl] [trips etl] [zones etl]]" {
		t.Errorf("owners: %v", got)
	}

	analyst := connect(t, url, "analyst")
	v2 := writeDir(t, map[string]string{
		"a.sql": `CREATE MATERIALIZED VIEW zones AS SELECT zone, count(*) AS n FROM trips WHERE zone <> 'Harbor' GROUP BY zone;`,
	})
	// The analyst may not read what the new query reads: plan says so.
	if _, err := plan(t, analyst, v2, true); err == nil || !strings.Contains(err.Error(), "permission denied for source trips (SQLSTATE 42501)") {
		t.Errorf("the analyst's plan: %v, want 42501", err)
	}
	exec(t, etl, `GRANT SELECT ON trips TO analyst`)
	// The analyst sees zones and trips (it may read them), not the view it
	// was not granted: that is neither kept nor dropped.
	p := mustPlan(t, analyst, v2, false)
	if text := p.Text(); !strings.Contains(text, "-/+ rebuild materialized view public.zones (non-breaking)") ||
		!strings.Contains(text, "    source public.trips\n") || strings.Contains(text, "big_zones") {
		t.Errorf("the analyst's plan:\n%s", text)
	}
	err := deploy.Apply(t.Context(), analyst, p, deploy.ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "must be owner of materialized view zones (SQLSTATE 42501)") {
		t.Fatalf("the analyst's apply: %v, want a refusal", err)
	}
	t.Logf("the analyst's apply: %v", err)
	if got := queryRows(t, analyst, `SELECT role, status FROM sluice.deployments`); fmt.Sprint(got) != "[[analyst failed]]" {
		t.Errorf("the analyst's deployments: %v", got)
	}
	if got := queryRows(t, etl, `SELECT role, status FROM sluice.deployments`); fmt.Sprint(got) != "[[etl succeeded]]" {
		t.Errorf("etl's deployments: %v", got)
	}
	if got := queryRows(t, su, `SELECT role, status FROM sluice.deployments ORDER BY id`); fmt.Sprint(got) != "[[etl succeeded] [analyst failed]]" {
		t.Errorf("every deployment: %v", got)
	}
	// What the refused apply did not change.
	if got := queryRows(t, su, `SELECT count(*) FROM zones`); fmt.Sprint(got) != "[[4]]" {
		t.Errorf("zones after the refused apply: %v", got)
	}
	// A plan too large to record.
	if _, err := analyst.Conn.Exec(t.Context(), "START DEPLOYMENT AS '"+strings.Repeat("x", 1<<20+1)+"'"); err == nil || !strings.Contains(err.Error(), "54000") {
		t.Errorf("a plan of more than 1 MiB: %v, want 54000", err)
	}
}

// TestApplyFailsOnBrokenDependant: a breaking change that a materialized
// view outside the plan no longer binds to is applied, the view keeps its
// data, and apply fails naming it.
func TestApplyFailsOnBrokenDependant(t *testing.T) {
	c := connect(t, startGateway(t), "sluice")
	src := `CREATE SOURCE trips FROM FILES '../testdata/trips/*.csv' WITH (format = 'csv', header = true);`
	v1 := writeDir(t, map[string]string{"a.sql": src + `
CREATE MATERIALIZED VIEW zones AS SELECT zone, count(*) AS n FROM trips GROUP BY zone;`})
	if err := apply(t, c, v1, false); err != nil {
		t.Fatal(err)
	}
	exec(t, c, `CREATE MATERIALIZED VIEW outside AS SELECT sum(n) AS n FROM zones`)
	v2 := writeDir(t, map[string]string{"a.sql": src + `
CREATE MATERIALIZED VIEW zones AS SELECT zone, count(*) AS trips FROM trips GROUP BY zone;`})
	p := mustPlan(t, c, v2, false)
	if text := p.Text(); !strings.Contains(text, "(breaking)") || !strings.Contains(text, "dependants: public.outside") || !strings.Contains(text, "public.outside\n") {
		t.Errorf("plan:\n%s", text)
	}
	var out strings.Builder
	err := deploy.Apply(t.Context(), c, p, deploy.ApplyOptions{Out: &out})
	t.Logf("%s", out.String())
	if err == nil || !strings.Contains(err.Error(), "public.outside") {
		t.Fatalf("apply: %v, want a failure naming public.outside", err)
	}
	if !strings.Contains(out.String(), "WARNING 42703") {
		t.Errorf("apply did not show the dependant's failure with its SQLSTATE:\n%s", out.String())
	}
	if got := queryRows(t, c, `SELECT n FROM outside`); fmt.Sprint(got) != "[[312]]" {
		t.Errorf("outside after the failed refresh: %v, want its old data", got)
	}
	if got := queryRows(t, c, `SELECT status, error LIKE '%public.outside%' FROM sluice.deployments ORDER BY id DESC LIMIT 1`); fmt.Sprint(got) != "[[failed t]]" {
		t.Errorf("deployment: %v", got)
	}
}
