package ops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dashboardPanel is the part of a Grafana panel the tests read.
type dashboardPanel struct {
	Type       string           `json:"type"`
	Title      string           `json:"title"`
	Datasource *datasourceRef   `json:"datasource"`
	Targets    []dashboardQuery `json:"targets"`
	Panels     []dashboardPanel `json:"panels"` // a collapsed row's
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboardQuery struct {
	Datasource *datasourceRef `json:"datasource"`
	Expr       string         `json:"expr"`
	RawSQL     string         `json:"rawSql"`
	Format     string         `json:"format"`
}

// dashboardExprs returns every PromQL expression of docs/grafana/sluice.json
// by panel title, with Grafana's variables replaced as Grafana would for
// "All" ($job and $object: .*) and a 1m interval ($__rate_interval,
// $__interval); and the number of SQL targets.
func dashboardExprs(t *testing.T) (exprs map[string][]string, sqlTargets int) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docs", "grafana", "sluice.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string           `json:"title"`
		UID    string           `json:"uid"`
		Panels []dashboardPanel `json:"panels"`
		Inputs []struct {
			Name     string `json:"name"`
			PluginID string `json:"pluginId"`
		} `json:"__inputs"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("docs/grafana/sluice.json: %v", err)
	}
	inputs := map[string]string{}
	for _, in := range dash.Inputs {
		inputs["${"+in.Name+"}"] = in.PluginID
	}
	if inputs["${DS_PROMETHEUS}"] != "prometheus" || inputs["${DS_SLUICE}"] != "grafana-postgresql-datasource" {
		t.Fatalf("the dashboard's inputs %v: want DS_PROMETHEUS (prometheus) and DS_SLUICE (grafana-postgresql-datasource)", inputs)
	}
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h", "$job", ".*", "$object", ".*")
	exprs = map[string][]string{}
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, q := range p.Targets {
				ds := q.Datasource
				if ds == nil {
					ds = p.Datasource
				}
				if ds == nil || inputs[ds.UID] != ds.Type {
					t.Errorf("panel %q: datasource %+v is not one of the dashboard's inputs", p.Title, ds)
					continue
				}
				switch ds.Type {
				case "prometheus":
					if q.Expr == "" {
						t.Errorf("panel %q: a Prometheus target without expr", p.Title)
					}
					e := vars.Replace(q.Expr)
					if strings.Contains(e, "$") {
						t.Errorf("panel %q: unknown variable in %s", p.Title, q.Expr)
					}
					exprs[p.Title] = append(exprs[p.Title], e)
				case "grafana-postgresql-datasource":
					if q.RawSQL == "" || (q.Format != "table" && q.Format != "time_series") {
						t.Errorf("panel %q: a SQL target needs rawSql and format table or time_series", p.Title)
					}
					sqlTargets++
				}
			}
		}
	}
	walk(dash.Panels)
	return exprs, sqlTargets
}

// TestDashboardPromQL: every PromQL expression of the dashboard parses with
// Prometheus's own parser: they become recording rules of a temporary rules
// file that the real promtool checks. (Each is also evaluated by a real
// Prometheus in TestPrometheus.) The SQL panels run against a gateway in
// internal/testing/compat (TestGrafanaDashboardSQL).
func TestDashboardPromQL(t *testing.T) {
	promtool := prometheusBin(t, "promtool")
	exprs, sqlTargets := dashboardExprs(t)
	if len(exprs) < 10 || sqlTargets < 3 {
		t.Fatalf("the dashboard has %d Prometheus panels and %d SQL targets", len(exprs), sqlTargets)
	}
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for title, es := range exprs {
		for _, e := range es {
			n++
			q, _ := json.Marshal(e) // a JSON string is a YAML string
			fmt.Fprintf(&b, "      - record: dashboard:panel_%d\n        # %s\n        expr: %s\n", n, title, q)
		}
	}
	file := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err != nil || !bytes.Contains(out, fmt.Appendf(nil, "SUCCESS: %d rules found", n)) {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b.String())
	}
}

// TestAlertRules: docs/prometheus/alerts.yml passes the real promtool, and
// names only metrics the gateway exports (docs/operations.md lists them).
func TestAlertRules(t *testing.T) {
	promtool := prometheusBin(t, "promtool")
	file := filepath.Join(repoRoot, "docs", "prometheus", "alerts.yml")
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("SUCCESS")) {
		t.Fatalf("promtool check rules %s: %v\n%s", file, err, out)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\bsluice_[a-z_]+`).FindAllString(string(src), -1) {
		if !bytes.Contains(doc, []byte("`"+m+"`")) {
			t.Errorf("alerts.yml uses %s, which docs/operations.md does not list", m)
		}
	}
}
