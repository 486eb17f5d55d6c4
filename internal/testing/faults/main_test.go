package faults

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/testing/testserver"
)

var (
	// gatewayBin is the gateway binary TestMain built.
	gatewayBin string
	// repoRoot is the repository's root directory; the gateway runs there.
	repoRoot string
)

// TestMain builds ./cmd/gateway once (go build -tags duckdb_arrow) into a
// temporary directory for every test of the package.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testserver.Main(m, &gatewayBin, &repoRoot))
}

// server is a gateway process started by a test.
type server struct {
	*testserver.Process
	DataDir string
}

// startServer starts the gateway binary on a free port with dataDir and
// the extra command-line arguments and environment, and waits until it
// answers. The process is killed when the test ends if it still runs.
func startServer(t *testing.T, dataDir string, args []string, env ...string) *server {
	t.Helper()
	p := testserver.Start(t, testserver.Options{
		Bin: gatewayBin,
		Dir: repoRoot,
		Args: func(port int) []string {
			return append([]string{"serve",
				"--listen", fmt.Sprintf("127.0.0.1:%d", port),
				"--data-dir", dataDir,
				"--log-level", "debug",
				"--shutdown-timeout", "30s"}, args...)
		},
		Env:   env,
		Ready: pingReady,
	})
	return &server{Process: p, DataDir: dataDir}
}

func connString(port int) string {
	return fmt.Sprintf("postgres://sluice@127.0.0.1:%d/sluice?sslmode=disable&connect_timeout=5", port)
}

func pingReady(ctx context.Context, port int) error {
	conn, err := pgx.Connect(ctx, connString(port))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// Connect opens a pgx connection, closed when the test ends.
func (s *server) Connect(t *testing.T) *pgx.Conn { return testserver.Connect(t, connString(s.Port)) }

// The shared SQL helpers (testserver/sqltext.go).
var (
	queryText     = testserver.QueryText
	mustQueryText = testserver.MustQueryText
	mustExec      = testserver.MustExec
)

// one returns the single value of sql's single row.
func one(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	rows := mustQueryText(t, conn, sql)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: want one value, got %v", sql, rows)
	}
	return rows[0][0]
}

// wantCode fails the test unless err is a PostgreSQL error with SQLSTATE
// code, and returns its message.
func wantCode(t *testing.T, what string, err error, code string) string {
	t.Helper()
	pe, ok := err.(*pgconn.PgError)
	if !ok {
		t.Fatalf("%s: want SQLSTATE %s, got %v", what, code, err)
	}
	if pe.Code != code {
		t.Fatalf("%s: want SQLSTATE %s, got %s: %s", what, code, pe.Code, pe.Message)
	}
	return pe.Message
}
