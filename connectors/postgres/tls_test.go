package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/testing/testpg"
	"github.com/sluice-db/sluice/internal/testing/testtls"
)

// tlsSecret is the password in the TLS tests' dsns: no error, detail, hint
// nor log line may show it.
const tlsSecret = "Hunter2-TLS-s3cret"

// startTLS starts a cluster of its own with TLS t, stopped at the test's end.
func startTLS(tb testing.TB, t testpg.TLS) *testpg.Server {
	tb.Helper()
	if reason := testpg.Missing(); reason != "" {
		tb.Skip(reason)
	}
	dir, err := os.MkdirTemp("", "sluice-postgres-tls-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // as root the cluster runs as user postgres
		tb.Fatal(err)
	}
	srv, err := testpg.StartWith(filepath.Join(dir, "pg"), testpg.Options{TLS: &t})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return srv
}

// logBuffer collects a source's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openLogged opens a source whose log goes to the returned buffer.
func openLogged(opts map[string]string) (connectors.Source, *logBuffer, error) {
	logs := &logBuffer{}
	cfg := config(opts)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src, err := Connector{}.Open(context.Background(), cfg)
	return src, logs, err
}

// noSecret fails t when err or logs show the password.
func noSecret(t *testing.T, err error, logs *logBuffer) {
	t.Helper()
	if err != nil {
		pe := pgerr.As(err)
		if strings.Contains(err.Error()+pe.Detail+pe.Hint, tlsSecret) {
			t.Errorf("the error shows the password: %v (hint %q)", err, pe.Hint)
		}
	}
	if logs != nil && strings.Contains(logs.String(), tlsSecret) {
		t.Errorf("the log shows the password:\n%s", logs)
	}
}

// readSSL reads, through the source's own connection, whether that
// connection uses TLS (pg_stat_ssl of the backend that serves the COPY).
func readSSL(t *testing.T, src connectors.Source) bool {
	t.Helper()
	batches := readAll(t, src, "", "")
	if rows(batches) != 1 {
		t.Fatalf("pg_stat_ssl: %d rows, want 1", rows(batches))
	}
	return batches[0].Column(0).(*array.Boolean).Value(0)
}

const sslQuery = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

