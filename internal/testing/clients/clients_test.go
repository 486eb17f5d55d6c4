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

	"github.com/jackc/pgx/v5"
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

// secureChecks are the checks of every client's run over TLS with SCRAM:
// connect as a configured user with sslmode=require, list schemas, run a
// parameterized query (over a source, hence create_source), and see a wrong
// password refused with 28P01.
var secureChecks = []string{"connect", "create_source", "list_schemas", "param_query", "wrong_password"}

// target is a gateway a scenario runs against: its port, and the
// environment that tells the scenario how to connect (SCENARIO_USER,
// SCENARIO_PASSWORD, SCENARIO_SSLMODE, and SCENARIO_CHECKS, the checks to
// run; read by scripts/common.py, node/scenario.js and java/Scenario.java).
// The default is trust as user sluice, without TLS, every check.
type target struct {
	port int
	env  []string
}

// eachTarget runs a client's scenario twice, as parallel subtests: "trust"
// with trustWant, and "scram-tls" with secureWant against a gateway that
// requires TLS and SCRAM-SHA-256.
func eachTarget(t *testing.T, trustWant, secureWant []string, run func(t *testing.T, tg target, want []string)) {
	t.Run("trust", func(t *testing.T) {
		t.Parallel()
		s := startServer(t)
		run(t, target{port: s.Port}, trustWant)
	})
	t.Run("scram-tls", func(t *testing.T) {
		t.Parallel()
		s := startSecureServer(t)
		run(t, target{port: s.Port, env: []string{
			"SCENARIO_USER=" + secureUser, "SCENARIO_PASSWORD=" + securePassword, "SCENARIO_SSLMODE=require",
			"SCENARIO_CHECKS=" + strings.Join(secureWant, ","),
		}}, secureWant)
	})
}

func pythonScenario(t *testing.T, client, script string, want, secureWant []string) {
	requireExecutable(t, systemPython, "Debian's python3")
	t.Parallel()
	eachTarget(t, want, secureWant, func(t *testing.T, tg target, want []string) {
		cmd := exec.Command(systemPython, "-B", filepath.Join("scripts", script), fmt.Sprint(tg.port), repoRoot)
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PGTZ=UTC", "SQLALCHEMY_SILENCE_UBER_WARNING=1")
		cmd.Env = append(cmd.Env, tg.env...)
		runScenario(t, client, want, cmd)
	})
}

func TestPsycopg2(t *testing.T) {
	pythonScenario(t, "psycopg2", "psycopg2_scenario.py", scenarioChecks, secureChecks)
}

func TestPsycopg3(t *testing.T) {
	pythonScenario(t, "psycopg3", "psycopg3_scenario.py", append(scenarioChecks[:len(scenarioChecks):len(scenarioChecks)], "copy_binary", "copy_rows"), secureChecks)
}

func TestAsyncpg(t *testing.T) {
	pythonScenario(t, "asyncpg", "asyncpg_scenario.py", scenarioChecks, secureChecks)
}

func TestSQLAlchemy(t *testing.T) {
	pythonScenario(t, "sqlalchemy", "sqlalchemy_scenario.py", []string{
		"connect", "connect_session", "create_source", "create_view", "param_query", "pandas_read_sql",
		"error_sqlstate", "cancel", "inspector", "get_schema_names", "get_table_names",
		"get_view_names_materialized", "get_columns",
	}, []string{"connect", "connect_session", "create_source", "param_query", "inspector", "get_schema_names", "wrong_password"})
}

