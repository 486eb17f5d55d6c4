//go:build duckdb_arrow

package gateway_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestDatabasePrivileges checks the database's privileges as PostgreSQL
// has them: PUBLIC holds CONNECT and TEMPORARY until they are revoked, and
// CREATE (of schemas) is the owner's until granted. A role without CONNECT
// is refused at startup with FATAL 42501; without TEMPORARY it cannot make
// temporary objects; a superuser is never refused.
func TestDatabasePrivileges(t *testing.T) {
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	addr := startMatrixGateway(t, repo)
	dial := func(user string) (*pgx.Conn, error) {
		c, err := pgx.Connect(t.Context(), "postgres://"+user+"@"+addr+"/sluice?sslmode=disable")
		if err == nil {
			t.Cleanup(func() { c.Close(context.Background()) })
		}
		return c, err
	}
	super, err := dial("sluice")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, super, "CREATE ROLE app LOGIN")
	exec(t, super, "CREATE ROLE ops LOGIN")
	exec(t, super, "CREATE ROLE gate")

	wantCode := func(what string, err error, code string) {
		t.Helper()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != code {
			t.Fatalf("%s: got %v, want SQLSTATE %s", what, err, code)
		}
	}

	// The defaults: CONNECT and TEMPORARY for PUBLIC, not CREATE.
	app, err := dial("app")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, app, "CREATE TEMP TABLE scratch (a int)")
	exec(t, app, "CREATE TEMP VIEW scratch_v AS SELECT 1 AS a")
	_, err = app.Exec(t.Context(), "CREATE SCHEMA mine")
	wantCode("CREATE SCHEMA without CREATE on the database", err, "42501")

	exec(t, super, "GRANT CREATE ON DATABASE sluice TO ops")
	ops, err := dial("ops")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, ops, "CREATE SCHEMA ops_work")
	exec(t, ops, "CREATE TABLE ops_work.t (a int)") // the schema's owner creates in it

	// Revoked from PUBLIC: app can neither make temporary objects nor log
	// in, unless it is granted them through a role.
	exec(t, super, "REVOKE CONNECT, TEMPORARY ON DATABASE sluice FROM PUBLIC")
	_, err = app.Exec(t.Context(), "CREATE TEMP TABLE scratch2 (a int)")
	wantCode("CREATE TEMP TABLE without TEMPORARY", err, "42501")
	_, err = app.Exec(t.Context(), "CREATE TABLE temp.scratch3 (a int)")
	wantCode("CREATE TABLE temp.x without TEMPORARY", err, "42501")
	var n int
	if err := app.QueryRow(t.Context(), "SELECT count(*) FROM scratch").Scan(&n); err != nil {
		t.Fatalf("the session's temporary table is still its own: %v", err)
	}

	_, err = dial("app")
	wantCode("login without CONNECT", err, "42501")
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Severity != "FATAL" || pe.Message != `permission denied for database "sluice"`) {
		t.Fatalf("login without CONNECT: %s %s", pe.Severity, pe.Message)
	}
	if _, err := dial("sluice"); err != nil {
		t.Fatalf("a superuser always connects: %v", err)
	}

	exec(t, super, "GRANT CONNECT, TEMP ON DATABASE sluice TO gate")
	exec(t, super, "GRANT gate TO app")
	app2, err := dial("app")
	if err != nil {
		t.Fatalf("CONNECT through a granted role: %v", err)
	}
	exec(t, app2, "CREATE TEMP TABLE scratch4 (a int)")

	// psql's \l shows it so.
	var acl string
	if err := super.QueryRow(t.Context(), "SELECT array_to_string(datacl, ' ') FROM pg_database WHERE datname = 'sluice'").Scan(&acl); err != nil {
		t.Fatal(err)
	}
	if want := "sluice=CTc/sluice ops=C/sluice gate=Tc/sluice"; acl != want {
		t.Fatalf("datacl = %s, want %s", acl, want)
	}
}
