package clients

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/testing/testserver"
)

var (
	gatewayBin string // the gateway binary TestMain built
	repoRoot   string // the repository's root; the gateway runs there
)

// TestMain builds ./cmd/gateway once for every test of the package.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testserver.Main(m, &gatewayBin, &repoRoot))
}

// startServer starts the gateway (trust authentication) on a free port with
// a fresh data directory and waits until it answers.
func startServer(t *testing.T) *testserver.Process {
	t.Helper()
	dataDir := t.TempDir()
	return testserver.Start(t, testserver.Options{
		Bin: gatewayBin,
		Dir: repoRoot,
		Args: func(port int) []string {
			return []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir,
				"--log-level", "debug", "--shutdown-timeout", "10s"}
		},
		Ready: func(ctx context.Context, port int) error {
			conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://sluice@127.0.0.1:%d/sluice?sslmode=disable&connect_timeout=5", port))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			return conn.Ping(ctx)
		},
	})
}

// secureUser is the configured user of the secure gateway.
const secureUser = "alice"

// securePassword has a space and punctuation, which each client must pass
// through its connection parameters intact.
const securePassword = "s3cret pass!"

// secureServer is a gateway that accepts only TLS clients (require_tls)
// authenticating as secureUser with SCRAM-SHA-256.
type secureServer struct {
	*testserver.Process
	CAFile string // the gateway's self-signed certificate
}

// startSecureServer starts the gateway with a development certificate and
// a SCRAM verifier made by its own `cert` and `password` commands.
func startSecureServer(t *testing.T) *secureServer {
	t.Helper()
	dir := t.TempDir()
	certDir := filepath.Join(dir, "tls")
	if out, err := exec.Command(gatewayBin, "cert", "--host", "127.0.0.1", "--out", certDir).CombinedOutput(); err != nil {
		t.Fatalf("gateway cert: %v\n%s", err, out)
	}
	pw := exec.Command(gatewayBin, "password")
	pw.Stdin = strings.NewReader(securePassword + "\n")
	out, err := pw.Output()
	if err != nil {
		t.Fatalf("gateway password: %v", err)
	}
	caFile := filepath.Join(certDir, "server.crt")
	config := filepath.Join(dir, "sluice.yaml")
	p := testserver.Start(t, testserver.Options{
		Bin: gatewayBin,
		Dir: repoRoot,
		Args: func(port int) []string {
			text := fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
log_level: debug
shutdown_timeout: 10s
auth: scram-sha-256
require_tls: true
tls_cert_file: %s
tls_key_file: %s
users:
  - name: %s
    password: %s
`, port, filepath.Join(dir, "data"), caFile, filepath.Join(certDir, "server.key"), secureUser, strings.TrimSpace(string(out)))
			if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"serve", "--config", config}
		},
		Ready: func(ctx context.Context, port int) error {
			conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/sluice?sslmode=require&connect_timeout=5",
				secureUser, url.PathEscape(securePassword), port))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			return conn.Ping(ctx)
		},
	})
	t.Cleanup(func() {
		if logs := p.Log.String(); strings.Contains(logs, securePassword) {
			t.Errorf("the gateway's log holds the password:\n%s", logs)
		}
	})
	return &secureServer{Process: p, CAFile: caFile}
}
