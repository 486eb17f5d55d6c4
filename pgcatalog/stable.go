package pgcatalog

import "regexp"

// Which of the emulated catalog's relations and functions give answers that
// depend on nothing but the catalog (definitions, roles, privileges,
// comments, the counts DuckDB keeps per table) and the session's state
// (role, settings, search path): what a reader may keep, keyed by the
// catalog's generation, its change count, the count of writes and the
// session's epoch (the gateway's kept catalog answers). Everything not
// listed here is taken as unstable: sizes on disk (which a checkpoint
// moves), DuckDB's own pg_catalog relations that the overlays do not
// replace (pg_prepared_statements and the like hold session or run-time
// state), and table functions.

// unstableOverlays are overlay relations and functions whose answers read
// more than the catalog: files and blocks on disk.
var unstableOverlays = map[string]bool{
	"relation_sizes": true, "pg_table_size": true, "pg_relation_size": true,
	"pg_total_relation_size": true, "pg_indexes_size": true, "pg_database_size": true,
}

// overlayRelations and overlayFunctions are the names overlayDDL creates in
// the overlay schema.
var overlayRelations, overlayFunctions = func() (map[string]bool, map[string]bool) {
	rels, funcs := map[string]bool{}, map[string]bool{}
	for _, stmt := range overlayDDL {
		m := overlayName.FindStringSubmatch(stmt)
		if m == nil {
			continue
		}
		if m[1] == "VIEW" {
			rels[m[2]] = true
		} else {
			funcs[m[2]] = true
		}
	}
	return rels, funcs
}()

var overlayName = regexp.MustCompile(`^\s*CREATE OR REPLACE (VIEW|MACRO) ` + Schema + `\.([a-z_0-9]+)`)

// duckdbCatalogRelations are relations of DuckDB's own pg_catalog that the
// overlays do not replace and that are views over its catalog functions
// only: pg_depend (duckdb_dependencies()), pg_enum (duckdb_types()),
// pg_sequence (duckdb_sequences()'s definitions, not their values).
var duckdbCatalogRelations = map[string]bool{"pg_depend": true, "pg_enum": true, "pg_sequence": true}

// stableOverlay reports whether name, an overlay relation or function in
// pg_sluice or pg_sluice_info, is stable.
func stableOverlay(name string) bool { return !unstableOverlays[name] }

// StableRelation reports whether the relation schema.name, as a query names
// it after Resolve, is a catalog relation whose rows are stable in the
// sense above. An unqualified name (schema "") is judged by its name only:
// the caller checks first that no relation of the session's search path or
// temporary schema takes that name before the catalog's.
func StableRelation(schema, name string) bool {
	switch schema {
	case "":
		return overlayRelations[name] && stableOverlay(name) || duckdbCatalogRelations[name]
	case "pg_catalog":
		return duckdbCatalogRelations[name]
	case Schema:
		return overlayRelations[name] && stableOverlay(name)
	case infoSchema, "information_schema":
		// DuckDB's views over its catalog functions, and the overlays
		// that filter them by privilege.
		return true
	}
	return false
}

// StableFunction reports whether a call of schema.name is a catalog
// function of the overlay schema whose answer is stable. DuckDB's built-in
// functions are judged by the caller (duckdb_functions() says which are
// consistent).
func StableFunction(schema, name string) bool {
	if schema != Schema && schema != "" {
		return false
	}
	return overlayFunctions[name] && stableOverlay(name)
}
