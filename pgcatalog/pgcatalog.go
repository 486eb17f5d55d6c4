// Package pgcatalog emulates PostgreSQL's catalog for psql, drivers and BI
// tools: pg_catalog relations and functions over DuckDB's own catalog and
// Sluice's system tables, and the token-level name resolution that points
// a query's pg_catalog names at them.
package pgcatalog

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-db/sluice/sql"
)

// DuckDB ships a pg_catalog of its own, in its read-only system catalog.
// Sluice extends it with overlay relations and functions in schema
// pg_sluice: pg_class reporting materialized views with relkind 'm', and
// functions psql calls that DuckDB lacks. Sessions have pg_sluice on their
// search_path (for unqualified names), and references qualified with
// pg_catalog to an overlaid name are resolved to pg_sluice at the token level
// (see Resolve), the way a search path would.

// Schema holds the overlays.
const Schema = "pg_sluice"

// overlaid is the set of pg_catalog names the overlay schema defines.
var overlaid = func() map[string]bool {
	m := map[string]bool{"pg_class": true, "pg_namespace": true, "pg_matviews": true, "pg_get_userbyid": true, "pg_settings": true,
		"pg_has_role": true}
	for _, n := range pgCatalogNames {
		m[n] = true
	}
	return m
}()

// overlayDDL creates the overlays (relations.go, settings.go,
// privileges.go), in dependency order.
var overlayDDL = append(append(append([]string{`CREATE SCHEMA IF NOT EXISTS pg_sluice`}, pgCatalogDDL...),
	privilegesDDL...), informationSchemaDDL()...)

// Resolve points pg_catalog-qualified references to overlaid
// names at the overlay schema.
// PostgreSQL syntax DuckDB lacks (OPERATOR(pg_catalog.op), COLLATE
// pg_catalog.default, casts to OID alias types) is translated first.
func Resolve(stmt string) string {
	stmt = sql.TranslateSyntax(stmt, castFuncs)
	stmt = sql.RenameCalls(stmt, computedNameFuncs)
	stmt = sql.RequalifySchema(stmt, "information_schema", infoSchema, infoOverlaid)
	return sql.RequalifySchema(stmt, "pg_catalog", Schema, overlaid)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// computedNameFuncs are functions whose overlay takes a constant name (so
// that it works where DuckDB needs a constant, as in a table function's
// arguments), and the variant a call with a computed name goes to.
var computedNameFuncs = map[string]string{"current_setting": "pg_sluice.current_setting_of"}

// castFuncs are the types DuckDB cannot define, which casts reach through a
// function of the overlay schema: operand::regclass is pg_sluice.regclass(operand).
var castFuncs = map[string]string{
	"regclass":     "pg_sluice.regclass",
	"regtype":      "pg_sluice.regtype",
	"regnamespace": "pg_sluice.regnamespace",
	"regproc":      "pg_sluice.regproc",
}

// Install creates (or replaces) the overlays in DuckDB.
func Install(ctx context.Context, db *stdsql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// DuckDB's settings, for current_setting(name, missing_ok): a list, so
	// that the macro has no subquery (settingsDDL).
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT lower(name) FROM duckdb_settings() ORDER BY 1`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, sql.QuoteLiteral(n))
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	engineSettings := `CREATE OR REPLACE MACRO pg_sluice.engine_settings() AS [` + strings.Join(names, ", ") + `]::VARCHAR[]`
	for _, stmt := range append([]string{overlayDDL[0], engineSettings}, overlayDDL[1:]...) {
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
