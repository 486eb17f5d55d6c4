package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Pipelines as code with the real binaries: `sluice-gateway plan` and
// `apply` as processes against a gateway process (docs/operations.md,
// Pipelines as code).

// deployCmd runs `gateway plan|apply args...` against s and returns its
// output and exit code.
func (s *server) deployCmd(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	if !slices.Contains(args, "--url") {
		args = append(args, "--port", fmt.Sprint(s.Port), "--sslmode", "disable")
	}
	cmd := exec.CommandContext(t.Context(), gatewayBin, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), code
}

// TestDeployExample plans and applies docs/examples/pipelines against the
// gateway: plan --exit-code says 2 (pending), apply creates everything and
// records the deployment, a second plan says 0, and the analyst reads what
// it was granted. A DIR that does not load is exit code 1.
func TestDeployExample(t *testing.T) {
	s := startServer(t, t.TempDir())
	conn := s.Connect(t)
	mustExec(t, conn, `CREATE ROLE analyst LOGIN`)
	dir := filepath.Join("docs", "examples", "pipelines")

	out, code := s.deployCmd(t, nil, "plan", dir, "--exit-code")
	if code != 2 || !strings.Contains(out, "+   create source public.trips") || !strings.Contains(out, "Plan: 5 to create, 0 to alter, 0 to rebuild, 3 to grant, 0 to drop.") {
		t.Fatalf("plan --exit-code: exit %d\n%s", code, out)
	}
	if out, code := s.deployCmd(t, nil, "plan", dir); code != 0 {
		t.Fatalf("plan without --exit-code: exit %d\n%s", code, out)
	}
	out, code = s.deployCmd(t, nil, "apply", dir)
	if code != 0 || !strings.Contains(out, "Deployment 1 succeeded") {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	t.Logf("apply:\n%s", out)
	if out, code := s.deployCmd(t, nil, "plan", dir, "--exit-code"); code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("plan after apply: exit %d\n%s", code, out)
	}
	if out, code := s.deployCmd(t, nil, "apply", dir); code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("second apply: exit %d\n%s", code, out)
	}
	rows := mustQueryText(t, conn, `SELECT id, role, status, changes, error IS NULL FROM sluice.deployments`)
	if fmt.Sprint(rows) != "[[1 sluice succeeded 8 t]]" {
		t.Errorf("sluice.deployments: %v (an empty plan records nothing)", rows)
	}
	plan := mustQueryText(t, conn, `SELECT plan FROM sluice.deployments WHERE id = 1`)[0][0]
	if !strings.Contains(plan, "+   create pipeline public.trip_log") {
		t.Errorf("the recorded plan:\n%s", plan)
	}
	analyst, err := pgx.Connect(t.Context(), fmt.Sprintf("postgres://analyst@127.0.0.1:%d/sluice?sslmode=disable", s.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer analyst.Close(context.Background())
	if got := mustQueryText(t, analyst, `SELECT zone, trips FROM busiest_zones`); len(got) == 0 {
		t.Error("busiest_zones is empty for the analyst")
	}
	if _, err := queryText(t.Context(), analyst, `SELECT count(*) FROM trip_log`); err == nil {
		t.Error("the analyst reads trip_log, which it was not granted")
	}

	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "x.sql"), []byte("CREATE VIEW ok AS SELECT 1;\nINSERT INTO t VALUES (1);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := s.deployCmd(t, nil, "plan", bad, "--exit-code"); code != 1 || !strings.Contains(out, "x.sql:2: INSERT INTO is not a definition") {
		t.Errorf("plan of a bad DIR: exit %d\n%s", code, out)
	}
	if out, code := s.deployCmd(t, nil, "plan", dir, "--exit-code", "--url", "postgres://sluice@127.0.0.1:1/sluice?sslmode=disable&connect_timeout=5"); code != 1 {
		t.Errorf("plan against no gateway: exit %d\n%s", code, out)
	}
}

