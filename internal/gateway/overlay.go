package gateway

import (
	"context"
	stdsql "database/sql"
	"fmt"

	"github.com/sluice-db/sluice/sql"
)

// DuckDB ships a pg_catalog of its own, in its read-only system catalog.
// Sluice extends it with overlay relations and functions in schema
// pg_sluice: pg_class reporting materialized views with relkind 'm', and
// functions psql calls that DuckDB lacks. Sessions have pg_sluice on their
// search_path (for unqualified names), and references qualified with
// pg_catalog to an overlaid name are resolved to pg_sluice at the token level
// (see resolveCatalogNames), the way a search path would.

// overlaySchema holds the overlays.
const overlaySchema = "pg_sluice"

// overlaid is the set of pg_catalog names the overlay schema defines.
var overlaid = map[string]bool{
	"pg_class":        true,
	"pg_namespace":    true,
	"pg_matviews":     true,
	"pg_get_userbyid": true,
}

var overlayDDL = []string{
	`CREATE SCHEMA IF NOT EXISTS pg_sluice`,
	// DuckDB's own pg_namespace filters on current_database(), which sessions
	// redefine to answer the name clients connected to; this one names the
	// DuckDB database itself, and adds the system schemas PostgreSQL lists.
	`CREATE OR REPLACE VIEW pg_sluice.pg_namespace AS
		SELECT oid, schema_name AS nspname, 0 AS nspowner, NULL AS nspacl
		FROM duckdb_schemas()
		WHERE (database_name = 'warehouse' AND schema_name <> 'pg_sluice')
		   OR (database_name = 'system' AND schema_name IN ('pg_catalog', 'information_schema'))`,
	// Materialized views and pipelines are DuckDB views over their files;
	// both are materialized relations, reported as relkind 'm' as PostgreSQL
	// does for materialized views (so psql's \dm lists them). The overlay
	// schemas are hidden.
	`CREATE OR REPLACE VIEW pg_sluice.pg_class AS
		SELECT c.* REPLACE (CASE WHEN m.name IS NOT NULL THEN 'm' ELSE c.relkind END AS relkind)
		FROM system.pg_catalog.pg_class c
		LEFT JOIN pg_sluice.pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN (SELECT schema, name FROM sluice.materialized_views UNION ALL SELECT schema, name FROM sluice.pipelines) m
			ON m.schema = n.nspname AND m.name = c.relname
		WHERE c.relnamespace NOT IN (SELECT oid FROM duckdb_schemas() WHERE database_name = 'warehouse' AND schema_name = 'pg_sluice')`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_matviews AS
		SELECT m.schema AS schemaname, m.name AS matviewname, 'sluice' AS matviewowner,
			NULL::VARCHAR AS tablespace, false AS hasindexes, m.version IS NOT NULL AS ispopulated,
			m.query AS definition
		FROM sluice.materialized_views m
		UNION ALL
		SELECT p.schema, p.name, 'sluice', NULL::VARCHAR, false, p.last_run IS NOT NULL, p.query
		FROM sluice.pipelines p`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_userbyid(id) AS 'sluice'`,
}

// resolveCatalogNames points pg_catalog-qualified references to overlaid
// names at the overlay schema.
func resolveCatalogNames(stmt string) string {
	return sql.RequalifySchema(stmt, "pg_catalog", overlaySchema, overlaid)
}

func installOverlays(ctx context.Context, db *stdsql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range overlayDDL {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", firstLine(stmt), err)
		}
	}
	return tx.Commit()
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
