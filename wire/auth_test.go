package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/scram"
)

// devTLS returns a server TLS config with a fresh development certificate
// for 127.0.0.1, and the certificate's file (the CA for verify-full).
func devTLS(t *testing.T) (*tls.Config, string) {
	t.Helper()
	certPEM, keyPEM, err := DevCertificate([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "server.crt")
	if err := os.WriteFile(file, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, file
}

// dial connects with a pgx connection string; the caller checks err.
func dial(t *testing.T, connString string) (*pgx.Conn, error) {
	t.Helper()
	conn, err := pgx.Connect(testCtx(t), connString)
	if err == nil {
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
	}
	return conn, err
}

func mustDial(t *testing.T, connString string) *pgx.Conn {
	t.Helper()
	conn, err := dial(t, connString)
	if err != nil {
		t.Fatalf("connect %s: %v", connString, err)
	}
	if _, err := conn.Exec(testCtx(t), "select 1"); err != nil {
		t.Fatalf("query after connect: %v", err)
	}
	return conn
}

func mustAuth(t *testing.T, method string, users map[string]string) *PasswordAuth {
	t.Helper()
	a, err := NewPasswordAuth(method, users)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func scramSecret(t *testing.T, password string) string {
	t.Helper()
	v, err := NewSCRAMVerifier(password, DefaultSCRAMIterations)
	if err != nil {
		t.Fatal(err)
	}
	return v.String()
}

func TestTLS(t *testing.T) {
	cfg, caFile := devTLS(t)
	ts := startServerConfig(t, newFakeHandler(), Config{TLS: cfg})

	t.Run("require", func(t *testing.T) {
		conn := mustDial(t, fmt.Sprintf("postgres://tester@%s/db?sslmode=require", ts.addr))
		if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
			t.Fatalf("connection is %T, want *tls.Conn", conn.PgConn().Conn())
		}
	})
	t.Run("verify-full", func(t *testing.T) {
		mustDial(t, fmt.Sprintf("postgres://tester@%s/db?sslmode=verify-full&sslrootcert=%s", ts.addr, caFile))
	})
	t.Run("verify-full with the wrong host name", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(ts.addr)
		_, err := dial(t, fmt.Sprintf("postgres://tester@localhost:%s/db?sslmode=verify-full&sslrootcert=%s", port, caFile))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("got %v, want a certificate verification error", err)
		}
	})
	t.Run("plaintext still allowed", func(t *testing.T) {
		mustDial(t, fmt.Sprintf("postgres://tester@%s/db?sslmode=disable", ts.addr))
	})
}

func TestTLSNotConfigured(t *testing.T) {
	ts := startServer(t, newFakeHandler())
	_, err := dial(t, fmt.Sprintf("postgres://tester@%s/db?sslmode=require", ts.addr))
	if err == nil || !strings.Contains(err.Error(), "server refused TLS") {
		t.Fatalf("sslmode=require without TLS: got %v, want the server refusing SSL", err)
	}
	mustDial(t, fmt.Sprintf("postgres://tester@%s/db?sslmode=prefer", ts.addr))
}

func TestRequireTLS(t *testing.T) {
	cfg, _ := devTLS(t)
	ts := startServerConfig(t, newFakeHandler(), Config{TLS: cfg, RequireTLS: true})
	_, err := dial(t, fmt.Sprintf("postgres://tester@%s/db?sslmode=disable", ts.addr))
	pe := wantCode(t, err, pgerrcode.InvalidAuthorizationSpecification)
	if !strings.Contains(pe.Message, "SSL required") {
		t.Fatalf("message %q, want it to say SSL required", pe.Message)
	}
	mustDial(t, fmt.Sprintf("postgres://tester@%s/db?sslmode=require", ts.addr))
}

// logBuffer collects a server's logs for inspection.
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

