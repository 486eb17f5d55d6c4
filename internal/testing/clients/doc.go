// Package clients holds end-to-end tests that drive the real gateway binary
// with real PostgreSQL client libraries: psycopg2, psycopg 3, SQLAlchemy 1.4
// with pandas, asyncpg (Debian's python3-* packages, run with
// /usr/bin/python3), node-postgres (npm, pinned in node/package-lock.json)
// and pgjdbc (Debian's libpostgresql-jdbc-java, Java 17).
//
// Each client runs one scenario, a script under scripts/ (or node/, or a Java
// file compiled with javac), started as a subprocess with the gateway's port,
// twice: against a gateway with trust authentication (every check), and
// against one that requires TLS and SCRAM-SHA-256 (connect, list schemas, a
// parameterized query, a wrong password refused with 28P01). The SCENARIO_*
// environment variables tell the scenario how to connect and which checks
// to run.
// The script prints one line per check, "PASS name" or "FAIL name: message";
// the Go test turns every check into a subtest. A check that fails only
// because of a known gateway gap is listed in knownGaps and skipped with the
// gap's description, so the gap stays visible in the test output.
//
// scripts/test.sh installs every client when it is missing.
package clients