func TestNodePostgres(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: node-postgres cannot run here")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "pg")); err != nil {
		t.Fatalf("node-postgres is missing (scripts/test.sh runs npm ci in internal/testing/clients/node): %v", err)
	}
	t.Parallel()
	eachTarget(t, scenarioChecks, secureChecks, func(t *testing.T, tg target, want []string) {
		cmd := exec.Command(node, filepath.Join("node", "scenario.js"), fmt.Sprint(tg.port), repoRoot)
		cmd.Env = append(append(os.Environ(), "PGTZ=UTC"), tg.env...)
		runScenario(t, "node-postgres", want, cmd)
	})
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
	eachTarget(t, []string{
		"connect", "connect_session", "create_source", "create_view", "list_schemas", "list_relations",
		"describe_view", "param_query", "read_view", "error_sqlstate", "get_schemas", "get_tables",
		"get_columns", "prepare_threshold", "fetch_size", "cancel",
	}, []string{"connect", "connect_session", "create_source", "list_schemas", "param_query", "get_schemas", "wrong_password"},
		func(t *testing.T, tg target, want []string) {
			cmd := exec.Command(java, "-cp", classes+string(os.PathListSeparator)+pgjdbcJar, "Scenario", fmt.Sprint(tg.port), repoRoot)
			cmd.Env = append(append(os.Environ(), "TZ=UTC"), tg.env...)
			runScenario(t, "pgjdbc", want, cmd)
		})
}

// TestReaderRole runs psycopg2, SQLAlchemy and pgjdbc as a role granted
// SELECT on one materialized view and nothing on a table: each lists only
// the view (information_schema, pg_class, the SQLAlchemy inspector,
// DatabaseMetaData.getTables), reads it, and gets 42501 for the table with
// its session usable.
func TestReaderRole(t *testing.T) {
	requireExecutable(t, systemPython, "Debian's python3")
	s := startServer(t)
	admin, err := pgx.Connect(t.Context(), fmt.Sprintf("postgres://sluice@127.0.0.1:%d/sluice?sslmode=disable", s.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	for _, q := range []string{
		"CREATE ROLE analyst LOGIN",
		fmt.Sprintf("CREATE SOURCE trips FROM FILES '%s' WITH (format = 'csv', header = true)", filepath.Join(repoRoot, "testdata", "trips", "*.csv")),
		"CREATE MATERIALIZED VIEW daily_fares AS SELECT CAST(pickup_at AS DATE) AS day, zone, count(*) AS trips FROM trips GROUP BY ALL",
		"CREATE TABLE hidden_salaries AS SELECT 'ann' AS who, 100 AS pay",
		"GRANT SELECT ON MATERIALIZED VIEW daily_fares TO analyst",
	} {
		if _, err := admin.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	env := []string{"SCENARIO_USER=analyst", "SCENARIO_VISIBLE=daily_fares", "SCENARIO_HIDDEN=hidden_salaries"}
	t.Run("python", func(t *testing.T) {
		cmd := exec.Command(systemPython, "-B", filepath.Join("scripts", "reader_scenario.py"), fmt.Sprint(s.Port), repoRoot)
		cmd.Env = append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PGTZ=UTC", "SQLALCHEMY_SILENCE_UBER_WARNING=1"), env...)
		runScenario(t, "reader (psycopg2, SQLAlchemy)", []string{"psycopg2_lists", "psycopg2_reads", "psycopg2_refused", "sqlalchemy_lists", "sqlalchemy_reads"}, cmd)
	})
	t.Run("pgjdbc", func(t *testing.T) {
		javac, err := exec.LookPath("javac")
		if err != nil {
			t.Skip("javac is not installed: pgjdbc cannot run here")
		}
		java, err := exec.LookPath("java")
		if err != nil {
			t.Skip("java is not installed: pgjdbc cannot run here")
		}
		classes := t.TempDir()
		if out, err := exec.Command(javac, "-cp", pgjdbcJar, "-d", classes, filepath.Join("java", "ReaderScenario.java")).CombinedOutput(); err != nil {
			t.Fatalf("javac: %v\n%s", err, out)
		}
		cmd := exec.Command(java, "-cp", classes+string(os.PathListSeparator)+pgjdbcJar, "ReaderScenario", fmt.Sprint(s.Port))
		cmd.Env = append(append(os.Environ(), "TZ=UTC"), env...)
		runScenario(t, "reader (pgjdbc)", []string{"jdbc_get_tables", "jdbc_reads", "jdbc_refused"}, cmd)
	})
}