// TestTLS runs the sslmodes against a server that accepts TCP over TLS
// only, its certificate signed by a test CA for 127.0.0.1 and localhost.
func TestTLS(t *testing.T) {
	ca := testtls.NewCA(t, "sluice test CA")
	leaf := ca.Server(t, "127.0.0.1", "localhost")
	srv := startTLS(t, testpg.TLS{CertPEM: leaf.CertPEM, KeyPEM: leaf.KeyPEM, Only: true})
	dir := t.TempDir()
	caFile := ca.WriteCert(t, dir)
	otherCA := testtls.NewCA(t, "another CA").WriteCert(t, t.TempDir())

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE tls_rows AS SELECT i::bigint AS id FROM generate_series(1, 1000) i"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	url := func(host, params string) string {
		return fmt.Sprintf("postgres://postgres:%s@%s:%d/postgres?%s", tlsSecret, host, srv.Port, params)
	}

	t.Run("verify-full", func(t *testing.T) {
		for _, dsn := range []string{
			url("localhost", "sslmode=verify-full&sslrootcert="+caFile),
			url("127.0.0.1", "sslmode=verify-full&sslrootcert="+caFile),
			fmt.Sprintf("host=localhost port=%d user=postgres password=%s dbname=postgres sslmode=verify-full sslrootcert=%s", srv.Port, tlsSecret, caFile),
		} {
			src, logs, err := openLogged(map[string]string{"dsn": dsn, "table": "tls_rows", "cursor_column": "id"})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := int64s(t, readAll(t, src, "", ""), 0); len(got) != 1000 || got[0] != 1 || got[999] != 1000 {
				t.Errorf("read %d rows through verify-full, want ids 1..1000", len(got))
			}
			src.Close()
			src = open(t, map[string]string{"dsn": dsn, "query": sslQuery})
			if !readSSL(t, src) {
				t.Error("the read's connection does not use TLS")
			}
			noSecret(t, nil, logs)
		}
	})

	t.Run("verify-ca", func(t *testing.T) {
		src := open(t, map[string]string{"dsn": url("127.0.0.1", "sslmode=verify-ca&sslrootcert="+caFile), "query": sslQuery})
		if !readSSL(t, src) {
			t.Error("the read's connection does not use TLS")
		}
	})

	t.Run("wrong CA", func(t *testing.T) {
		for _, mode := range []string{"verify-full", "verify-ca", "require"} { // require with a root certificate is verify-ca, as in libpq
			src, logs, err := openLogged(map[string]string{"dsn": url("localhost", "sslmode="+mode+"&sslrootcert="+otherCA), "table": "tls_rows"})
			if err == nil {
				src.Close()
				t.Fatalf("sslmode=%s against another CA connected", mode)
			}
			wantCode(t, err, "08001")
			t.Logf("sslmode=%s, another CA: %v (hint: %s)", mode, err, pgerr.As(err).Hint)
			if msg := err.Error(); !strings.Contains(msg, "TLS verification of the server's certificate failed") || !strings.Contains(msg, "unknown authority") {
				t.Errorf("sslmode=%s: the error does not say the certificate failed verification: %v", mode, err)
			}
			if pgerr.As(err).Hint == "" {
				t.Errorf("sslmode=%s: no hint: %v", mode, err)
			}
			noSecret(t, err, logs)
		}
	})

	t.Run("verify-full without sslrootcert", func(t *testing.T) {
		// libpq refuses to verify without a root certificate; pgx alone
		// would use the system's roots.
		for _, mode := range []string{"verify-full", "verify-ca"} {
			_, err := Connector{}.Open(ctx, config(map[string]string{"dsn": url("localhost", "sslmode="+mode), "table": "tls_rows"}))
			wantCode(t, err, "22023")
			t.Logf("sslmode=%s, no sslrootcert: %v", mode, err)
			if !strings.Contains(err.Error(), `"dsn"`) || !strings.Contains(err.Error(), "sslrootcert") {
				t.Errorf("sslmode=%s without sslrootcert: %v, want an error naming dsn and sslrootcert", mode, err)
			}
			noSecret(t, err, nil)
		}
	})

	t.Run("sslrootcert missing or bad", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.crt")
		if err := os.WriteFile(bad, []byte("not a certificate"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, file := range []string{filepath.Join(dir, "nope.crt"), bad} {
			_, err := Connector{}.Open(ctx, config(map[string]string{"dsn": url("localhost", "sslmode=verify-full&sslrootcert="+file), "table": "tls_rows"}))
			wantCode(t, err, "22023")
			t.Logf("%s: %v", filepath.Base(file), err)
			noSecret(t, err, nil)
		}
	})

	t.Run("require", func(t *testing.T) {
		src, logs, err := openLogged(map[string]string{"dsn": url("127.0.0.1", "sslmode=require"), "query": sslQuery})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if !readSSL(t, src) {
			t.Error("sslmode=require: the read's connection does not use TLS")
		}
		if strings.Contains(logs.String(), "without TLS") {
			t.Errorf("a TLS connection was logged as plaintext:\n%s", logs)
		}
	})

	t.Run("disable refused", func(t *testing.T) {
		_, logs, err := openLogged(map[string]string{"dsn": url("127.0.0.1", "sslmode=disable"), "table": "tls_rows"})
		wantCode(t, err, "28000")
		t.Logf("sslmode=disable: %v", err)
		if !strings.Contains(err.Error(), "no encryption") {
			t.Errorf("sslmode=disable: %v, want the server's refusal of an unencrypted connection", err)
		}
		noSecret(t, err, logs)
	})

	t.Run("prefer", func(t *testing.T) {
		// The server offers TLS: prefer takes it, without a warning.
		src, logs, err := openLogged(map[string]string{"dsn": url("127.0.0.1", "sslmode=prefer"), "query": sslQuery})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if !readSSL(t, src) {
			t.Error("sslmode=prefer to a TLS server: no TLS")
		}
		if strings.Contains(logs.String(), "without TLS") {
			t.Errorf("a TLS connection was logged as plaintext:\n%s", logs)
		}
	})
}

