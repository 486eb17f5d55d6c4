package clients

import (
	"bytes"
	"context"
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

// This file is a minimal copy of internal/e2e's harness: build
// ./cmd/gateway once, start it on a free port per test.

var (
	gatewayBin string // the gateway binary TestMain built
	repoRoot   string // the repository's root; the gateway runs there
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "clients:", err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "sluice-clients-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clients:", err)
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
		fmt.Fprintf(os.Stderr, "clients: go build ./cmd/gateway: %v\n", err)
		return 1
	}
	return m.Run()
}

// server is a gateway process started by a test.
type server struct {
	cmd     *exec.Cmd
	Port    int
	log     *syncBuffer
	exited  chan struct{}
	waitErr error
}

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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts the gateway (trust authentication) on a free port with
// a fresh data directory and waits until it answers.
func startServer(t *testing.T) *server {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStart(t, t.TempDir())
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
	s := &server{Port: freePort(t), log: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(gatewayBin, "serve",
		"--listen", fmt.Sprintf("127.0.0.1:%d", s.Port),
		"--data-dir", dataDir,
		"--log-level", "debug",
		"--shutdown-timeout", "10s")
	s.cmd.Dir = repoRoot
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
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
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://sluice@127.0.0.1:%d/sluice?sslmode=disable&connect_timeout=5", s.Port))
		if err == nil {
			err = conn.Ping(ctx)
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

func (s *server) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}
