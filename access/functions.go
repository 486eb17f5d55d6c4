package access

import (
	"context"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sqlplan"
)

// The functions a query calls: how each of DuckDB 1.5.6's table functions
// may be called from user SQL, and the checks of table function, scalar
// function and macro calls.
// A function not listed is refused to roles that are not superusers: a new
// DuckDB version's functions are not allowed by default.
type funcClass int

const (
	funcSafe     funcClass = iota // reads no file, lists nothing of others
	funcFile                      // reads the files its first argument names
	funcCatalog                   // lists the whole database's objects: superusers only
	funcSuper                     // changes or reveals the instance: superusers only
	funcRelation                  // reads the relation its first argument names
	funcSequence                  // uses the sequence its first argument names
	funcInternal                  // Sluice's own, or runs SQL the checks cannot see: nobody
)

var tableFunctions = map[string]funcClass{
	// Values and series.
	"generate_series": funcSafe, "range": funcSafe, "unnest": funcSafe, "repeat": funcSafe, "repeat_row": funcSafe,
	"json_each": funcSafe, "json_tree": funcSafe, "test_all_types": funcSafe, "test_vector_types": funcSafe,
	"pg_timezone_names": funcSafe, "icu_calendar_names": funcSafe, "duckdb_keywords": funcSafe, "duckdb_types": funcSafe,
	"duckdb_functions": funcSafe, "duckdb_optimizers": funcSafe, "duckdb_settings": funcSafe, "duckdb_variables": funcSafe,
	"pragma_version": funcSafe, "pragma_platform": funcSafe, "pragma_user_agent": funcSafe, "pragma_collations": funcSafe,
	"sql_auto_complete": funcSafe, "duckdb_prepared_statements": funcSafe, "summary": funcSafe,
	// Files: the first argument is a path, a glob or a list of them.
	"read_csv": funcFile, "read_csv_auto": funcFile, "sniff_csv": funcFile, "read_parquet": funcFile, "parquet_scan": funcFile,
	"parquet_metadata": funcFile, "parquet_schema": funcFile, "parquet_file_metadata": funcFile, "parquet_kv_metadata": funcFile,
	"parquet_full_metadata": funcFile, "parquet_bloom_probe": funcFile, "read_json": funcFile, "read_json_auto": funcFile,
	"read_json_objects": funcFile, "read_json_objects_auto": funcFile, "read_ndjson": funcFile, "read_ndjson_auto": funcFile,
	"read_ndjson_objects": funcFile, "read_text": funcFile, "read_blob": funcFile, "read_duckdb": funcFile, "glob": funcFile,
	// The catalog of every object (pg_catalog and information_schema show
	// each role what it may see).
	"duckdb_tables": funcCatalog, "duckdb_views": funcCatalog, "duckdb_columns": funcCatalog, "duckdb_schemas": funcCatalog,
	"duckdb_indexes": funcCatalog, "duckdb_constraints": funcCatalog, "duckdb_sequences": funcCatalog,
	"duckdb_dependencies": funcCatalog, "duckdb_databases": funcCatalog, "pragma_show": funcCatalog,
	"pragma_database_size": funcCatalog, "pragma_metadata_info": funcCatalog, "duckdb_table_sample": funcCatalog,
	"duckdb_approx_database_count": funcCatalog, "duckdb_coordinate_systems": funcCatalog,
	// The instance: memory, files, logs, profiling, checkpoints, secrets.
	"checkpoint": funcSuper, "force_checkpoint": funcSuper, "duckdb_memory": funcSuper, "duckdb_temporary_files": funcSuper,
	"duckdb_external_file_cache": funcSuper, "duckdb_connection_count": funcSuper, "duckdb_extensions": funcSuper,
	"duckdb_logs": funcSuper, "duckdb_log_contexts": funcSuper, "duckdb_logs_parsed": funcSuper, "truncate_duckdb_logs": funcSuper,
	"enable_logging": funcSuper, "disable_logging": funcSuper, "enable_profiling": funcSuper, "disable_profiling": funcSuper,
	"duckdb_profiling_settings": funcSuper, "duckdb_secrets": funcSuper, "which_secret": funcSuper, "duckdb_secret_types": funcSuper,
	// Relations named by a string.
	"pragma_table_info": funcRelation, "pragma_storage_info": funcRelation, "histogram": funcRelation, "histogram_values": funcRelation,
	// Nobody: they run SQL text the checks do not see (query, query_table,
	// json_execute_serialized_sql), read process memory (arrow_scan),
	// change the parser, or are Sluice's own (sluice_source reads a
	// connector source whatever its privileges).
	"query": funcInternal, "query_table": funcInternal, "json_execute_serialized_sql": funcInternal,
	"arrow_scan": funcInternal, "arrow_scan_dumb": funcInternal, "seq_scan": funcInternal, "enable_peg_parser": funcInternal,
	"disable_peg_parser": funcInternal, "check_peg_parser": funcInternal, "sluice_source": funcInternal,
}

