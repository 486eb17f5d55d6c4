package logictest

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/connectors/httpsource"
	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

var (
	rewriteFlag = flag.Bool("rewrite", false, "rewrite the expected rows of the logic test files with the results they get (review the diff!)")
	connFlag    = flag.String("logic.conn", "", "run the logic test files against this server (a pgx connection string, e.g. a reference PostgreSQL) instead of an in-process gateway")
	verboseLog  = flag.Bool("logic.log", false, "show the gateway's log")
)

// testdataDir is the repository's testdata directory.
func testdataDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLogic runs every testdata/logic/*.test file, once with pgx's default
// extended protocol and once with the simple protocol, each run against a
// fresh gateway on a fresh data directory so files and runs do not see each
// other's objects.
//
//	go test -tags duckdb_arrow ./internal/testing/logictest -run 'TestLogic/passthrough'
//	go test -tags duckdb_arrow ./internal/testing/logictest -run 'TestLogic/passthrough' -rewrite
func TestLogic(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdataDir(t), "logic", "*.test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/logic/*.test files")
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".test")
		t.Run(name, func(t *testing.T) {
			for _, proto := range []Protocol{Extended, Simple} {
				t.Run(string(proto), func(t *testing.T) {
					conn, dataDir := *connFlag, ""
					if conn == "" {
						conn, dataDir = startGateway(t, gatewayFlags(t, path))
					}
					RunFile(t.Context(), t, path, Options{
						ConnString: conn,
						Protocol:   proto,
						// The extended run rewrites; the simple run then
						// checks the rewritten file.
						Rewrite: *rewriteFlag && proto == Extended,
						Vars: map[string]string{
							"TESTDATA": testdataDir(t),
							"TMPDIR":   t.TempDir(),
							"DATADIR":  dataDir,
						},
					})
				})
			}
		})
	}
}

// gatewayFlags reads a file's "# gateway: flag ..." lines: how the file
// wants its gateway configured (secrets_key: with a secrets key; http:
// with the HTTP connector).
func gatewayFlags(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "# gateway:"); ok {
			for _, f := range strings.Fields(rest) {
				flags[f] = true
			}
		}
	}
	return flags
}

// startGateway opens a gateway on a temporary data directory, serves it on
// 127.0.0.1:0 and returns a connection string and the data directory; the
// gateway is shut down when the test ends.
func startGateway(t *testing.T, flags map[string]bool) (string, string) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if *verboseLog {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// Files are read from the repository's testdata and the tests'
	// temporary directories.
	roots := []string{filepath.Dir(testdataDir(t)), os.TempDir()}
	dataDir := t.TempDir()
	opts := gateway.Options{DataDir: dataDir, Logger: logger, FileRoots: roots}
	if flags["http"] {
		opts.Connectors = connectors.NewRegistry(httpsource.Connector{})
	}
	if flags["secrets_key"] {
		opts.SecretsKey = make([]byte, 32)
		if _, err := rand.Read(opts.SecretsKey); err != nil {
			t.Fatal(err)
		}
	}
	g, err := gateway.Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		select {
		case err := <-served:
			if !errors.Is(err, wire.ErrServerClosed) {
				t.Errorf("Serve returned %v, want wire.ErrServerClosed", err)
			}
		case <-ctx.Done():
			t.Errorf("Serve did not return after Shutdown")
		}
	})
	return fmt.Sprintf("postgres://sluice@%s/sluice?sslmode=disable", l.Addr()), dataDir
}
