//go:build duckdb_arrow

package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/wire"
)

// TestQueryAsAndReady: QueryAs runs SQL as a role with that role's
// privileges (the admin listener's status page relies on it), returns
// PostgreSQL's text format, and Ready says why the gateway cannot serve
// until the scheduler runs.
func TestQueryAsAndReady(t *testing.T) {
	ctx := t.Context()
	g, err := gateway.Open(ctx, gateway.Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Ready(ctx); err == nil {
		t.Fatal("ready before Serve")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(l) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, wire.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for g.Ready(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := g.Ready(ctx); err != nil {
		t.Fatalf("not ready while serving: %v", err)
	}

	for _, q := range []string{"CREATE TABLE t AS SELECT 1 AS a, NULL::VARCHAR AS b, DATE '2024-11-14' AS d", "CREATE ROLE viewer LOGIN"} {
		if _, err := g.QueryAs(ctx, "sluice", q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	res, err := g.QueryAs(ctx, "sluice", "SELECT a, b, d, true AS e FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || *res.Rows[0][0] != "1" || res.Rows[0][1] != nil || *res.Rows[0][2] != "2024-11-14" || *res.Rows[0][3] != "t" ||
		res.Tag != "SELECT 1" || len(res.Columns) != 4 || res.Columns[3] != "e" {
		t.Fatalf("got %+v", res)
	}
	_, err = g.QueryAs(ctx, "viewer", "SELECT * FROM t")
	var pe *pgerr.Error
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Fatalf("viewer: %v, want 42501", err)
	}
	if _, err := g.QueryAs(ctx, "nobody", "SELECT 1"); err == nil {
		t.Fatal("an unknown role ran a query")
	}
}