// scalarFunctions are the scalar functions that reach something by a
// name in their first argument; all others compute on their arguments.
var scalarFunctions = map[string]funcClass{
	"nextval": funcSequence, "currval": funcSequence, "setval": funcSequence,
	// Sluice's own: an s3:// source's files, listed and downloaded.
	"sluice_object_files": funcInternal,
	// query() as a scalar does not exist; json_execute_serialized_sql does.
	"json_execute_serialized_sql": funcInternal,
}

// catalogViews are DuckDB's system views that list every object; the
// session's pg_catalog and information_schema show each role its own.
var catalogViews = map[string]bool{
	"duckdb_columns": true, "duckdb_constraints": true, "duckdb_databases": true, "duckdb_indexes": true,
	"duckdb_logs": true, "duckdb_schemas": true, "duckdb_tables": true, "duckdb_types": false, "duckdb_views": true,
	"pragma_database_list": true, "sqlite_master": true, "sqlite_schema": true, "sqlite_temp_master": true,
	"sqlite_temp_schema": true,
}

// FileFunctions are the names of the table functions that read files (the
// session analyses a superuser's statement only when it may name a file).
func FileFunctions() []string {
	var out []string
	for n, c := range tableFunctions {
		if c == funcFile || c == funcInternal {
			out = append(out, n)
		}
	}
	return out
}

// tableFunction checks a table function call.
func (c *Checker) tableFunction(ctx context.Context, role string, f sqlplan.FuncCall, sc Scope, depth int) error {
	name := strings.ToLower(f.Name)
	super := c.snap.Superuser(role)
	// A user's macro comes first: DuckDB resolves a function name on the
	// search path before its own (a macro may shadow read_csv).
	if ok, err := c.macro(ctx, role, f, sc, depth); ok || err != nil {
		return err
	}
	class, known := tableFunctions[name]
	switch {
	case !known:
		if super {
			return nil
		}
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for function %s", f.Name)
	case class == funcSafe:
		return nil
	case class == funcInternal:
		return internalFunction(f.Name)
	case class == funcFile:
		if !f.ArgsConstant {
			e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for function %s: its path must be a constant (a string or a list of strings)", f.Name)
			e.Hint = "Sluice checks every path against the file roots before the statement runs."
			return e
		}
		return c.readFile(role, f.Name, f.Args)
	case class == funcRelation:
		if super {
			return nil
		}
		if !f.ArgsConstant || len(f.Args) != 1 {
			return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for function %s: its relation must be a constant name", f.Name)
		}
		return c.namedRelation(ctx, role, f.Args[0], sc, depth)
	case super:
		return nil
	case class == funcCatalog:
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for function %s: it lists every object of the database", f.Name)
		e.Hint = "Use pg_catalog or information_schema, which list the objects you may use."
		return e
	}
	return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for function %s: only superusers may call it", f.Name)
}

