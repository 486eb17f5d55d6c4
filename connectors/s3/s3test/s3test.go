// Package s3test starts a real S3 server, versitygw over a local
// directory, for tests of any package that needs object storage.
//
// In TestMain:
//
//	if msg := s3test.Missing(); msg != "" { ... skip the S3 tests with msg ... }
//	srv, err := s3test.Start(dir)
//	defer srv.Close()
//
// or in one test: srv := s3test.StartT(t) (skips when versitygw is missing,
// stops at the test's end). StartTLS and StartTLST serve https with a given
// certificate (internal/testing/testtls makes one).
package s3test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Install is the command that installs the server (the CI script runs it).
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Server is a running versitygw.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT, https:// with TLS
	Host      string // 127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	Dir       string // a bucket is a directory below Dir

	tls    *TLS
	cmd    *exec.Cmd
	done   chan struct{}
	output *syncBuffer
	once   sync.Once
}

// Binary returns the path of versitygw: $VERSITYGW, then PATH, then
// $GOPATH/bin; "" if none exists.
func Binary() string {
	if p := os.Getenv("VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(gp, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// Missing returns "" when versitygw can be run, else a message saying how
// to install it, for t.Skip.
func Missing() string {
	if Binary() != "" {
		return ""
	}
	return "versitygw not found ($VERSITYGW, PATH, $GOPATH/bin); install it with: " + Install
}

// Start runs versitygw on a free loopback port serving dir (created if
// needed) and waits until it answers. Stop it with Close.
func Start(dir string) (*Server, error) {
	return StartTLS(dir, nil)
}

// TLS makes the server speak https.
type TLS struct {
	CertFile, KeyFile string // PEM: versitygw's --cert and --key
	// Roots verify the server's certificate while Start waits for it.
	Roots *x509.CertPool
}

// StartTLS is Start serving https with t's certificate; nil t is Start.
func StartTLS(dir string, t *TLS) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, errors.New(Missing())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 { // the free port may be taken between probe and start
		srv, err := start(bin, dir, t)
		if err == nil {
			return srv, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(bin, dir string, t *TLS) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return startOn(bin, dir, "127.0.0.1:"+strconv.Itoa(port), t)
}

// startOn runs versitygw on host (127.0.0.1:PORT) serving dir.
func startOn(bin, dir, host string, t *TLS) (*Server, error) {
	srv := &Server{
		Endpoint:  "http://" + host,
		Host:      host,
		AccessKey: "sluicetest",
		SecretKey: "sluicetestsecret",
		Region:    "us-east-1",
		Dir:       dir,
		tls:       t,
		done:      make(chan struct{}),
		output:    &syncBuffer{},
	}
	args := []string{"--quiet", "--port", host, "--region", srv.Region}
	client := &http.Client{Timeout: time.Second}
	if t != nil {
		srv.Endpoint = "https://" + host
		args = append(args, "--cert", t.CertFile, "--key", t.KeyFile)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: t.Roots}}
	}
	cmd := exec.Command(bin, append(args, "posix", dir)...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+srv.AccessKey, "ROOT_SECRET_KEY="+srv.SecretKey)
	cmd.Stdout = srv.output
	cmd.Stderr = srv.output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	srv.cmd = cmd
	go func() {
		cmd.Wait()
		close(srv.done)
	}()
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-srv.done:
			return nil, fmt.Errorf("versitygw exited at start: %s", srv.output.String())
		default:
		}
		resp, err := client.Get(srv.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return srv, nil // any HTTP answer (403 unsigned) means it serves
		}
		if time.Now().After(deadline) {
			srv.Close()
			return nil, fmt.Errorf("versitygw did not answer on %s within 20s: %v; output: %s", host, err, srv.output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartT starts a server for one test, in a directory of t.TempDir; it
// skips the test when versitygw is missing and stops the server at the end.
func StartT(t testing.TB) *Server {
	t.Helper()
	if msg := Missing(); msg != "" {
		t.Skip(msg)
	}
	srv, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// StartTLST is StartT serving https with t's certificate.
func StartTLST(tb testing.TB, t TLS) *Server {
	tb.Helper()
	if msg := Missing(); msg != "" {
		tb.Skip(msg)
	}
	srv, err := StartTLS(tb.TempDir(), &t)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	return srv
}

// MakeBucket creates a bucket (a directory below Dir).
func (s *Server) MakeBucket(name string) error {
	return os.MkdirAll(filepath.Join(s.Dir, name), 0o755)
}

// Close stops the server: SIGTERM, then SIGKILL after 5 s.
func (s *Server) Close() {
	s.once.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// Kill stops the server at once with SIGKILL, as a crash would, and waits
// until the process has exited. Close after Kill does nothing.
func (s *Server) Kill() {
	s.once.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		s.cmd.Process.Kill()
		<-s.done
	})
}

// Restart starts a new versitygw on the same directory, address and
// certificate as s, which must have stopped (Close or Kill), and waits
// until it answers. The new server is stopped with its own Close.
func (s *Server) Restart() (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, errors.New(Missing())
	}
	select {
	case <-s.done:
	default:
		return nil, fmt.Errorf("versitygw on %s still runs: Close or Kill it first", s.Host)
	}
	var lastErr error
	for range 50 { // the port may linger for a moment after the kill
		srv, err := startOn(bin, s.Dir, s.Host, s.tls)
		if err == nil {
			return srv, nil
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	return nil, lastErr
}

// Output is what the server printed so far.
func (s *Server) Output() string { return s.output.String() }

func freePort() (int, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
