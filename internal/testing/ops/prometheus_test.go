package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-db/sluice/internal/testing/testserver"
)

// promServer is a real Prometheus (Debian's prometheus package) started by
// a test with its own configuration and storage, never the system
// service the package installs.
type promServer struct {
	URL string
	log *testserver.Buffer
}

// prometheusBin returns /usr/bin/prometheus or skips the test.
func prometheusBin(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (scripts/test.sh installs Debian's prometheus package); skipping", name)
	}
	return p
}

// startPrometheus starts Prometheus on a free port, scraping the admin
// listeners at targets every second as job "sluice", with ruleFiles
// evaluated every second. It is stopped when the test ends.
func startPrometheus(t *testing.T, targets []string, ruleFiles ...string) *promServer {
	t.Helper()
	bin := prometheusBin(t, "prometheus")
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	if len(ruleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range ruleFiles {
			fmt.Fprintf(&b, "  - %q\n", f)
		}
	}
	b.WriteString("scrape_configs:\n  - job_name: sluice\n    static_configs:\n      - targets: [")
	for i, tg := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", tg)
	}
	b.WriteString("]\n")
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testserver.FreePort(t)
	p := &promServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), log: &testserver.Buffer{}}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", p.log.String())
		default:
		}
		resp, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30s: %v\n%s", err, p.log.String())
		}
	}
}

// sample is one series of an instant vector.
type sample struct {
	Metric map[string]string
	Value  float64
}

// api calls the HTTP API and decodes data into out; it returns the error
// Prometheus gave.
func (p *promServer) api(ctx context.Context, path string, params url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %d: %w", path, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, out)
}

// query runs an instant PromQL query (/api/v1/query) and returns its
// vector (a scalar is one sample without labels).
func (p *promServer) query(ctx context.Context, q string) ([]sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.api(ctx, "/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	parse := func(v []any) (float64, error) {
		s, _ := v[1].(string)
		return strconv.ParseFloat(s, 64)
	}
	switch data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &vec); err != nil {
			return nil, err
		}
		out := make([]sample, len(vec))
		for i, s := range vec {
			f, err := parse(s.Value)
			if err != nil {
				return nil, err
			}
			out[i] = sample{Metric: s.Metric, Value: f}
		}
		return out, nil
	case "scalar":
		var v []any
		if err := json.Unmarshal(data.Result, &v); err != nil {
			return nil, err
		}
		f, err := parse(v)
		return []sample{{Value: f}}, err
	}
	return nil, fmt.Errorf("query %s: result type %s", q, data.ResultType)
}

// waitFor runs q until ok accepts its result, for up to 30 s (a few
// scrapes and rule evaluations), and returns the last result.
func (p *promServer) waitFor(t *testing.T, q string, what string, ok func([]sample) bool) []sample {
	t.Helper()
	var got []sample
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		got, err = p.query(t.Context(), q)
		if err == nil && ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: PromQL %s gave %v (%v) for 30s", what, q, got, err)
		}
	}
}

// one accepts a result of exactly one series whose value is want.
func one(want float64) func([]sample) bool {
	return func(s []sample) bool { return len(s) == 1 && s[0].Value == want }
}

// none accepts an empty result.
func none(s []sample) bool { return len(s) == 0 }