// internalFunction refuses a function no role calls directly.
func internalFunction(name string) error {
	e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for function %s", name)
	e.Detail = "It runs SQL or reads data that Sluice's privilege checks cannot see, or it is Sluice's own."
	return e
}

// namedRelation checks SELECT on a relation named by a string
// (pragma_table_info('t')).
func (c *Checker) namedRelation(ctx context.Context, role, text string, sc Scope, depth int) error {
	parts := strings.Split(text, ".")
	t := sqlplan.TableRef{Name: parts[len(parts)-1]}
	if len(parts) >= 2 {
		t.Schema = parts[len(parts)-2]
	}
	if len(parts) >= 3 {
		t.Catalog = parts[len(parts)-3]
	}
	return c.table(ctx, role, t, sc, "", depth)
}

// function checks a scalar (or aggregate, window) function call: a user's
// macro runs as the caller, so its body is checked as the caller's own
// query; sequences need their privileges.
func (c *Checker) function(ctx context.Context, role string, f sqlplan.FuncCall, sc Scope, depth int) error {
	name := strings.ToLower(f.Name)
	if ok, err := c.macro(ctx, role, f, sc, depth); ok || err != nil {
		return err
	}
	switch scalarFunctions[name] {
	case funcInternal:
		return internalFunction(f.Name)
	case funcSequence:
		if c.snap.Superuser(role) {
			return nil
		}
		if !f.ArgsConstant || len(f.Args) != 1 {
			return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for function %s: its sequence must be a constant name", f.Name)
		}
		need := Usage
		if name == "setval" {
			need = Update
		}
		parts := strings.Split(f.Args[0], ".")
		schema := "public"
		if len(parts) > 1 {
			schema = parts[len(parts)-2]
		}
		ref, _, ok := c.lookup(schema, parts[len(parts)-1])
		if !ok {
			for _, s := range sc.SearchPath {
				if ref, _, ok = c.lookup(s, parts[len(parts)-1]); ok {
					break
				}
			}
		}
		if !ok {
			return nil // DuckDB reports it
		}
		return c.Require(role, ref, need)
	}
	return nil
}

// macro checks a call of a user's macro (persistent or temporary): its body
// as the caller's own query. ok is false when f names no such macro.
func (c *Checker) macro(ctx context.Context, role string, f sqlplan.FuncCall, sc Scope, depth int) (ok bool, err error) {
	var def string
	var table bool
	schema := strings.ToLower(f.Schema)
	switch {
	case schema == "pg_sluice" || schema == "pg_catalog" || schema == "sluice_catalog" || strings.EqualFold(f.Catalog, "system"):
		return false, nil
	case schema == "" && sc.Temps != nil:
		temps, err := sc.Temps(ctx)
		if err != nil {
			return false, err
		}
		if t, found := temps[strings.ToLower(f.Name)]; found && strings.HasSuffix(t.Kind, "macro") {
			def, table, ok = t.Body, t.Kind == "table macro", true
		}
	}
	if !ok {
		path := sc.SearchPath
		if schema != "" {
			path = []string{schema}
		}
		for _, s := range path {
			if m, found := c.findMacro(s, f.Name); found {
				def, table, ok = m.Definition, m.Table, true
				break
			}
		}
	}
	if !ok {
		return false, nil
	}
	query := def
	if !table {
		query = "SELECT " + def
	}
	a, err := c.analyze(ctx, query)
	if err != nil {
		return true, pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied for function %s: its definition cannot be checked: %v", f.Name, err)
	}
	return true, c.query(ctx, role, a, sc, "", depth+1)
}

func (c *Checker) findMacro(schema, name string) (catalog.Macro, bool) {
	if m, ok := c.snap.macros[catalog.Ref{Schema: schema, Name: name}]; ok {
		return m, true
	}
	for ref, m := range c.snap.macros {
		if strings.EqualFold(ref.Schema, schema) && strings.EqualFold(ref.Name, name) {
			return m, true
		}
	}
	return catalog.Macro{}, false
}
