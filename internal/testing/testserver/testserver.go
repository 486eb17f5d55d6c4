// Package testserver builds the gateway binary and runs it as a separate
// process for tests (internal/testing/e2e, internal/testing/clients): started on a free port
// in the repository root, stopped gracefully or killed, its log shown when
// the test fails.
package testserver

import (
	"bytes"
	"context"
	"errors"
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
)

// Build builds ./cmd/gateway of the repository at root into a temporary
// directory; cleanup removes it.
func Build(root string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "sluice-gateway-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "sluice-gateway")
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = "/usr/local/go/bin/go"
	}
	build := exec.Command(goCmd, "build", "-tags", "duckdb_arrow", "-o", bin, "./cmd/gateway")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("go build ./cmd/gateway: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// Main is a test package's TestMain body: it builds the gateway of the
// repository three directories up (the package lives in internal/testing/<name>),
// sets *bin and *root, runs the tests and removes the binary.
func Main(m *testing.M, bin, root *string) int {
	r, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err == nil {
		var cleanup func()
		if *bin, cleanup, err = Build(r); err == nil {
			defer cleanup()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		return 1
	}
	*root = r
	return m.Run()
}

// Process is a running gateway.
type Process struct {
	Port    int
	Log     *Buffer
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	waitErr error         // valid after exited is closed
}

// Buffer is a bytes.Buffer safe for the process's writes and the test's reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Options say how to start a gateway.
type Options struct {
	Bin  string                  // the gateway binary (Build)
	Dir  string                  // working directory: the repository root
	Args func(port int) []string // the command line after the binary
	// Ready reports whether the gateway on port answers; Start waits for it.
	Ready func(ctx context.Context, port int) error
	// Env is added to the environment (secrets such as
	// SLUICE_OBJECT_STORAGE_SECRET_KEY, which have no flag).
	Env []string
}

// Start starts a gateway on a free port and waits until Ready, for up to
// 90 s; it retries with another port when the port was taken meanwhile. The
// process is killed when the test ends, and its log shown if the test failed.
func Start(t testing.TB, o Options) *Process {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := tryStart(t, o)
		if err == nil {
			return p
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("start gateway: %v", lastErr)
	return nil
}

func tryStart(t testing.TB, o Options) (*Process, error) {
	p := &Process{Port: FreePort(t), Log: &Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(o.Bin, o.Args(p.Port)...)
	p.cmd.Dir = o.Dir
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	// The test's environment must not configure the gateway behind its
	// back: neither SLUICE_* nor AWS's variables and shared files (which
	// configure object storage when no endpoint is set).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLUICE_") && !strings.HasPrefix(kv, "AWS_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	// Tests read files from the repository and from their temporary
	// directories: those are the file roots unless a test says otherwise.
	roots := "SLUICE_FILE_ROOTS=" + o.Dir + "," + os.TempDir()
	for _, kv := range o.Env {
		if strings.HasPrefix(kv, "SLUICE_FILE_ROOTS=") {
			roots = kv
		}
	}
	p.cmd.Env = append(p.cmd.Env, roots)
	// Many gateways run at once: the admin listener takes a port of its
	// own unless the test gives one (the default, 9187, is one port).
	p.cmd.Env = append(p.cmd.Env, "SLUICE_ADMIN_LISTEN=127.0.0.1:0")
	p.cmd.Env = append(p.cmd.Env, o.Env...)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("gateway log (port %d):\n%s", p.Port, p.Log.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("gateway exited before accepting connections (%v):\n%s", p.waitErr, p.Log.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := o.Ready(ctx, p.Port)
		cancel()
		if err == nil {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("gateway did not answer within 90s: %v\n%s", err, p.Log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreePort returns a TCP port free on 127.0.0.1 now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Exited is closed when the process has exited; WaitErr is then its status.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// WaitErr is the process's exit status, valid once Exited is closed.
func (p *Process) WaitErr() error { return p.waitErr }

// Stop sends SIGTERM and waits for a graceful exit, which must be status 0.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("gateway did not exit within 60s of SIGTERM:\n%s", p.Log.String())
	}
	if p.waitErr != nil {
		t.Fatalf("gateway exited with %v after SIGTERM, want status 0:\n%s", p.waitErr, p.Log.String())
	}
}

// Kill sends SIGKILL and waits for the process to end.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	p.kill()
	var exitErr *exec.ExitError
	if !errors.As(p.waitErr, &exitErr) {
		t.Fatalf("gateway did not die of SIGKILL: %v", p.waitErr)
	}
}

func (p *Process) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}
