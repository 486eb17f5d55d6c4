package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-db/sluice/internal/testing/testserver"
)

// TestAdminListener: the real binary serves /healthz, /readyz and /metrics
// on admin_listen, with the Go runtime's and the process's collectors, and
// stops the listener with the gateway.
func TestAdminListener(t *testing.T) {
	admin := testserver.FreePort(t)
	p := testserver.Start(t, testserver.Options{
		Bin: gatewayBin,
		Dir: repoRoot,
		Args: func(port int) []string {
			return []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", t.TempDir(),
				"--admin-listen", fmt.Sprintf("127.0.0.1:%d", admin)}
		},
		Ready: pingReady(trustConnString),
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", admin)
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		var resp *http.Response
		var err error
		for deadline := time.Now().Add(10 * time.Second); ; {
			if resp, err = http.Get(base + path); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, h := get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("/healthz: %d %q %v", code, body, h)
	}
	if code, body, _ := get("/readyz"); code != 200 || strings.TrimSpace(body) != "ready" {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	code, body, h := get("/metrics")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", code, h.Get("Content-Type"))
	}
	for _, m := range []string{"go_goroutines ", "process_resident_memory_bytes ", "go_gc_duration_seconds"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics has no %s", m)
		}
	}
	if code, _, _ := get("/nosuch"); code != 404 {
		t.Errorf("/nosuch: %d", code)
	}
	if resp, err := http.Post(base+"/healthz", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %v %v", resp, err)
	}
	p.Stop(t)
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the admin listener outlived the gateway")
	}
}
