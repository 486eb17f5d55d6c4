package catalog

import "context"

// The gateway database's schemas, relations and macros as privilege checks
// see them (Relations).

// KindSequence is a plain DuckDB sequence (not Sluice's).
const KindSequence Kind = "sequence"

// Relation is a relation of the gateway's database as privileges see it.
type Relation struct {
	Ref  Ref
	Kind Kind
	// ViewSQL is a plain view's definition as DuckDB keeps it (CREATE VIEW
	// ... AS query); "" for other kinds.
	ViewSQL string
}

// Macro is a macro users defined (a function to PostgreSQL clients).
type Macro struct {
	Schema, Name string
	Table        bool // a table macro (called in FROM)
	// Definition is the macro's body: an expression, or a query for a
	// table macro.
	Definition string
}

// Relations lists the gateway database's schemas, relations (Sluice's
// objects by their kind, plain tables, views and sequences) and macros,
// for privilege checks. Temporary objects, which live on one session's
// connection, are not listed.
func (s *Store) Relations(ctx context.Context) (schemas []string, rels []Relation, macros []Macro, err error) {
	const q = `
		SELECT 's' AS what, schema_name, '' AS name, '' AS kind, '' AS def FROM duckdb_schemas()
			WHERE database_name = current_database() AND schema_name NOT IN ('sluice_catalog', 'pg_sluice')
		UNION ALL SELECT 'r', schema, name, 'source', '' FROM sluice_catalog.sources
		UNION ALL SELECT 'r', schema, name, 'materialized view', '' FROM sluice_catalog.materialized_views
		UNION ALL SELECT 'r', schema, name, 'pipeline', '' FROM sluice_catalog.pipelines
		UNION ALL SELECT 'r', schema_name, table_name, 'table', '' FROM duckdb_tables()
			WHERE database_name = current_database() AND NOT temporary AND schema_name <> 'sluice_catalog'
		UNION ALL SELECT 'r', schema_name, view_name, 'view', sql FROM duckdb_views()
			WHERE database_name = current_database() AND NOT internal AND NOT temporary
			AND schema_name NOT IN ('sluice_catalog', 'pg_sluice')
		UNION ALL SELECT 'r', schema_name, sequence_name, 'sequence', '' FROM duckdb_sequences()
			WHERE database_name = current_database() AND NOT temporary AND schema_name <> 'sluice_catalog'
		UNION ALL SELECT DISTINCT 'm', schema_name, function_name, function_type, coalesce(macro_definition, '') FROM duckdb_functions()
			WHERE database_name = current_database() AND NOT internal AND function_type IN ('macro', 'table_macro')
			AND schema_name NOT IN ('sluice_catalog', 'pg_sluice')`
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	// A source, materialized view or pipeline is a DuckDB view too: its
	// Sluice kind wins.
	index := map[Ref]int{}
	for rows.Next() {
		var what, schema, name, kind, def string
		if err := rows.Scan(&what, &schema, &name, &kind, &def); err != nil {
			return nil, nil, nil, err
		}
		switch what {
		case "s":
			schemas = append(schemas, schema)
		case "m":
			macros = append(macros, Macro{Schema: schema, Name: name, Table: kind == "table_macro", Definition: def})
		default:
			r := Relation{Ref: Ref{Schema: schema, Name: name}, Kind: Kind(kind)}
			if r.Kind == KindView {
				r.ViewSQL = def
			}
			i, seen := index[r.Ref]
			switch {
			case !seen:
				index[r.Ref] = len(rels)
				rels = append(rels, r)
			case r.Kind != KindView:
				rels[i] = r
			}
		}
	}
	return schemas, rels, macros, rows.Err()
}
