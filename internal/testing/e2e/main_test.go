package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluice-db/sluice/internal/testing/testserver"
)

var (
	// gatewayBin is the gateway binary TestMain built.
	gatewayBin string
	// repoRoot is the repository's root directory; the gateway runs there
	// so that relative paths such as 'testdata/trips/*.csv' resolve.
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

// startServer starts the gateway binary on a free port with dataDir, in the
// repository root, and waits until it accepts a connection and answers. The
// process is killed when the test ends if it is still running.
func startServer(t *testing.T, dataDir string) *server {
	t.Helper()
	p := testserver.Start(t, testserver.Options{
		Bin: gatewayBin,
		Dir: repoRoot,
		Args: func(port int) []string {
			return []string{"serve",
				"--listen", fmt.Sprintf("127.0.0.1:%d", port),
				"--data-dir", dataDir,
				"--log-level", "debug",
				// One DuckDB thread: floating-point sums then add up in one
				// order, so golden output is the same on every run.
				"--threads", "1",
				"--shutdown-timeout", "30s"}
		},
		Ready: pingReady(trustConnString),
	})
	return &server{Process: p, DataDir: dataDir}
}

// pingReady is a testserver readiness check: connString(port) connects and
// answers an empty query.
func pingReady(connString func(port int) string) func(ctx context.Context, port int) error {
	return func(ctx context.Context, port int) error {
		conn, err := pgx.Connect(ctx, connString(port))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		return conn.Ping(ctx)
	}
}

func trustConnString(port int) string {
	return fmt.Sprintf("postgres://sluice@127.0.0.1:%d/sluice?sslmode=disable&connect_timeout=5", port)
}

// ConnString is a pgx connection string for the server.
func (s *server) ConnString() string { return trustConnString(s.Port) }

// Connect opens a pgx connection, closed when the test ends.
func (s *server) Connect(t *testing.T) *pgx.Conn { return testserver.Connect(t, s.ConnString()) }

// The shared SQL helpers (testserver/sqltext.go).
var (
	queryText     = testserver.QueryText
	mustQueryText = testserver.MustQueryText
	mustExec      = testserver.MustExec
)

// psqlPath returns the psql binary or skips the test.
func psqlPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed (scripts/test.sh installs postgresql-client-15); skipping the real-client test")
	}
	return p
}

// psql runs the real psql against the server in the repository root and
// returns its standard output and standard error.
func (s *server) psql(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	base := []string{"-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", fmt.Sprint(s.Port), "-U", "sluice", "-d", "sluice"}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, psqlPath(t), append(base, args...)...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10", "PAGER=", "PSQL_PAGER=", "PGTZ=UTC", "PGCLIENTENCODING=UTF8")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
