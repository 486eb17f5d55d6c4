//go:build duckdb_arrow

package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/testing/testpg"
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitConnect retries a pgx connection until it answers or the deadline.
func waitConnect(url string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("server exited before accepting connections")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer collects a child process's output.
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

// gatewayProc is the gateway binary running on a free port.
type gatewayProc struct {
	cmd    *exec.Cmd
	URL    string
	Data   string
	log    *syncBuffer
	exited chan struct{}
}

// gatewayBinary builds ./cmd/gateway (or takes SLUICE_BENCH_GATEWAY_BIN).
func gatewayBinary(dir string) (string, error) {
	if bin := os.Getenv("SLUICE_BENCH_GATEWAY_BIN"); bin != "" {
		return bin, nil
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "sluice-gateway")
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = "/usr/local/go/bin/go"
	}
	build := exec.Command(goCmd, "build", "-tags", "duckdb_arrow", "-o", bin, "./cmd/gateway")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gateway: %v\n%s", err, out)
	}
	return bin, nil
}

func startGateway(dir string) (*gatewayProc, error) {
	return startGatewayWith(dir, "sluice-data", nil, nil)
}

// startGatewayWith starts a gateway process with data directory dir/data,
// extra serve flags and extra environment (SLUICE_* variables of the
// benchmark's own environment are not passed).
func startGatewayWith(dir, data string, args, env []string) (*gatewayProc, error) {
	bin, err := gatewayBinary(dir)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	g := &gatewayProc{
		URL:    fmt.Sprintf("postgres://sluice@127.0.0.1:%d/sluice?sslmode=disable", port),
		Data:   filepath.Join(dir, data),
		log:    &syncBuffer{},
		exited: make(chan struct{}),
	}
	g.cmd = exec.Command(bin, append([]string{"serve",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--data-dir", g.Data,
		"--memory-limit", memoryLimit,
		"--log-level", "warn",
		"--shutdown-timeout", "30s"}, args...)...)
	g.cmd.Dir = dir
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	for _, kv := range os.Environ() { // SLUICE_BENCH_* must not configure the gateway
		if !strings.HasPrefix(kv, "SLUICE_") {
			g.cmd.Env = append(g.cmd.Env, kv)
		}
	}
	// The admin listener on a port of its own (older binaries ignore it).
	g.cmd.Env = append(g.cmd.Env, "SLUICE_ADMIN_LISTEN=127.0.0.1:0")
	g.cmd.Env = append(g.cmd.Env, env...)
	if err := g.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		g.cmd.Wait()
		close(g.exited)
	}()
	if err := waitConnect(g.URL, g.exited, 90*time.Second); err != nil {
		g.stop()
		return nil, fmt.Errorf("gateway did not answer: %v\n%s", err, g.log.String())
	}
	return g, nil
}

// stop sends SIGTERM, waits for the exit, and kills after 30 s.
func (g *gatewayProc) stop() {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
}

// pgServer is the PostgreSQL 15 cluster the benchmarks compare against
// (internal/testing/testpg).
type pgServer struct {
	*testpg.Server
}

// pgMissing says why PostgreSQL cannot be started here, or "".
func pgMissing() string { return testpg.Missing() }

func startPG(dir string) (*pgServer, error) {
	// fsync=off (testpg's default) only speeds up loading the data; the
	// measured SELECTs read.
	s, err := testpg.Start(dir, "shared_buffers=1GB")
	if err != nil {
		return nil, err
	}
	return &pgServer{s}, nil
}

func (p *pgServer) stop() {
	if err := p.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	}
}

// connect opens a pgx connection to url.
func connect(ctx context.Context, url string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, url)
}

// cpu is the gateway process's CPU time so far, s.
func (g *gatewayProc) cpu() float64 { return procCPU(g.cmd.Process.Pid) }

// backendsCPU is the CPU time, s, of the server's backends that have
// exited: the postmaster's children's time (cutime + cstime), which the
// kernel adds when the postmaster reaps them. pgbench's backends exit as it
// disconnects, so it waits until the figure holds still for 100 ms (at most
// 2 s) before reading it.
func (s *pgServer) backendsCPU() float64 {
	pid, err := postmasterPid(s)
	if err != nil {
		return 0
	}
	last := childrenCPU(pid)
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		now := childrenCPU(pid)
		if now == last {
			break
		}
		last = now
	}
	return last
}

// postmasterPid reads the server's pid from postmaster.pid.
func postmasterPid(p *pgServer) (int, error) {
	b, err := os.ReadFile(filepath.Join(p.Dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// childrenCPU is the CPU time (user + system), s, of process pid's reaped
// children.
func childrenCPU(pid int) float64 { return statTicks(pid, 13) }

// procStat is the fields of /proc/<pid>/stat after the command name (which
// is in parentheses and may hold spaces): f[0] is the state.
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
}

// procCPU is the CPU time (user + system) process pid has used so far, in
// seconds, from /proc (0 where /proc is missing).
func procCPU(pid int) float64 { return statTicks(pid, 11) }

// statTicks is the sum of the two clock-tick fields of /proc/<pid>/stat
// at i and i+1 of procStat's fields (utime, stime at 11; cutime, cstime at
// 13), in seconds (0 where /proc is missing).
func statTicks(pid, i int) float64 {
	f := procStat(pid)
	if len(f) < i+2 {
		return 0
	}
	a, _ := strconv.ParseFloat(f[i], 64)
	b, _ := strconv.ParseFloat(f[i+1], 64)
	return (a + b) / 100 // USER_HZ is 100 on Linux
}
