package httpsource

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/testing/testtls"
)

// tlsServer is a real https server on 127.0.0.1 with the given
// certificate, serving /rows.ndjson (10 rows) and counting handshakes.
type tlsServer struct {
	*server
	handshakes atomic.Int64
}

func newTLSServer(t *testing.T, leaf *testtls.Leaf) *tlsServer {
	s := &tlsServer{server: &server{docs: map[string]doc{}, handlers: map[string]http.HandlerFunc{},
		hits: map[string]int{}, status: map[string][]int{}}}
	s.Server = httptest.NewUnstartedServer(s.server)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{leaf.TLS},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s.handshakes.Add(1)
			return nil, nil // the config above
		},
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	s.put("/rows.ndjson", doc{body: ndjson(0, 10), etag: `"v1"`})
	return s
}

// localhostURL is s's URL for path with host localhost instead of 127.0.0.1.
func (s *tlsServer) localhostURL(path string) string {
	return strings.Replace(s.URL, "127.0.0.1", "localhost", 1) + path
}

// TestTLS: an https source is verified against the system's roots unless
// option ca_file names the CAs to trust instead; a certificate that does
// not verify is a clear 08001, not retried; a bad ca_file is 22023 naming
// the option.
func TestTLS(t *testing.T) {
	ca := testtls.NewCA(t, "sluice test CA")
	srv := newTLSServer(t, ca.Server(t, "127.0.0.1", "localhost"))
	dir := t.TempDir()
	caFile := ca.WriteCert(t, dir)
	otherCA := testtls.NewCA(t, "another CA").WriteCert(t, t.TempDir())
	ctx := context.Background()

	t.Run("system roots", func(t *testing.T) {
		before := srv.handshakes.Load()
		_, err := Connector{}.Open(ctx, config(srv.URL+"/rows.ndjson", map[string]string{"headers": authHeaders, "retries": "3"}))
		wantCode(t, err, "08001")
		t.Logf("no ca_file: %v (hint: %s)", err, pgerr.As(err).Hint)
		if msg := err.Error(); !strings.Contains(msg, "TLS verification") || !strings.Contains(msg, "unknown authority") {
			t.Errorf("the error does not say the certificate failed verification: %v", err)
		}
		if !strings.Contains(pgerr.As(err).Hint, "ca_file") {
			t.Errorf("the hint does not point at ca_file: %q", pgerr.As(err).Hint)
		}
		if n := srv.handshakes.Load() - before; n != 1 {
			t.Errorf("%d handshakes, want 1: a certificate failure is not retried", n)
		}
		if srv.hitsOf("/rows.ndjson") != 0 {
			t.Error("a request reached the server over an unverified connection")
		}
	})

	t.Run("ca_file", func(t *testing.T) {
		for _, u := range []string{srv.URL + "/rows.ndjson", srv.localhostURL("/rows.ndjson")} {
			src := openSource(t, config(u, map[string]string{"ca_file": caFile, "headers": authHeaders}))
			if n := rows(readAll(t, src, "", "")); n != 10 {
				t.Errorf("%s: %d rows, want 10", u, n)
			}
		}
	})

	t.Run("ca_file replaces the roots", func(t *testing.T) {
		_, err := Connector{}.Open(ctx, config(srv.URL+"/rows.ndjson", map[string]string{"ca_file": otherCA}))
		wantCode(t, err, "08001")
		if !strings.Contains(pgerr.As(err).Hint, otherCA) {
			t.Errorf("the hint does not name the ca_file: %v (hint %q)", err, pgerr.As(err).Hint)
		}
	})

	t.Run("bad ca_file", func(t *testing.T) {
		notPEM := filepath.Join(dir, "not.pem")
		if err := os.WriteFile(notPEM, []byte("-----BEGIN NONSENSE-----\nxyz\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		keyOnly := filepath.Join(dir, "key.pem")
		if err := os.WriteFile(keyOnly, ca.Server(t, "localhost").KeyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, file := range []string{filepath.Join(dir, "missing.pem"), notPEM, keyOnly, dir, ""} {
			before := srv.handshakes.Load()
			_, err := Connector{}.Open(ctx, config(srv.URL+"/rows.ndjson", map[string]string{"ca_file": file}))
			wantCode(t, err, "22023")
			t.Logf("ca_file %q: %v", file, err)
			if !strings.Contains(err.Error(), `"ca_file"`) {
				t.Errorf("ca_file %q: the error does not name the option: %v", file, err)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "xyz") {
				t.Errorf("the error shows the file's content: %v", err)
			}
			if srv.handshakes.Load() != before {
				t.Errorf("ca_file %q: a bad option still reached the server", file)
			}
		}
		_, err := Connector{}.Open(ctx, config(strings.Replace(srv.URL, "https:", "http:", 1)+"/rows.ndjson", map[string]string{"ca_file": caFile}))
		wantCode(t, err, "22023")
		if !strings.Contains(err.Error(), `"ca_file"`) {
			t.Errorf("ca_file with an http URL: %v", err)
		}
	})

	t.Run("host name", func(t *testing.T) {
		other := newTLSServer(t, ca.Server(t, "elsewhere.example"))
		_, err := Connector{}.Open(ctx, config(other.URL+"/rows.ndjson", map[string]string{"ca_file": caFile}))
		wantCode(t, err, "08001")
		t.Logf("wrong host: %v (hint: %s)", err, pgerr.As(err).Hint)
		if !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(pgerr.As(err).Hint, "host name") {
			t.Errorf("the error does not say the certificate is for another host: %v (hint %q)", err, pgerr.As(err).Hint)
		}
	})

	t.Run("no downgrade", func(t *testing.T) {
		plain := newServer(t, "")
		plain.put("/rows.ndjson", doc{body: ndjson(0, 10)})
		srv.handle("/moved.ndjson", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+"/rows.ndjson", http.StatusFound)
		})
		_, err := Connector{}.Open(ctx, config(srv.URL+"/moved.ndjson", map[string]string{"ca_file": caFile, "headers": authHeaders}))
		wantCode(t, err, "08001")
		t.Logf("https -> http: %v", err)
		if plain.hitsOf("/rows.ndjson") != 0 {
			t.Error("the redirect to http was followed, with the headers in the clear")
		}
	})

	t.Run("injected client", func(t *testing.T) {
		c := Connector{Client: &http.Client{}}
		src, err := c.Open(ctx, config(srv.URL+"/rows.ndjson", map[string]string{"ca_file": caFile}))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if c.Client.Transport != nil {
			t.Error("ca_file changed the connector's own client")
		}
	})
}

// TestTLSSystemRoots: without ca_file the system's roots are used. The
// test runs itself again with SSL_CERT_FILE naming the test CA (Go reads
// the system roots once per process, so it cannot change them in place).
func TestTLSSystemRoots(t *testing.T) {
	if file := os.Getenv("SLUICE_TEST_SYSTEM_CA_URL"); file != "" {
		url, caFile := file, os.Getenv("SLUICE_TEST_OTHER_CA")
		src := openSource(t, config(url, nil))
		if n := rows(readAll(t, src, "", "")); n != 10 {
			t.Errorf("%d rows through the system roots, want 10", n)
		}
		_, err := Connector{}.Open(context.Background(), config(url, map[string]string{"ca_file": caFile}))
		wantCode(t, err, "08001") // ca_file replaces the system roots, it does not add to them
		return
	}
	ca := testtls.NewCA(t, "system CA")
	srv := newTLSServer(t, ca.Server(t, "127.0.0.1"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestTLSSystemRoots$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"SSL_CERT_FILE="+ca.WriteCert(t, t.TempDir()),
		"SSL_CERT_DIR="+t.TempDir(),
		"SLUICE_TEST_SYSTEM_CA_URL="+srv.URL+"/rows.ndjson",
		"SLUICE_TEST_OTHER_CA="+testtls.NewCA(t, "another CA").WriteCert(t, t.TempDir()))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("the test with SSL_CERT_FILE failed: %v\n%s", err, out)
	}
}
