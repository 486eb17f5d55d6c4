package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The system tables users query (SQL-SURFACE.md's sluice.sources,
// sluice.runs, ...) are views in schema sluice over the catalog's tables in
// sluice_catalog. Each shows a role only the rows of the objects it may
// see: those it holds a privilege on, or all of them for superusers and
// the members of pg_monitor or pg_read_all_data. The session states that
// in DuckDB variables of its own connection (package access sets them;
// users cannot: SET VARIABLE of a sluice_ name is refused):
//
//	sluice_all         BOOLEAN: every row is visible
//	sluice_privileges  MAP(VARCHAR, VARCHAR): 'schema.name' -> the role's
//	                   privileges on that relation (PostgreSQL's letters)
//	sluice_superuser   BOOLEAN: the role is a superuser (verifiers)
//
// A connection that set none sees no row: unset is never everything.
var systemViews = []string{
	`CREATE OR REPLACE MACRO sluice_catalog.visible(s, n) AS
		coalesce(getvariable('sluice_all'), false)
		OR coalesce(getvariable('sluice_privileges')[s || '.' || n] IS NOT NULL, false)`,
	`CREATE OR REPLACE MACRO sluice_catalog.visible_id(i) AS
		coalesce(getvariable('sluice_all'), false) OR i IN (
			SELECT id FROM sluice_catalog.materialized_views WHERE sluice_catalog.visible(schema, name)
			UNION ALL SELECT id FROM sluice_catalog.pipelines WHERE sluice_catalog.visible(schema, name)
			UNION ALL SELECT id FROM sluice_catalog.sources WHERE sluice_catalog.visible(schema, name))`,
	`CREATE OR REPLACE VIEW sluice.sources AS
		SELECT * FROM sluice_catalog.sources WHERE sluice_catalog.visible(schema, name)`,
	`CREATE OR REPLACE VIEW sluice.materialized_views AS
		SELECT * FROM sluice_catalog.materialized_views WHERE sluice_catalog.visible(schema, name)`,
	`CREATE OR REPLACE VIEW sluice.pipelines AS
		SELECT * FROM sluice_catalog.pipelines WHERE sluice_catalog.visible(schema, name)`,
	`CREATE OR REPLACE VIEW sluice.runs AS
		SELECT * FROM sluice_catalog.runs WHERE sluice_catalog.visible(schema, object)`,
	`CREATE OR REPLACE VIEW sluice.partitions AS
		SELECT * FROM sluice_catalog.partitions WHERE sluice_catalog.visible(schema, object)`,
	`CREATE OR REPLACE VIEW sluice.quality AS
		SELECT * FROM sluice_catalog.quality WHERE sluice_catalog.visible(schema, object)`,
	`CREATE OR REPLACE VIEW sluice.dependencies AS
		SELECT * FROM sluice_catalog.dependencies WHERE sluice_catalog.visible(object_schema, object)`,
	`CREATE OR REPLACE VIEW sluice.versions AS
		SELECT * FROM sluice_catalog.versions WHERE sluice_catalog.visible_id(object_id)`,
	`CREATE OR REPLACE VIEW sluice.pipeline_files AS
		SELECT * FROM sluice_catalog.pipeline_files WHERE sluice_catalog.visible_id(object_id)`,
	`CREATE OR REPLACE VIEW sluice.pipeline_inputs AS
		SELECT * FROM sluice_catalog.pipeline_inputs WHERE sluice_catalog.visible_id(object_id)`,
	`CREATE OR REPLACE VIEW sluice.pipeline_positions AS
		SELECT * FROM sluice_catalog.pipeline_positions WHERE sluice_catalog.visible_id(object_id)`,
	`CREATE OR REPLACE VIEW sluice.schedules AS
		SELECT * FROM sluice_catalog.schedules WHERE sluice_catalog.visible(schema, object)`,
	`CREATE OR REPLACE VIEW sluice.meta AS SELECT * FROM sluice_catalog.meta`,
	// A secret is listed to its owner (and those who see every row); its
	// value never is: the ciphertext stays in sluice_catalog.
	`CREATE OR REPLACE VIEW sluice.secrets AS
		SELECT schema, name, owner, created_at, updated_at FROM sluice_catalog.secrets
		WHERE coalesce(getvariable('sluice_all'), false) OR owner = getvariable('sluice_user')`,
	// Every role sees every role (as pg_roles does); only superusers see
	// the SCRAM verifiers (as only they may read pg_authid).
	`CREATE OR REPLACE VIEW sluice.roles AS
		SELECT * REPLACE (CASE WHEN coalesce(getvariable('sluice_superuser'), false) THEN verifier END AS verifier)
		FROM sluice_catalog.roles`,
}

// version1Tables and version1Sequences are the relations a version 1
// catalog kept in schema sluice (its views are replaced, not moved).
var (
	version1Tables = []string{"meta", "sources", "materialized_views", "versions", "partitions", "runs", "dependencies",
		"pipelines", "pipeline_files", "pipeline_inputs", "quality", "roles", "pipeline_positions"}
	version1Sequences = []string{"object_ids", "run_ids", "role_ids"}
)

// hasVersion1Layout reports whether the catalog's tables are still in
// schema sluice (a catalog written before version 2).
func hasVersion1Layout(ctx context.Context, tx *sql.Tx) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = 'sluice' AND table_name = 'sources'`).Scan(&n)
	return n > 0, err
}

// moveVersion1Sequences creates the catalog's sequences in sluice_catalog
// where the old ones stopped, so that no id is handed out twice.
func moveVersion1Sequences(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS sluice_catalog`); err != nil {
		return err
	}
	for _, seq := range version1Sequences {
		var start, last sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT start_value, last_value FROM duckdb_sequences()
			WHERE database_name = current_database() AND schema_name = 'sluice' AND sequence_name = $1`, seq).Scan(&start, &last)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("migrating sequence sluice.%s: %w", seq, err)
		}
		next := start.Int64
		if last.Valid {
			next = last.Int64 + 1
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE SEQUENCE sluice_catalog.%s START %d`, seq, next)); err != nil {
			return fmt.Errorf("migrating sequence sluice.%s: %w", seq, err)
		}
		if _, err := tx.ExecContext(ctx, `DROP SEQUENCE sluice.`+seq); err != nil {
			return err
		}
	}
	return nil
}

// moveVersion1Tables copies a version 1 catalog's rows into the tables of
// sluice_catalog (created by then) and drops the old tables and views; the
// system views take their names.
func moveVersion1Tables(ctx context.Context, tx *sql.Tx) error {
	for _, v := range []string{"schedules", "scheduled_objects"} {
		if _, err := tx.ExecContext(ctx, `DROP VIEW IF EXISTS sluice.`+v); err != nil {
			return err
		}
	}
	for _, t := range version1Tables {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
			WHERE database_name = current_database() AND schema_name = 'sluice' AND table_name = $1`, t).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.`+t+` BY NAME SELECT * FROM sluice.`+t); err != nil {
			return fmt.Errorf("migrating table sluice.%s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE sluice.`+t); err != nil {
			return err
		}
	}
	return nil
}