// deployDirs writes the two versions of the objects the interruption and
// readers tests deploy: v2 rebuilds four objects, each on its own. The
// changes are such that an object read between two of them shows its old
// result or its new one: d reads a's zones only, which a's change keeps.
func deployDirs(t *testing.T) (v1, v2 string) {
	t.Helper()
	write := func(dir, a, b, c, d string) string {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{
			"01_sources.sql": `CREATE SOURCE trips FROM FILES 'testdata/trips/*.csv' WITH (format = 'csv', header = true);`,
			"02_views.sql": "CREATE MATERIALIZED VIEW a AS " + a + ";\n" +
				"CREATE MATERIALIZED VIEW b AS " + b + ";\n" +
				"CREATE MATERIALIZED VIEW c AS " + c + ";\n" +
				"CREATE VIEW d AS " + d + ";\n",
		}
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	base := t.TempDir()
	v1 = write(filepath.Join(base, "v1"),
		`SELECT zone, count(*) AS n FROM trips GROUP BY zone`,
		`SELECT CAST(pickup_at AS DATE) AS day, count(*) AS n FROM trips GROUP BY ALL`,
		`SELECT max(fare) AS top FROM trips`,
		`SELECT zone FROM a`)
	v2 = write(filepath.Join(base, "v2"),
		`SELECT zone, count(*) AS n, round(sum(fare), 2) AS fares FROM trips GROUP BY zone`,
		`SELECT CAST(pickup_at AS DATE) AS day, count(*) AS n FROM trips WHERE fare > 20 GROUP BY ALL`,
		`SELECT max(fare) AS top FROM trips WHERE zone = 'Airport'`,
		`SELECT zone FROM a WHERE zone <> 'Harbor'`)
	return v1, v2
}

// readerQueries read each object the deployment changes.
var readerQueries = []string{
	`SELECT zone, n FROM a ORDER BY zone`,
	`SELECT day, n FROM b ORDER BY day`,
	`SELECT top FROM c`,
	`SELECT zone FROM d ORDER BY zone`,
}

func results(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	out := make([]string, len(readerQueries))
	for i, q := range readerQueries {
		out[i] = fmt.Sprint(mustQueryText(t, conn, q))
	}
	return out
}

// TestDeployInterrupted kills apply (SIGKILL) between two of its
// statements (SLUICE_APPLY_PAUSE holds it after the first): every object is left in its old definition or its new one,
// the deployment is failed as interrupted, and a second apply does the
// rest; a third plans nothing.
func TestDeployInterrupted(t *testing.T) {
	s := startServer(t, t.TempDir())
	conn := s.Connect(t)
	v1, v2 := deployDirs(t)
	if out, code := s.deployCmd(t, nil, "apply", v1); code != 0 {
		t.Fatalf("apply v1: exit %d\n%s", code, out)
	}
	queries := func() map[string]string {
		m := map[string]string{}
		for _, r := range mustQueryText(t, conn, `SELECT name, query FROM sluice.materialized_views`) {
			m[r[0]] = r[1]
		}
		m["d"] = mustQueryText(t, conn, `SELECT definition FROM pg_views WHERE viewname = 'd'`)[0][0]
		return m
	}
	old := queries()

	cmd := exec.Command(gatewayBin, "apply", v2, "--port", fmt.Sprint(s.Port), "--sslmode", "disable")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "SLUICE_APPLY_PAUSE=30s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if strings.HasPrefix(lines.Text(), "[1/4]") {
			break
		}
	}
	// One change is done; apply now waits before the second.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("apply, killed:\n%s\n%s", strings.Join(seen, "\n"), stderr.String())
	if !strings.HasPrefix(seen[len(seen)-1], "[1/4]") {
		t.Fatalf("apply did not report its first change before it was killed")
	}

	now := queries()
	changed := 0
	for name, q := range now {
		if q != old[name] {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d objects in their new definition after 1 of 4 changes: before %v, now %v", changed, old, now)
	}
	// The session ended with its deployment running: it is failed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows := mustQueryText(t, conn, `SELECT status, error FROM sluice.deployments WHERE id = 2`)
		if len(rows) == 1 && rows[0][0] == "failed" && strings.Contains(rows[0][1], "interrupted") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment 2 after its apply was killed: %v", rows)
		}
		time.Sleep(100 * time.Millisecond)
	}

	out, code := s.deployCmd(t, nil, "apply", v2)
	if code != 0 || !strings.Contains(out, "applying 3 changes") {
		t.Fatalf("second apply: exit %d (want the 3 changes left)\n%s", code, out)
	}
	final := queries()
	for name, q := range final {
		if q == old[name] {
			t.Errorf("%s still has its old definition after the second apply: %s", name, q)
		}
		if now[name] != old[name] && now[name] != q {
			t.Errorf("%s was neither in its old nor in its new definition after the kill: %s", name, now[name])
		}
	}
	if out, code := s.deployCmd(t, nil, "plan", v2, "--exit-code"); code != 0 {
		t.Errorf("plan after the second apply: exit %d\n%s", code, out)
	}
	if rows := mustQueryText(t, conn, `SELECT id, status FROM sluice.deployments ORDER BY id`); fmt.Sprint(rows) != "[[1 succeeded] [2 failed] [3 succeeded]]" {
		t.Errorf("sluice.deployments: %v", rows)
	}
}

