package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluice-db/sluice/internal/testing/testserver"
)

// TestSecurity runs the binary with users, SCRAM, TLS and require_tls made
// by its own `cert` and `password` commands, and connects with the real
// psql and with pgx.
func TestSecurity(t *testing.T) {
	const password = "s3cret pass"
	dir := t.TempDir()
	certDir := filepath.Join(dir, "tls")
	if out, err := exec.Command(gatewayBin, "cert", "--host", "127.0.0.1", "--out", certDir).CombinedOutput(); err != nil {
		t.Fatalf("gateway cert: %v\n%s", err, out)
	}
	pw := exec.Command(gatewayBin, "password")
	pw.Stdin = strings.NewReader(password + "\n")
	var pwErr bytes.Buffer
	pw.Stderr = &pwErr
	out, err := pw.Output()
	if err != nil {
		t.Fatalf("gateway password: %v\n%s", err, pwErr.String())
	}
	verifier := strings.TrimSpace(string(out))

	caFile := filepath.Join(certDir, "server.crt")
	s := startSecureServer(t, dir, fmt.Sprintf(`
data_dir: %s
threads: 1
auth: scram-sha-256
require_tls: true
tls_cert_file: %s
tls_key_file: %s
max_connections: 3
users:
  - name: alice
    password: %s
`, filepath.Join(dir, "data"), caFile, filepath.Join(certDir, "server.key"), verifier),
		func(port int) string {
			return fmt.Sprintf("postgres://alice:%s@127.0.0.1:%d/sluice?sslmode=verify-full&sslrootcert=%s&connect_timeout=5",
				strings.ReplaceAll(password, " ", "%20"), port, caFile)
		})

	psql := func(t *testing.T, pgpassword, conninfo string, args ...string) (string, string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, psqlPath(t), append([]string{"-X", "-A", "-t", conninfo}, args...)...)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+pgpassword, "PGCONNECT_TIMEOUT=10", "PAGER=", "PSQL_PAGER=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	conninfo := func(extra string) string {
		return fmt.Sprintf("host=127.0.0.1 port=%d user=alice dbname=sluice %s", s.Port, extra)
	}

	t.Run("psql sslmode=require", func(t *testing.T) {
		stdout, stderr, err := psql(t, password, conninfo("sslmode=require"), "-c", "SELECT 40 + 2")
		if err != nil || strings.TrimSpace(stdout) != "42" {
			t.Fatalf("psql: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
		}
	})
	t.Run("psql verify-full with channel binding", func(t *testing.T) {
		stdout, stderr, err := psql(t, password, conninfo("sslmode=verify-full sslrootcert="+caFile+" channel_binding=require"), "-c", "SELECT 1")
		if err != nil || strings.TrimSpace(stdout) != "1" {
			t.Fatalf("psql: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
		}
	})
	t.Run("psql wrong password", func(t *testing.T) {
		_, stderr, err := psql(t, "wrong", conninfo("sslmode=require"), "-c", "SELECT 1")
		if err == nil || !strings.Contains(stderr, `password authentication failed for user "alice"`) {
			t.Fatalf("psql with a wrong password: %v\nstderr: %s", err, stderr)
		}
	})
	t.Run("psql plaintext refused", func(t *testing.T) {
		_, stderr, err := psql(t, password, conninfo("sslmode=disable"), "-c", "SELECT 1")
		if err == nil || !strings.Contains(stderr, "SSL required") {
			t.Fatalf("psql in plaintext: %v\nstderr: %s", err, stderr)
		}
	})
	t.Run("max_connections", func(t *testing.T) {
		var conns []*pgx.Conn
		defer func() {
			for _, c := range conns {
				c.Close(context.Background())
			}
		}()
		var err error
		for range 4 {
			var c *pgx.Conn
			if c, err = pgx.Connect(t.Context(), s.ConnString()); err != nil {
				break
			}
			conns = append(conns, c)
		}
		if len(conns) != 3 || err == nil || !strings.Contains(err.Error(), "53300") {
			t.Fatalf("opened %d connections, then %v; want 3, then SQLSTATE 53300", len(conns), err)
		}
	})

	s.Stop(t)
	logs := s.Log.String()
	for _, secret := range []string{password, "wrong", verifier} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the gateway's log holds %q:\n%s", secret, logs)
		}
	}
}

// secureServer is a gateway started with a config file; ConnString
// authenticates.
type secureServer struct {
	*server
	connString func(port int) string
}

func (s *secureServer) ConnString() string { return s.connString(s.Port) }

// startSecureServer starts the binary with the given config file text and
// waits until connString (given the port) connects.
func startSecureServer(t *testing.T, dir, config string, connString func(port int) string) *secureServer {
	t.Helper()
	file := filepath.Join(dir, "sluice.yaml")
	p := testserver.Start(t, testserver.Options{
		Bin: gatewayBin,
		Dir: repoRoot,
		Args: func(port int) []string {
			text := fmt.Sprintf("listen: 127.0.0.1:%d\nlog_level: debug\n", port) + config
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"serve", "--config", file}
		},
		Ready: pingReady(connString),
	})
	return &secureServer{server: &server{Process: p, DataDir: filepath.Join(dir, "data")}, connString: connString}
}
