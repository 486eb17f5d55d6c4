//go:build duckdb_arrow

package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

// BenchmarkPerStatement measures one statement's round trip through the
// whole gateway in process (a pgconn client over loopback), in the three
// ways pgbench sends it: -M simple (Query), -M extended (Parse of the
// unnamed statement, Bind, Describe portal, Execute, Sync) and -M
// prepared (Bind, Describe portal, Execute, Sync of a named statement).
// With -cpuprofile it shows where a statement's time goes, client
// included (pgconn's frames are easy to tell apart).
func BenchmarkPerStatement(b *testing.B) {
	ctx := context.Background()
	g, err := gateway.Open(ctx, gateway.Options{DataDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatalf("open gateway: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(l) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			b.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, wire.ErrServerClosed) {
			b.Errorf("Serve returned %v", err)
		}
	})
	conn, err := pgconn.Connect(ctx, "postgres://sluice@"+l.Addr().String()+"/sluice?sslmode=disable")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Prepare(ctx, "p1", "SELECT 1", nil); err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct{ name, sql string }{
		{"select1", "SELECT 1"},
	} {
		b.Run(q.name+"-simple", func(b *testing.B) {
			defer cpuPerOp(b)()
			for b.Loop() {
				if _, err := conn.Exec(ctx, q.sql).ReadAll(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(q.name+"-extended", func(b *testing.B) {
			defer cpuPerOp(b)()
			for b.Loop() {
				if err := conn.ExecParams(ctx, q.sql, nil, nil, nil, nil).Read().Err; err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(q.name+"-prepared", func(b *testing.B) {
			defer cpuPerOp(b)()
			for b.Loop() {
				if err := conn.ExecPrepared(ctx, "p1", nil, nil, nil).Read().Err; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuPerOp reports the process's CPU time (user + system, client and
// server together) per operation: on a loaded machine wall time mostly
// measures the wait for a core, CPU time what a statement costs.
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64(processCPU()-start)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
