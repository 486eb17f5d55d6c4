package clients

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// systemPython is Debian's interpreter: python3-psycopg2 and friends install
// for it, not for whichever python3 comes first on PATH.
const systemPython = "/usr/bin/python3"

// pgjdbcJar is Debian's libpostgresql-jdbc-java.
const pgjdbcJar = "/usr/share/java/postgresql.jar"

// scenarioChecks are the checks every scenario reports, in order.
var scenarioChecks = []string{
	"connect", "create_source", "create_view", "list_schemas", "list_relations",
	"describe_view", "param_query", "read_view", "error_sqlstate", "cancel",
}

// knownGaps are checks that fail because of a gateway limitation that is
// known and tracked; they are skipped with the reason, keyed "client/check".
// Remove an entry as soon as the gateway closes the gap: the test then fails
// if the check still fails, and passes otherwise.
var knownGaps = map[string]string{}

// runScenario runs cmd (a client scenario), parses its "PASS name" and
// "FAIL name: message" lines and reports each check in want as a subtest.
func runScenario(t *testing.T, client string, want []string, cmd *exec.Cmd) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Dir, c.Env = cmd.Dir, cmd.Env
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	runErr := c.Run()

	results := map[string]string{} // check -> "" when passed, else the failure
	sc := bufio.NewScanner(bytes.NewReader(stdout.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "PASS "):
			results[strings.TrimSpace(line[5:])] = ""
		case strings.HasPrefix(line, "FAIL "):
			name, msg, _ := strings.Cut(line[5:], ": ")
			results[name] = msg
		}
	}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			msg, ok := results[name]
			switch {
			case !ok:
				t.Errorf("%s did not report check %q (see the scenario's output)", client, name)
			case msg == "":
				// passed
			case strings.HasPrefix(msg, "blocked by "):
				dep := strings.TrimPrefix(msg, "blocked by ")
				if gap := knownGaps[client+"/"+dep]; gap != "" {
					t.Skipf("not run: %s failed on a known gateway gap: %s", dep, gap)
				}
				t.Errorf("%s: not run, %s failed", client, dep)
			case knownGaps[client+"/"+name] != "":
				t.Skipf("known gateway gap: %s\n%s failed: %s", knownGaps[client+"/"+name], client, msg)
			default:
				t.Errorf("%s: %s", client, msg)
			}
		})
	}
	if runErr != nil || len(results) < len(want) {
		t.Errorf("%s scenario: exit %v, %d of %d checks reported\nstdout:\n%s\nstderr:\n%s", client, runErr, len(results), len(want), stdout.String(), stderr.String())
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("%s scenario output:\n%s", client, stdout.String())
	}
}

func requireExecutable(t *testing.T, path, why string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s is not present (%s): this client cannot run here", path, why)
	}
}

func pythonScenario(t *testing.T, client, script string, want []string) {
	requireExecutable(t, systemPython, "Debian's python3")
	t.Parallel()
	s := startServer(t)
	cmd := exec.Command(systemPython, "-B", filepath.Join("scripts", script), fmt.Sprint(s.Port), repoRoot)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PGTZ=UTC", "SQLALCHEMY_SILENCE_UBER_WARNING=1")
	runScenario(t, client, want, cmd)
}

func TestPsycopg2(t *testing.T) {
	pythonScenario(t, "psycopg2", "psycopg2_scenario.py", scenarioChecks)
}

func TestPsycopg3(t *testing.T) {
	pythonScenario(t, "psycopg3", "psycopg3_scenario.py", scenarioChecks)
}

func TestAsyncpg(t *testing.T) {
	pythonScenario(t, "asyncpg", "asyncpg_scenario.py", scenarioChecks)
}

func TestSQLAlchemy(t *testing.T) {
	pythonScenario(t, "sqlalchemy", "sqlalchemy_scenario.py", []string{
		"connect", "connect_session", "create_source", "create_view", "param_query", "pandas_read_sql",
		"error_sqlstate", "cancel", "inspector", "get_schema_names", "get_table_names",
		"get_view_names_materialized", "get_columns",
	})
}

func TestNodePostgres(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: node-postgres cannot run here")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "pg")); err != nil {
		t.Fatalf("node-postgres is missing (scripts/test.sh runs npm ci in internal/clients/node): %v", err)
	}
	t.Parallel()
	s := startServer(t)
	cmd := exec.Command(node, filepath.Join("node", "scenario.js"), fmt.Sprint(s.Port), repoRoot)
	cmd.Env = append(os.Environ(), "PGTZ=UTC")
	runScenario(t, "node-postgres", scenarioChecks, cmd)
}

func TestPgJDBC(t *testing.T) {
	javac, err := exec.LookPath("javac")
	if err != nil {
		t.Skip("javac is not installed: pgjdbc cannot run here")
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("java is not installed: pgjdbc cannot run here")
	}
	if _, err := os.Stat(pgjdbcJar); err != nil {
		t.Fatalf("pgjdbc is missing (scripts/test.sh installs libpostgresql-jdbc-java): %v", err)
	}
	t.Parallel()
	classes := t.TempDir()
	if out, err := exec.Command(javac, "-cp", pgjdbcJar, "-d", classes, filepath.Join("java", "Scenario.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	s := startServer(t)
	cmd := exec.Command(java, "-cp", classes+string(os.PathListSeparator)+pgjdbcJar, "Scenario", fmt.Sprint(s.Port), repoRoot)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	runScenario(t, "pgjdbc", []string{
		"connect", "connect_session", "create_source", "create_view", "list_schemas", "list_relations",
		"describe_view", "param_query", "read_view", "error_sqlstate", "get_schemas", "get_tables",
		"get_columns", "prepare_threshold", "fetch_size", "cancel",
	}, cmd)
}