// TestTLSPreferFallback: sslmode prefer (also the default when the dsn
// names none) to a server without TLS connects in plaintext, as in libpq,
// and the source says so in its log; require fails instead.
func TestTLSPreferFallback(t *testing.T) {
	plain := server(t) // the shared cluster has no TLS
	hostPort := strings.Split(strings.Split(plain, "@")[1], "/")[0]
	for _, params := range []string{"sslmode=prefer", "sslmode=allow", ""} {
		dsn := fmt.Sprintf("postgres://postgres:%s@%s/postgres?%s", tlsSecret, hostPort, params)
		src, logs, err := openLogged(map[string]string{"dsn": dsn, "query": sslQuery})
		if err != nil {
			t.Fatalf("%q: %v", params, err)
		}
		if readSSL(t, src) {
			t.Errorf("%q: TLS to a server without it", params)
		}
		src.Close()
		if n := strings.Count(logs.String(), "POSTGRES source connected without TLS"); n != 1 {
			t.Errorf("%q: %d warnings of the plaintext fallback, want 1:\n%s", params, n, logs)
		}
		noSecret(t, nil, logs)
	}
	src, logs, err := openLogged(map[string]string{"dsn": plain, "query": sslQuery}) // sslmode=disable
	if err != nil {
		t.Fatal(err)
	}
	readSSL(t, src)
	src.Close()
	if strings.Contains(logs.String(), "without TLS") {
		t.Errorf("sslmode=disable was warned about:\n%s", logs)
	}
	_, logs, err = openLogged(map[string]string{"dsn": fmt.Sprintf("postgres://postgres:%s@%s/postgres?sslmode=require", tlsSecret, hostPort), "table": "t"})
	wantCode(t, err, "08001")
	t.Logf("sslmode=require, no TLS: %v", err)
	if !strings.Contains(err.Error(), "refused TLS") {
		t.Errorf("sslmode=require to a server without TLS: %v", err)
	}
	noSecret(t, err, logs)
}

// TestTLSClientCertificate: sslcert and sslkey are sent to a server that
// authenticates TCP clients by certificate (pg_hba method cert).
func TestTLSClientCertificate(t *testing.T) {
	ca := testtls.NewCA(t, "sluice test CA")
	leaf := ca.Server(t, "127.0.0.1", "localhost")
	srv := startTLS(t, testpg.TLS{CertPEM: leaf.CertPEM, KeyPEM: leaf.KeyPEM, ClientCAPEM: ca.CertPEM, ClientCerts: true})
	dir := t.TempDir()
	caFile := ca.WriteCert(t, dir)
	certFile, keyFile := ca.Client(t, "postgres").Write(t, dir, "postgres")
	strangerCert, strangerKey := testtls.NewCA(t, "another CA").Client(t, "postgres").Write(t, dir, "stranger")
	dsn := func(extra string) string {
		return fmt.Sprintf("host=localhost port=%d user=postgres dbname=postgres password=%s sslmode=verify-full sslrootcert=%s %s", srv.Port, tlsSecret, caFile, extra)
	}

	src := open(t, map[string]string{"dsn": dsn("sslcert=" + certFile + " sslkey=" + keyFile), "query": sslQuery})
	if !readSSL(t, src) {
		t.Error("no TLS")
	}
	for _, extra := range []string{"", "sslcert=" + strangerCert + " sslkey=" + strangerKey} {
		_, logs, err := openLogged(map[string]string{"dsn": dsn(extra), "query": sslQuery})
		if err == nil {
			t.Fatalf("%q: connected without a valid client certificate", extra)
		}
		t.Logf("client certificate %q: %v", extra, err)
		if code := pgerr.Code(err); code != "28000" && code != "08001" && code != "08006" {
			t.Errorf("%q: SQLSTATE %s (%v), want 28000 or a connection error", extra, code, err)
		}
		noSecret(t, err, logs)
	}
	_, err := Connector{}.Open(context.Background(), config(map[string]string{"dsn": dsn("sslcert=" + certFile), "query": sslQuery}))
	wantCode(t, err, "22023") // sslcert without sslkey
}
