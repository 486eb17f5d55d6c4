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
var overlaid = func() map[string]bool {
	m := map[string]bool{"pg_class": true, "pg_namespace": true, "pg_matviews": true, "pg_get_userbyid": true}
	for _, n := range pgCatalogNames {
		m[n] = true
	}
	return m
}()

// overlayDDL creates the overlays (pgcatalog.go).
var overlayDDL = append([]string{`CREATE SCHEMA IF NOT EXISTS pg_sluice`}, pgCatalogDDL...)

// resolveCatalogNames points pg_catalog-qualified references to overlaid
// names at the overlay schema.
// PostgreSQL syntax DuckDB lacks (OPERATOR(pg_catalog.op), COLLATE
// pg_catalog.default, casts to OID alias types) is translated first.
func resolveCatalogNames(stmt string) string {
	stmt = sql.TranslateSyntax(stmt, castFuncs)
	return sql.RequalifySchema(stmt, "pg_catalog", overlaySchema, overlaid)
}

// castFuncs are the types DuckDB cannot define, which casts reach through a
// function of the overlay schema: operand::regclass is pg_sluice.regclass(operand).
var castFuncs = map[string]string{
	"regclass":     "pg_sluice.regclass",
	"regtype":      "pg_sluice.regtype",
	"regnamespace": "pg_sluice.regnamespace",
	"regproc":      "pg_sluice.regproc",
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
