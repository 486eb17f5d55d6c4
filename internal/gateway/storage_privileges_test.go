//go:build duckdb_arrow

package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/connectors/s3/s3test"
	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

// TestLocationPrivilegesAndOverlaps: an output location in object storage
// is written with the gateway's own credentials, where it could replace
// what other objects keep, so a role that is not a superuser needs
// pg_write_server_files to name one (as for COPY TO a file); and no
// object's location may be, hold or lie inside another's. Checked against
// a real S3 server (versitygw).
func TestLocationPrivilegesAndOverlaps(t *testing.T) {
	srv := s3test.StartT(t)
	if err := srv.MakeBucket("lake"); err != nil {
		t.Fatal(err)
	}
	st, err := s3.New(s3.Config{Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		CacheDir: t.TempDir(), Timeout: 5 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.Open(t.Context(), gateway.Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		FileRoots: []string{os.TempDir()}, ObjectStorage: st})
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
	connect := func(user string) *pgx.Conn {
		c, err := pgx.Connect(t.Context(), "postgres://"+user+"@"+l.Addr().String()+"/sluice?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	in := t.TempDir()
	if err := os.WriteFile(filepath.Join(in, "a.csv"), []byte("day,v\n2024-11-01,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	super := connect("sluice")
	exec(t, super, "CREATE SOURCE s3in FROM FILES '"+filepath.Join(in, "*.csv")+"'")
	exec(t, super, "CREATE MATERIALIZED VIEW theirs WITH (location = 's3://lake/marts/theirs') AS SELECT * FROM s3in")
	exec(t, super, "CREATE ROLE etl LOGIN")
	exec(t, super, "GRANT CREATE ON SCHEMA public TO etl")
	exec(t, super, "GRANT SELECT ON s3in TO etl")

	etl := connect("etl")
	for _, q := range []string{
		"CREATE MATERIALIZED VIEW mine WITH (location = 's3://lake/marts/theirs') AS SELECT * FROM s3in",
		"CREATE PIPELINE mine_pl WITH (location = 's3://lake/raw/pl') AS SELECT * FROM s3in",
	} {
		_, err := etl.Exec(t.Context(), q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Fatalf("%s: got %v, want 42501", q, err)
		}
	}
	// Nothing was written over the other view's files.
	if got := one(t, super, "SELECT count(*) FROM theirs"); got != "1" {
		t.Fatalf("theirs: %s", got)
	}
	exec(t, etl, "CREATE MATERIALIZED VIEW local_mine AS SELECT * FROM s3in") // no location: the data directory

	// No object may write over another's prefix, a superuser neither.
	for _, q := range []string{
		"CREATE MATERIALIZED VIEW again WITH (location = 's3://lake/marts/theirs/') AS SELECT * FROM s3in",
		"CREATE MATERIALIZED VIEW inside WITH (location = 's3://lake/marts/theirs/v9') AS SELECT * FROM s3in",
		"CREATE PIPELINE around WITH (location = 's3://lake/marts') AS SELECT * FROM s3in",
	} {
		_, err := super.Exec(t.Context(), q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42710" {
			t.Fatalf("%s: got %v, want 42710", q, err)
		}
	}
	exec(t, super, "CREATE MATERIALIZED VIEW beside WITH (location = 's3://lake/marts/theirs2') AS SELECT * FROM s3in")
	exec(t, super, "ALTER MATERIALIZED VIEW theirs SET (location = 's3://lake/marts/theirs')") // its own
	if _, err := super.Exec(t.Context(), "ALTER MATERIALIZED VIEW beside SET (location = 's3://lake/marts/theirs')"); err == nil {
		t.Fatal("ALTER to another object's location succeeded")
	}
	if got := one(t, super, "SELECT count(*) FROM theirs"); got != "1" {
		t.Fatalf("theirs: %s", got)
	}

	exec(t, super, "GRANT pg_write_server_files TO etl")
	exec(t, etl, "CREATE MATERIALIZED VIEW mine WITH (location = 's3://lake/marts/mine') AS SELECT * FROM s3in")
	if got := one(t, etl, "SELECT count(*) FROM mine"); got != "1" {
		t.Fatalf("mine: %s", got)
	}
}
