//go:build duckdb_arrow

package catalog

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sluice-db/sluice/internal/engine"
)

// TestMigrateVersion1 opens a catalog as version 1 left it (every table in
// schema sluice, testdata/v1.sql) and checks that its rows and sequences
// move to sluice_catalog, the system tables become views over them, and no
// id is handed out twice.
func TestMigrateVersion1(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v1, err := os.ReadFile("testdata/v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(string(v1), ";\n") {
		if strings.TrimSpace(stmt) == "" || strings.HasPrefix(strings.TrimSpace(stmt), "--") && !strings.Contains(stmt, "\n") {
			continue
		}
		if _, err := db.SQL().ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	for _, stmt := range []string{
		`INSERT INTO sluice.meta VALUES ('schema_version', '1')`,
		`SELECT nextval('sluice.object_ids'), nextval('sluice.object_ids'), nextval('sluice.run_ids')`,
		`INSERT INTO sluice.sources (id, schema, name, connector, location, options, created_at) VALUES (2, 'public', 'trips', 'files', '/x/*.csv', MAP {'format': 'csv'}, now())`,
		`INSERT INTO sluice.runs (run_id, object, schema, object_id, trigger, attempt, status, started_at) VALUES (1, 'v', 'public', 9, 'manual', 1, 'succeeded', now())`,
		`INSERT INTO sluice.roles VALUES (nextval('sluice.role_ids'), 'alice', true, NULL, now(), now())`,
	} {
		if _, err := db.SQL().ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	s, err := Open(ctx, db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.GetSource(ctx, Ref{"public", "trips"})
	if err != nil || src.Location != "/x/*.csv" || src.Options["format"] != "csv" {
		t.Fatalf("source after migration: %+v, %v", src, err)
	}
	if id, err := s.NextID(ctx); err != nil || id != 3 {
		t.Errorf("next object id %d (%v), want 3: the old sequence's position is kept", id, err)
	}
	if r, ok, err := s.Role(ctx, "alice"); err != nil || !ok || r.OID != 16385 {
		t.Errorf("role after migration: %+v %v %v", r, ok, err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'sluice'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tables left in schema sluice (%v)", n, err)
	}
	var version string
	if err := db.SQL().QueryRowContext(ctx, `SELECT value FROM sluice_catalog.meta WHERE key = 'schema_version'`).Scan(&version); err != nil || version != "2" {
		t.Errorf("schema_version %q (%v)", version, err)
	}
	// The system table is a view that shows nothing to a connection that
	// stated no privileges, everything to one that may see all.
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM sluice.runs`).Scan(&n); err != nil || n != 0 {
		t.Errorf("sluice.runs without privileges: %d rows (%v), want 0", n, err)
	}
	if _, err := conn.ExecContext(ctx, `SET VARIABLE sluice_all = true`); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM sluice.runs`).Scan(&n); err != nil || n != 1 {
		t.Errorf("sluice.runs seeing all: %d rows (%v), want 1", n, err)
	}
	// Opening again is a no-op.
	if _, err := Open(ctx, db.SQL()); err != nil {
		t.Fatal(err)
	}
}

// TestOpenAddsDeployments opens a version 2 catalog written before
// sluice.deployments existed: the table, its sequence and its view are
// added and the schema version stays 2 (CREATE ... IF NOT EXISTS expresses
// the change).
func TestOpenAddsDeployments(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(ctx, db.SQL()); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`DROP VIEW sluice.deployments`, `DROP TABLE sluice_catalog.deployments`, `DROP SEQUENCE sluice_catalog.deployment_ids`} {
		if _, err := db.SQL().ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	s, err := Open(ctx, db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.StartDeployment(ctx, "sluice", "+ create source public.s", 1)
	if err != nil || id != 1 {
		t.Fatalf("StartDeployment: %d, %v", id, err)
	}
	if err := s.FinishDeployment(ctx, id, false, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDeployment(ctx, id, true, "again"); err == nil {
		t.Error("a finished deployment finished again")
	}
	d, err := s.GetDeployment(ctx, id)
	if err != nil || d.Status != "succeeded" || d.Role != "sluice" || d.Changes != 1 || d.FinishedAt.IsZero() {
		t.Errorf("deployment %+v, %v", d, err)
	}
	// A deployment left running by a stopped gateway fails at the next start.
	id2, err := s.StartDeployment(ctx, "sluice", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if d, err := s.GetDeployment(ctx, id2); err != nil || d.Status != "failed" || !strings.Contains(d.Error, "interrupted") {
		t.Errorf("deployment after Recover: %+v, %v", d, err)
	}
	var version string
	if err := db.SQL().QueryRowContext(ctx, `SELECT value FROM sluice_catalog.meta WHERE key = 'schema_version'`).Scan(&version); err != nil || version != "2" {
		t.Errorf("schema_version %q (%v)", version, err)
	}
}
