package compat

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// grafanaSQL is one SQL target of the Grafana dashboard.
type grafanaSQL struct {
	Panel, Format, SQL string
}

// dashboardSQL reads the SQL targets of docs/grafana/sluice.json.
func dashboardSQL(t *testing.T) []grafanaSQL {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "grafana", "sluice.json"))
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			RawSQL string `json:"rawSql"`
			Format string `json:"format"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var dash struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	var out []grafanaSQL
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, r := range ps {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatal(err)
			}
			walk(p.Panels)
			for _, q := range p.Targets {
				if q.RawSQL != "" {
					out = append(out, grafanaSQL{Panel: p.Title, Format: q.Format, SQL: q.RawSQL})
				}
			}
		}
	}
	walk(dash.Panels)
	return out
}

// expandGrafanaMacros rewrites a query as Grafana's PostgreSQL datasource
// sends it for the time range [from, to] (docs/operations.md, The Grafana
// dashboard, lists the expansions):
//
//	$__time(c)               c AS "time"
//	$__timeFilter(c)         c BETWEEN 'from' AND 'to'   (RFC 3339, UTC)
//	$__timeFrom(), $__timeTo()  'from', 'to'
//	$__timeGroup(c, 'Nm')    floor(extract(epoch from c)/S)*S   (S: the interval in seconds)
//	$__timeGroupAlias(c, 'Nm')  the same AS "time"
//
// Any other $__ macro is an error, so the dashboard uses only these.
func expandGrafanaMacros(sql string, from, to time.Time) (string, error) {
	ts := func(t time.Time) string { return "'" + t.UTC().Format(time.RFC3339) + "'" }
	group := regexp.MustCompile(`\$__timeGroup(Alias)?\(\s*([^,()]+?)\s*,\s*'(\d+)([smhd])'\s*\)`)
	var bad error
	sql = group.ReplaceAllStringFunc(sql, func(m string) string {
		g := group.FindStringSubmatch(m)
		n, _ := strconv.Atoi(g[3])
		secs := n * map[string]int{"s": 1, "m": 60, "h": 3600, "d": 86400}[g[4]]
		out := fmt.Sprintf("floor(extract(epoch from %s)/%d)*%d", g[2], secs, secs)
		if g[1] != "" {
			out += ` AS "time"`
		}
		return out
	})
	sql = regexp.MustCompile(`\$__timeFilter\(\s*([^()]+?)\s*\)`).ReplaceAllString(sql, "$1 BETWEEN "+ts(from)+" AND "+ts(to))
	sql = regexp.MustCompile(`\$__time\(\s*([^()]+?)\s*\)`).ReplaceAllString(sql, `$1 AS "time"`)
	sql = strings.NewReplacer("$__timeFrom()", ts(from), "$__timeTo()", ts(to)).Replace(sql)
	if i := strings.Index(sql, "$"); i >= 0 {
		bad = fmt.Errorf("unexpanded macro or variable at %q", sql[i:min(len(sql), i+30)])
	}
	return sql, bad
}

// TestGrafanaDashboardSQL runs every SQL panel of the Grafana dashboard
// (docs/grafana/sluice.json) against a gateway as Grafana sends it: its
// macros expanded for the last six hours, in the simple protocol (lib/pq
// without parameters) and the extended one (pgx). A time series result
// has a time column and the rows of the fixture's runs; and a role that
// may read only py_mv sees only py_mv's runs (sluice.runs is filtered by
// privilege, so a Grafana datasource's role sees what it may).
func TestGrafanaDashboardSQL(t *testing.T) {
	queries := dashboardSQL(t)
	if len(queries) < 3 {
		t.Fatalf("%d SQL targets in the dashboard", len(queries))
	}
	dsn := startGateway(t)
	ctx := context.Background()
	conn := connect(t, dsn)
	for _, q := range append(fixture,
		`CREATE MATERIALIZED VIEW py_secret AS SELECT 1 AS x`,
		`CREATE TABLE py_q (x INTEGER)`,
		`INSERT INTO py_q VALUES (1)`,
		`CREATE MATERIALIZED VIEW py_checked ( CONSTRAINT positive EXPECT (x > 0) ON VIOLATION FAIL ) AS SELECT x FROM py_q`,
		`INSERT INTO py_q VALUES (-1)`,
		`CREATE ROLE grafana LOGIN`,
		`GRANT SELECT ON py_mv TO grafana`) {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := conn.Exec(ctx, `REFRESH MATERIALIZED VIEW py_mv`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `REFRESH MATERIALIZED VIEW py_checked`); err == nil || !strings.Contains(err.Error(), "23514") {
		t.Fatalf("a refresh against its constraint: %v, want 23514", err)
	}
	reader := connect(t, strings.Replace(dsn, "sluice@", "grafana@", 1))
	now := time.Now()
	for _, q := range queries {
		sql, err := expandGrafanaMacros(q.SQL, now.Add(-6*time.Hour), now.Add(time.Minute))
		if err != nil {
			t.Errorf("panel %q: %v", q.Panel, err)
			continue
		}
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
			t.Run(q.Panel+"/"+mode.String(), func(t *testing.T) {
				cols, rows, objects := runGrafanaSQL(t, conn, sql, mode)
				if q.Format == "time_series" && !contains(cols, "time") {
					t.Errorf("a time series without a time column: %v", cols)
				}
				if len(rows) == 0 {
					t.Errorf("no rows from %s", sql)
				}
				want := "public.py_mv"
				if strings.Contains(sql, "status = 'failed'") {
					want = "public.py_checked"
				}
				byObject := contains(cols, "object") || strings.Contains(sql, "object AS metric")
				if byObject && !objects[want] {
					t.Errorf("%s's runs are missing: %v", want, rows)
				}
				_, _, seen := runGrafanaSQL(t, reader, sql, mode)
				if seen["public.py_secret"] || seen["public.py_checked"] {
					t.Errorf("the reader sees runs of objects it may not read: %v", seen)
				}
				if byObject && want == "public.py_mv" && !seen[want] {
					t.Errorf("the reader, granted SELECT on py_mv, does not see its runs: %v", seen)
				}
			})
		}
	}
}

// runGrafanaSQL runs sql and returns its columns, its rows as text and
// the values of its object (or metric) column.
func runGrafanaSQL(t *testing.T, conn *pgx.Conn, sql string, mode pgx.QueryExecMode) ([]string, [][]string, map[string]bool) {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, mode)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	var out [][]string
	objects := map[string]bool{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
			if cols[i] == "object" || cols[i] == "metric" {
				objects[row[i]] = true
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return cols, out, objects
}
