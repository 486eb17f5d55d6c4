package clients

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/testserver"
)

var (
	gatewayBin string // the gateway binary TestMain built
	repoRoot   string // the repository's root; the gateway runs there
)

// TestMain builds ./cmd/gateway once for every test of the package.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testserver.Main(m, &gatewayBin, &repoRoot))
}

// startServer starts the gateway (trust authentication) on a free port with
// a fresh data directory and waits until it answers.
func startServer(t *testing.T) *testserver.Process {
	t.Helper()
	dataDir := t.TempDir()
	return testserver.Start(t, testserver.Options{
		Bin: gatewayBin,
		Dir: repoRoot,
		Args: func(port int) []string {
			return []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir,
				"--log-level", "debug", "--shutdown-timeout", "10s"}
		},
		Ready: func(ctx context.Context, port int) error {
			conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://sluice@127.0.0.1:%d/sluice?sslmode=disable&connect_timeout=5", port))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			return conn.Ping(ctx)
		},
	})
}
