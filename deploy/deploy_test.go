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