// TestDeployWithReaders applies rebuilds while clients read the objects
// in a loop, over both protocols: no read fails, and every read returns
// the object's old result or its new one.
func TestDeployWithReaders(t *testing.T) {
	s := startServer(t, t.TempDir())
	conn := s.Connect(t)
	v1, v2 := deployDirs(t)
	if out, code := s.deployCmd(t, nil, "apply", v1); code != 0 {
		t.Fatalf("apply v1: exit %d\n%s", code, out)
	}
	before := results(t, conn)

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := make([]map[string]int, len(readerQueries))
	var failures []string
	for i, q := range readerQueries {
		seen[i] = map[string]int{}
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
			rc, err := pgx.Connect(t.Context(), s.ConnString())
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close(context.Background())
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					// Text results, as mustQueryText reads them, over either protocol.
					rows, err := rc.Query(ctx, q, mode, pgx.QueryResultFormats{pgx.TextFormatCode})
					var got [][]string
					if err == nil {
						for rows.Next() {
							var row []string
							for _, v := range rows.RawValues() {
								row = append(row, string(v))
							}
							got = append(got, row)
						}
						err = rows.Err()
						rows.Close()
					}
					mu.Lock()
					switch {
					case ctx.Err() != nil:
					case err != nil:
						failures = append(failures, fmt.Sprintf("%s: %v", q, err))
					default:
						seen[i][fmt.Sprint(got)]++
					}
					mu.Unlock()
				}
			}()
		}
	}
	time.Sleep(200 * time.Millisecond)
	out, code := s.deployCmd(t, nil, "apply", v2)
	time.Sleep(200 * time.Millisecond)
	stop()
	wg.Wait()
	if code != 0 {
		t.Fatalf("apply v2: exit %d\n%s", code, out)
	}
	after := results(t, conn)
	for i, q := range readerQueries {
		if before[i] == after[i] && i > 0 {
			t.Errorf("%s: the deployment did not change its result", q) // a's: only a column it does not read is added
		}
		total := 0
		for r, n := range seen[i] {
			total += n
			if r != before[i] && r != after[i] {
				t.Errorf("%s returned %s, neither its old result %s nor its new one %s", q, r, before[i], after[i])
			}
		}
		t.Logf("%s: %d reads", q, total)
		if total < 4 {
			t.Errorf("%s: only %d reads during the apply", q, total)
		}
	}
	slices.Sort(failures)
	if len(failures) > 0 {
		t.Errorf("%d reads failed during the apply, e.g. %s", len(failures), failures[0])
	}
}
