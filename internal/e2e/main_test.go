package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "sluice-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	gatewayBin = filepath.Join(dir, "sluice-gateway")
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = "/usr/local/go/bin/go"
	}
	build := exec.Command(goCmd, "build", "-tags", "duckdb_arrow", "-o", gatewayBin, "./cmd/gateway")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/gateway: %v\n", err)
		return 1
	}
	return m.Run()
}

// server is a gateway process started by a test.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	Port    int
	DataDir string
	log     *syncBuffer
	exited  chan struct{} // closed when the process has exited
	waitErr error         // valid after exited is closed
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts the gateway binary on a free port with dataDir, in the
// repository root, and waits until it accepts a connection and answers. The process is
// killed when the test ends if it is still running.
func startServer(t *testing.T, dataDir string) *server {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStart(t, dataDir)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("start gateway: %v", lastErr)
	return nil
}

func tryStart(t *testing.T, dataDir string) (*server, error) {
	s := &server{t: t, Port: freePort(t), DataDir: dataDir, log: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(gatewayBin, "serve",
		"--listen", fmt.Sprintf("127.0.0.1:%d", s.Port),
		"--data-dir", dataDir,
		"--log-level", "debug",
		// One DuckDB thread: floating-point sums then add up in one order,
		// so golden output is the same on every run.
		"--threads", "1",
		"--shutdown-timeout", "30s")
	s.cmd.Dir = repoRoot
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// The test's environment must not configure the gateway behind its back.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLUICE_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("gateway log (port %d):\n%s", s.Port, s.log.String())
		}
	})

	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("gateway exited before accepting connections (%v):\n%s", s.waitErr, s.log.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.ConnString())
		if err == nil {
			err = conn.Ping(ctx) // an empty query: needs no result rows
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("gateway did not answer within 90s: %v\n%s", err, s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ConnString is a pgx connection string for the server.
func (s *server) ConnString() string {
	return fmt.Sprintf("postgres://sluice@127.0.0.1:%d/sluice?sslmode=disable&connect_timeout=5", s.Port)
}

// Connect opens a pgx connection, closed when the test ends.
func (s *server) Connect(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), s.ConnString())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Stop sends SIGTERM and waits for a graceful exit, which must be status 0.
func (s *server) Stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.kill()
		t.Fatalf("gateway did not exit within 60s of SIGTERM:\n%s", s.log.String())
	}
	if s.waitErr != nil {
		t.Fatalf("gateway exited with %v after SIGTERM, want status 0:\n%s", s.waitErr, s.log.String())
	}
}

// Kill sends SIGKILL and waits for the process to end.
func (s *server) Kill(t *testing.T) {
	t.Helper()
	s.kill()
	var exitErr *exec.ExitError
	if !errors.As(s.waitErr, &exitErr) {
		t.Fatalf("gateway did not die of SIGKILL: %v", s.waitErr)
	}
}

func (s *server) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// queryText runs sql with the simple protocol and returns every value as
// the text the server sent ("NULL" for NULL).
func queryText(ctx context.Context, conn *pgx.Conn, sql string) ([][]string, error) {
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]string, len(raw))
		for i, b := range raw {
			if b == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(b)
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func mustQueryText(t *testing.T, conn *pgx.Conn, sql string) [][]string {
	t.Helper()
	rows, err := queryText(t.Context(), conn, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

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