func TestSCRAM(t *testing.T) {
	const password = "correct horse battery staple"
	secret := scramSecret(t, password)
	tlsCfg, caFile := devTLS(t)
	logs := &logBuffer{}
	ts := startServerConfig(t, newFakeHandler(), Config{
		TLS:           tlsCfg,
		Authenticator: mustAuth(t, AuthSCRAM, map[string]string{"alice": secret}),
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	url := func(user, pw, params string) string {
		return fmt.Sprintf("postgres://%s:%s@%s/db?%s", user, strings.ReplaceAll(pw, " ", "%20"), ts.addr, params)
	}

	t.Run("plaintext", func(t *testing.T) {
		mustDial(t, url("alice", password, "sslmode=disable"))
	})
	t.Run("TLS with channel binding", func(t *testing.T) {
		mustDial(t, url("alice", password, "sslmode=verify-full&sslrootcert="+caFile+"&channel_binding=require"))
	})
	t.Run("TLS without channel binding", func(t *testing.T) {
		mustDial(t, url("alice", password, "sslmode=require&channel_binding=disable"))
	})
	t.Run("channel binding needs TLS", func(t *testing.T) {
		if _, err := dial(t, url("alice", password, "sslmode=disable&channel_binding=require")); err == nil {
			t.Fatal("channel_binding=require succeeded in plaintext")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := dial(t, url("alice", "wrong", "sslmode=require"))
		pe := wantCode(t, err, pgerrcode.InvalidPassword)
		if pe.Message != `password authentication failed for user "alice"` || pe.Severity != "FATAL" {
			t.Fatalf("got %s %q", pe.Severity, pe.Message)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		_, err := dial(t, url("mallory", password, "sslmode=disable"))
		pe := wantCode(t, err, pgerrcode.InvalidPassword)
		if pe.Message != `password authentication failed for user "mallory"` {
			t.Fatalf("got %q", pe.Message)
		}
	})
	t.Run("no password", func(t *testing.T) {
		_, err := dial(t, fmt.Sprintf("postgres://alice@%s/db?sslmode=disable", ts.addr))
		if err == nil {
			t.Fatal("connected without a password")
		}
	})
	t.Run("no secret in the logs", func(t *testing.T) {
		out := logs.String()
		if !strings.Contains(out, "authentication failed") {
			t.Fatalf("the failures were not logged:\n%s", out)
		}
		for _, s := range []string{password, "wrong", secret, strings.SplitN(secret, "$", 3)[2]} {
			if strings.Contains(out, s) {
				t.Fatalf("the logs hold %q:\n%s", s, out)
			}
		}
	})
}

func TestMD5(t *testing.T) {
	ts := startServerConfig(t, newFakeHandler(), Config{
		Authenticator: mustAuth(t, AuthMD5, map[string]string{
			"bob":   MD5Secret("bob", "hunter2"),
			"alice": scramSecret(t, "pencil"),
		}),
	})
	mustDial(t, fmt.Sprintf("postgres://bob:hunter2@%s/db?sslmode=disable", ts.addr))
	// A user stored with a SCRAM verifier still uses SCRAM.
	mustDial(t, fmt.Sprintf("postgres://alice:pencil@%s/db?sslmode=disable", ts.addr))
	_, err := dial(t, fmt.Sprintf("postgres://bob:wrong@%s/db?sslmode=disable", ts.addr))
	wantCode(t, err, pgerrcode.InvalidPassword)
	_, err = dial(t, fmt.Sprintf("postgres://nobody:hunter2@%s/db?sslmode=disable", ts.addr))
	wantCode(t, err, pgerrcode.InvalidPassword)
}

func TestTrustLoopback(t *testing.T) {
	ts := startServerConfig(t, newFakeHandler(), Config{Authenticator: mustAuth(t, AuthTrust, nil)})
	mustDial(t, fmt.Sprintf("postgres://anyone@%s/db?sslmode=disable", ts.addr))

	// A remote client is not trusted: refused without users, asked for a
	// SCRAM exchange with them.
	remote := StartupInfo{User: "anyone", RemoteAddr: &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 5000}}
	err := mustAuth(t, AuthTrust, nil).Authenticate(t.Context(), remote, &recordingAuthConn{})
	wantPgErr(t, err, pgerrcode.InvalidAuthorizationSpecification)

	ac := &recordingAuthConn{}
	err = mustAuth(t, AuthTrust, map[string]string{"alice": scramSecret(t, "x")}).Authenticate(t.Context(), remote, ac)
	if err == nil || len(ac.sent) == 0 {
		t.Fatalf("remote client under trust with users: err %v, sent %v; want a SASL exchange", err, ac.sent)
	}
	if _, ok := ac.sent[0].(*pgproto3.AuthenticationSASL); !ok {
		t.Fatalf("sent %T first, want AuthenticationSASL", ac.sent[0])
	}
}

// recordingAuthConn records what an Authenticator sends; the client
// never answers.
type recordingAuthConn struct{ sent []pgproto3.BackendMessage }

func (r *recordingAuthConn) Send(m pgproto3.BackendMessage) { r.sent = append(r.sent, m) }
func (r *recordingAuthConn) Flush() error                   { return nil }
func (r *recordingAuthConn) SetAuthType(uint32) error       { return nil }
func (r *recordingAuthConn) Receive() (pgproto3.FrontendMessage, error) {
	return nil, fmt.Errorf("client left")
}

func wantPgErr(t *testing.T, err error, code string) {
	t.Helper()
	if got := pgerr.Code(err); got != code {
		t.Fatalf("got %v (SQLSTATE %q), want SQLSTATE %s", err, got, code)
	}
}

func TestMaxConnections(t *testing.T) {
	ts := startServerConfig(t, newFakeHandler(), Config{MaxConnections: 2})
	url := fmt.Sprintf("postgres://tester@%s/db?sslmode=disable", ts.addr)
	mustDial(t, url)
	second := mustDial(t, url)
	_, err := dial(t, url)
	pe := wantCode(t, err, pgerrcode.TooManyConnections)
	if pe.Message != "sorry, too many clients already" {
		t.Fatalf("got %q", pe.Message)
	}
	// A slot comes back when a connection ends.
	if err := second.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := dial(t, url)
		if err == nil {
			_ = conn.Close(testCtx(t))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after a connection closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSCRAMVerifierFormat(t *testing.T) {
	v, err := NewSCRAMVerifier("pencil", 4096)
	if err != nil {
		t.Fatal(err)
	}
	s := v.String()
	if !strings.HasPrefix(s, "SCRAM-SHA-256$4096:") {
		t.Fatalf("verifier %q", s)
	}
	back, err := ParseSCRAMVerifier(s)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != s {
		t.Fatalf("round trip: %q != %q", back.String(), s)
	}
	for _, bad := range []string{"pencil", "SCRAM-SHA-256$0:c2FsdA==$a:b", "SCRAM-SHA-256$4096:c2FsdA==$a:b", "md5xyz"} {
		if err := CheckSecret(AuthSCRAM, bad); err == nil {
			t.Errorf("CheckSecret(%q) accepted it", bad)
		} else if strings.Contains(err.Error(), bad) {
			t.Errorf("CheckSecret's error quotes the secret: %v", err)
		}
	}
	if err := CheckSecret(AuthSCRAM, MD5Secret("bob", "x")); err == nil {
		t.Error("an md5 secret was accepted under scram-sha-256")
	}
	if err := CheckSecret(AuthMD5, MD5Secret("bob", "x")); err != nil {
		t.Error(err)
	}
}

// TestSCRAMVector checks the key derivation, the proof and the server
// signature against the example exchange of RFC 7677 section 3.
func TestSCRAMVector(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	v, err := scram.Derive("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=" + nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=" + nonce
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	sig, ok := v.VerifyProof(authMessage, proof)
	if !ok {
		t.Fatal("the RFC's proof was refused")
	}
	if got := base64.StdEncoding.EncodeToString(sig); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Fatalf("server signature %s", got)
	}
	proof[0] ^= 1
	if _, ok := v.VerifyProof(authMessage, proof); ok {
		t.Fatal("a wrong proof was accepted")
	}
}
