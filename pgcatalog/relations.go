package pgcatalog

import (
	"fmt"
	"strings"

	"github.com/sluice-db/sluice/sql"
)

// The pg_catalog relations and functions that psql, drivers and BI tools
// query on connect and while browsing, built over DuckDB's own catalog
// (duckdb_columns(), duckdb_views(), duckdb_settings(), ...) and Sluice's
// system tables. They live in the overlay schema (see pgcatalog.go). This
// file is one list of DDL in dependency order; it is long because the
// catalog clients read is wide, not because it does several things.
//
// Conventions, as in PostgreSQL: schema public has OID 2200 and pg_catalog
// OID 11; the role "sluice" has OID 10; type OIDs are PostgreSQL's, those
// Sluice sends in RowDescription (internal/pgcodec).

// pgCatalogNames are the pg_catalog relations and functions defined here.
var pgCatalogNames = []string{
	"pg_type", "pg_attribute", "pg_attrdef", "pg_description", "pg_shdescription",
	"pg_index", "pg_constraint", "pg_proc", "pg_database", "pg_roles", "pg_user",
	"pg_settings", "pg_views", "pg_tables", "pg_range", "pg_extension",
	"pg_table_is_visible", "format_type", "pg_get_expr", "pg_encoding_to_char",
	"current_schemas", "version", "quote_ident", "parse_ident", "pg_get_indexdef",
	"pg_get_viewdef", "obj_description", "col_description", "shobj_description",
	"current_setting", "pg_get_serial_sequence", "pg_get_partkeydef",
	"regclass", "regtype", "regnamespace", "regproc",
	"has_table_privilege", "has_any_column_privilege", "has_column_privilege",
	"has_schema_privilege", "has_database_privilege", "has_function_privilege",
	"has_sequence_privilege", "pg_stat_user_tables", "array_lower", "array_upper",
	"array_to_string", "pg_policy", "pg_statistic_ext", "pg_publication", "pg_publication_rel",
	"pg_publication_namespace", "pg_inherits", "pg_trigger", "pg_partitioned_table",
	"pg_get_statisticsobjdef_columns", "pg_relation_is_publishable",
	"pg_am", "pg_tablespace", "pg_rewrite", "pg_get_ruledef", "pg_size_pretty", "pg_table_size",
	"pg_relation_size", "pg_total_relation_size", "pg_indexes_size", "pg_database_size",
	"pg_auth_members", "pg_parameter_acl", "array_remove", "pg_function_is_visible",
	"pg_get_function_result", "pg_get_function_arguments", "pg_get_function_identity_arguments",
}

// pgType is a row of pg_type; each gets an array type too (typarray).
type pgType struct {
	oid      int
	name     string // typname
	len      int
	category string
	array    int
	typtype  string
	sqlName  string // format_type's name, when it differs from typname
}

var pgTypeRows = []pgType{
	{16, "bool", 1, "B", 1000, "b", "boolean"}, {17, "bytea", -1, "U", 1001, "b", ""},
	{18, "char", 1, "S", 1002, "b", `"char"`}, {19, "name", 64, "S", 1003, "b", ""},
	{20, "int8", 8, "N", 1016, "b", "bigint"}, {21, "int2", 2, "N", 1005, "b", "smallint"},
	{23, "int4", 4, "N", 1007, "b", "integer"}, {24, "regproc", 4, "N", 1008, "b", ""},
	{25, "text", -1, "S", 1009, "b", ""}, {26, "oid", 4, "N", 1028, "b", ""},
	{114, "json", -1, "U", 199, "b", ""}, {700, "float4", 4, "N", 1021, "b", "real"},
	{701, "float8", 8, "N", 1022, "b", "double precision"}, {705, "unknown", -2, "X", 0, "p", ""},
	{1043, "varchar", -1, "S", 1015, "b", "character varying"}, {1082, "date", 4, "D", 1182, "b", ""},
	{1083, "time", 8, "D", 1183, "b", "time without time zone"}, {1114, "timestamp", 8, "D", 1115, "b", "timestamp without time zone"},
	{1184, "timestamptz", 8, "D", 1185, "b", "timestamp with time zone"}, {1186, "interval", 16, "T", 1187, "b", ""},
	{1266, "timetz", 12, "D", 1270, "b", "time with time zone"}, {1700, "numeric", -1, "N", 1231, "b", ""},
	{2205, "regclass", 4, "N", 2210, "b", ""}, {2206, "regtype", 4, "N", 2211, "b", ""},
	{2950, "uuid", 16, "U", 2951, "b", ""}, {2249, "record", -1, "P", 2287, "p", ""},
	{2278, "void", 4, "P", 0, "p", ""},
}

// pgTypes is pgTypeRows as a relation: (oid, typname, typlen, typcategory,
// typarray, typtype).
var pgTypes = func() string {
	var b strings.Builder
	b.WriteString("(VALUES ")
	for i, t := range pgTypeRows {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, '%s', %d, '%s', %d, '%s')", t.oid, t.name, t.len, t.category, t.array, t.typtype)
	}
	b.WriteString(") t(oid, typname, typlen, typcategory, typarray, typtype)")
	return b.String()
}()

// formatTypeNames is a CASE over a type OID giving format_type's name for
// it and for its array type; a CASE rather than a lookup in pg_type, so that
// format_type works anywhere (a subquery would capture its arguments' names).
var formatTypeNames = func() string {
	var b strings.Builder
	b.WriteString("CASE id")
	for _, t := range pgTypeRows {
		name := t.sqlName
		if name == "" {
			name = t.name
		}
		fmt.Fprintf(&b, " WHEN %d THEN %s", t.oid, sql.QuoteLiteral(name))
		if t.array != 0 {
			fmt.Fprintf(&b, " WHEN %d THEN %s", t.array, sql.QuoteLiteral(name+"[]"))
		}
	}
	b.WriteString(" ELSE '???' END")
	return b.String()
}()

// pgCatalogDDL creates the relations and functions, in dependency order.
var pgCatalogDDL = append([]string{
	// Namespaces: DuckDB's schema OIDs, but public and pg_catalog keep the
	// OIDs PostgreSQL gives them (clients hard-code 2200 and 11). DuckDB's
	// default schema main, where Sluice puts nothing, shows only when
	// something is in it.
	// What the relations below need first: lookup(entries, key), the
	// roles, and which relations the session's role may see listed (the
	// catalogs and Sluice's system tables always; others when it holds a
	// privilege on them, or sees every row: catalog/system.go's variables).
	`CREATE OR REPLACE MACRO pg_sluice.lookup(entries, key) AS entries.v[list_position(entries.k, key)]`,
	`CREATE OR REPLACE MACRO pg_sluice.listed(s, n) AS
		s IN ('pg_catalog', 'information_schema', 'sluice') OR sluice_catalog.visible(s, n)`,
	// Every role: the built-in one, the predefined ones and the users of
	// the configuration file (sluice_catalog.static_roles, written at each
	// start), and those made with CREATE ROLE (sluice_catalog.roles).
	`CREATE OR REPLACE VIEW pg_sluice.pg_roles AS
		SELECT name AS rolname, superuser AS rolsuper, inherit AS rolinherit, createrole AS rolcreaterole,
			superuser AS rolcreatedb, login AS rolcanlogin, false AS rolreplication, -1 AS rolconnlimit,
			'********' AS rolpassword, NULL::TIMESTAMPTZ AS rolvaliduntil, superuser AS rolbypassrls,
			NULL::VARCHAR[] AS rolconfig, oid::BIGINT AS oid
		FROM (SELECT oid, name, superuser, createrole, inherit, login FROM sluice_catalog.static_roles
			UNION ALL
			SELECT oid, name, coalesce(superuser, false), coalesce(createrole, false), coalesce(inherit, true), login
			FROM sluice_catalog.roles WHERE name NOT IN (SELECT name FROM sluice_catalog.static_roles))`,
	`CREATE OR REPLACE MACRO pg_sluice.role_oid(pgs_role) AS pg_sluice.lookup(
		(SELECT {'k': list(rolname), 'v': list(oid)} FROM pg_sluice.pg_roles), pgs_role)`,
	`CREATE OR REPLACE MACRO pg_sluice.owner_of(s, n) AS coalesce(
		(SELECT a.owner FROM sluice_catalog.acl a WHERE a.kind = 'relation' AND a.schema = s AND a.name = n), 'sluice')`,
	`CREATE OR REPLACE MACRO pg_sluice.nsp_oid(raw, name) AS
		CASE name WHEN 'public' THEN 2200 WHEN 'pg_catalog' THEN 11 ELSE raw END`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_namespace AS
		SELECT pg_sluice.nsp_oid(d.oid, d.schema_name) AS oid, d.schema_name AS nspname,
			coalesce(pg_sluice.role_oid(a.owner), 10)::BIGINT AS nspowner, a.acl AS nspacl, 0::BIGINT AS xmin
		FROM duckdb_schemas() d
		LEFT JOIN sluice_catalog.acl a ON a.kind = 'schema' AND a.schema = '' AND a.name = d.schema_name
		WHERE (d.database_name = 'warehouse' AND d.schema_name NOT IN ('pg_sluice', 'pg_sluice_info', 'sluice_catalog') AND (d.schema_name <> 'main' OR EXISTS (
				SELECT 1 FROM duckdb_tables() WHERE database_name = 'warehouse' AND schema_name = 'main'
				UNION ALL SELECT 1 FROM duckdb_views() WHERE database_name = 'warehouse' AND schema_name = 'main' AND NOT internal
				UNION ALL SELECT 1 FROM duckdb_sequences() WHERE database_name = 'warehouse' AND schema_name = 'main')))
		   OR (d.database_name = 'system' AND d.schema_name IN ('pg_catalog', 'information_schema'))`,
	// Materialized views and pipelines are DuckDB views over their files;
	// both are materialized relations, reported as relkind 'm' as PostgreSQL
	// does for materialized views (so psql's \dm lists them). The overlay
	// schema is hidden.
	// Tables and materialized relations report PostgreSQL's heap access
	// method (pg_am below), as psql's \d+ expects of them.
	`CREATE OR REPLACE VIEW pg_sluice.pg_class AS
		SELECT c.* REPLACE (
				CASE WHEN m.name IS NOT NULL THEN 'm' ELSE c.relkind END AS relkind,
				pg_sluice.nsp_oid(c.relnamespace, s.schema_name) AS relnamespace,
				coalesce(pg_sluice.role_oid(a.owner), 10)::BIGINT AS relowner,
				CASE WHEN m.name IS NOT NULL OR c.relkind = 'r' THEN 2 ELSE 0 END AS relam,
				CASE WHEN m.name IS NOT NULL OR c.relkind = 'r' THEN 'd' ELSE 'n' END AS relreplident,
				coalesce(m.populated, c.relispopulated) AS relispopulated,
				0::BIGINT AS relminmxid, a.acl AS relacl, NULL::VARCHAR[] AS reloptions,
				NULL::VARCHAR AS relpartbound),
			false AS relforcerowsecurity
		FROM system.pg_catalog.pg_class c
		LEFT JOIN (SELECT oid, schema_name FROM duckdb_schemas() WHERE database_name IN ('warehouse', 'system')) s ON s.oid = c.relnamespace
		LEFT JOIN (SELECT schema, name, version IS NOT NULL AS populated FROM sluice_catalog.materialized_views
			UNION ALL SELECT schema, name, last_run IS NOT NULL FROM sluice_catalog.pipelines) m
			ON m.schema = s.schema_name AND m.name = c.relname
		LEFT JOIN sluice_catalog.acl a ON a.kind = 'relation' AND a.schema = s.schema_name AND a.name = c.relname
		WHERE coalesce(s.schema_name NOT IN ('pg_sluice', 'pg_sluice_info', 'sluice_catalog'), true)
			AND pg_sluice.listed(s.schema_name, c.relname)`,
	// The rows of pg_class JOIN pg_namespace, with only the columns name
	// lookups need (oid, relname, relnamespace, nspname, and DuckDB's
	// relkind, before materialized relations become 'm'): the same
	// relations as system.pg_catalog.pg_class, read from DuckDB's catalog
	// functions without the columns that view computes for every row, and
	// the namespaces pg_namespace lists (a relation in main makes main
	// listed).
	`CREATE OR REPLACE VIEW pg_sluice.relations AS
		SELECT r.oid::BIGINT AS oid, r.relname, pg_sluice.nsp_oid(s.oid, s.schema_name) AS relnamespace,
			s.schema_name AS nspname, r.relkind
		FROM (SELECT table_oid AS oid, schema_oid, table_name AS relname, 'r' AS relkind FROM duckdb_tables()
			UNION ALL SELECT view_oid, schema_oid, view_name, 'v' FROM duckdb_views()
			UNION ALL SELECT sequence_oid, schema_oid, sequence_name, 'S' FROM duckdb_sequences()
			UNION ALL SELECT index_oid, schema_oid, index_name, 'i' FROM duckdb_indexes()) r
		JOIN duckdb_schemas() s ON s.oid = r.schema_oid
		WHERE ((s.database_name = 'warehouse' AND s.schema_name NOT IN ('pg_sluice', 'pg_sluice_info', 'sluice_catalog'))
		   OR (s.database_name = 'system' AND s.schema_name IN ('pg_catalog', 'information_schema')))
			AND pg_sluice.listed(s.schema_name, r.relname)`,
	// The names ::regclass accepts for each relation: relname, nspname.relname
	// and "nspname"."relname" (pgs_-prefixed, so that a macro's argument is
	// never captured by these columns).
	`CREATE OR REPLACE VIEW pg_sluice.relation_keys AS
		SELECT unnest([relname, nspname || '.' || relname, '"' || nspname || '"."' || relname || '"']) AS pgs_key,
			oid AS pgs_oid, nspname AS pgs_nspname
		FROM pg_sluice.relations`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_am AS
		SELECT oid::BIGINT AS oid, amname, amhandler, amtype
		FROM (VALUES (2, 'heap', 'heap_tableam_handler', 't'), (403, 'btree', 'bthandler', 'i'))
			a(oid, amname, amhandler, amtype)`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_tablespace AS
		SELECT oid::BIGINT AS oid, spcname, 10::BIGINT AS spcowner, NULL::VARCHAR[] AS spcacl, NULL::VARCHAR[] AS spcoptions
		FROM (VALUES (1663, 'pg_default'), (1664, 'pg_global')) t(oid, spcname)`,
	// The query a view, materialized view or pipeline is defined by: the
	// catalog's text for materialized relations (their DuckDB views read
	// files), the body of DuckDB's CREATE VIEW for views.
	`CREATE OR REPLACE VIEW pg_sluice.view_queries AS
		SELECT v.view_oid::BIGINT AS oid, v.schema_name AS schemaname, v.view_name AS viewname,
			coalesce(m.query, regexp_replace(v.sql,
				'^\s*CREATE\s+(OR\s+REPLACE\s+)?(TEMP(ORARY)?\s+)?VIEW\s+.*?\s+AS\s+', '', 's')) AS query
		FROM duckdb_views() v
		LEFT JOIN (SELECT schema, name, query FROM sluice_catalog.materialized_views
			UNION ALL SELECT schema, name, query FROM sluice_catalog.pipelines) m
			ON m.schema = v.schema_name AND m.name = v.view_name
		WHERE NOT v.internal AND v.database_name = 'warehouse'`,
	// PostgreSQL's deparsed form starts with a space and ends with ';'.
	`CREATE OR REPLACE MACRO pg_sluice.viewdef_text(q) AS ' ' || rtrim(trim(q), ';') || ';'`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_matviews AS
		SELECT m.schema AS schemaname, m.name AS matviewname, pg_sluice.owner_of(m.schema, m.name) AS matviewowner,
			NULL::VARCHAR AS tablespace, false AS hasindexes, m.version IS NOT NULL AS ispopulated,
			pg_sluice.viewdef_text(m.query) AS definition
		FROM sluice_catalog.materialized_views m WHERE pg_sluice.listed(m.schema, m.name)
		UNION ALL
		SELECT p.schema, p.name, pg_sluice.owner_of(p.schema, p.name), NULL::VARCHAR, false, p.last_run IS NOT NULL, pg_sluice.viewdef_text(p.query)
		FROM sluice_catalog.pipelines p WHERE pg_sluice.listed(p.schema, p.name)`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_userbyid(id) AS coalesce(pg_sluice.lookup(
		(SELECT {'k': list(oid), 'v': list(rolname)} FROM pg_sluice.pg_roles), id::BIGINT), 'unknown (OID=' || id || ')')`,

	// Types and their receive functions (Npgsql joins pg_proc on typreceive
	// to tell arrays, by proname 'array_recv').
	`CREATE OR REPLACE VIEW pg_sluice.pg_type AS
		SELECT oid::BIGINT AS oid, typname::VARCHAR AS typname, 11::BIGINT AS typnamespace, 10::BIGINT AS typowner,
			typlen::SMALLINT AS typlen, typlen > 0 AS typbyval, typtype::VARCHAR AS typtype, typcategory::VARCHAR AS typcategory,
			typname IN ('bool', 'text', 'float8', 'timestamptz', 'oid') AS typispreferred, true AS typisdefined,
			',' AS typdelim, 0::BIGINT AS typrelid, 0::BIGINT AS typsubscript, 0::BIGINT AS typelem, typarray::BIGINT AS typarray,
			(typname || 'in') AS typinput, (typname || 'out') AS typoutput, (100000 + oid)::BIGINT AS typreceive,
			(typname || 'send') AS typsend, NULL::VARCHAR AS typmodin, NULL::VARCHAR AS typmodout, NULL::VARCHAR AS typanalyze,
			CASE WHEN typlen = 8 THEN 'd' WHEN typlen IN (4, 12) THEN 'i' WHEN typlen = 2 THEN 's' ELSE 'c' END AS typalign,
			CASE WHEN typlen > 0 THEN 'p' WHEN typname = 'numeric' THEN 'm' ELSE 'x' END AS typstorage, false AS typnotnull, 0::BIGINT AS typbasetype,
			-1 AS typtypmod, 0 AS typndims, CASE WHEN typcategory = 'S' THEN 100 ELSE 0 END::BIGINT AS typcollation,
			NULL::VARCHAR AS typdefaultbin, NULL::VARCHAR AS typdefault, NULL::VARCHAR[] AS typacl
		FROM ` + pgTypes + `
		UNION ALL
		SELECT typarray, '_' || typname, 11, 10, -1, false, 'b', 'A', false, true, ',', 0, 0, oid, 0,
			'array_in', 'array_out', 2400, 'array_send', NULL, NULL, NULL, 'i', 'x', false, 0, -1, 0,
			CASE WHEN typcategory = 'S' THEN 100 ELSE 0 END, NULL, NULL, NULL
		FROM ` + pgTypes + ` WHERE typarray <> 0`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_proc AS
		SELECT oid, proname, 11::BIGINT AS pronamespace, 10::BIGINT AS proowner, 12::BIGINT AS prolang,
			1::REAL AS procost, 0::REAL AS prorows, 0::BIGINT AS provariadic, 0::BIGINT AS prosupport, 'f' AS prokind,
			false AS prosecdef, false AS proleakproof, true AS proisstrict, false AS proretset, 'i' AS provolatile,
			's' AS proparallel, 1::SMALLINT AS pronargs, 0::SMALLINT AS pronargdefaults, rettype::BIGINT AS prorettype,
			'2281' AS proargtypes, NULL::BIGINT[] AS proallargtypes, NULL::VARCHAR[] AS proargmodes, NULL::VARCHAR[] AS proargnames,
			NULL::VARCHAR AS proargdefaults, NULL::VARCHAR AS protrftypes, proname AS prosrc, NULL::VARCHAR AS probin,
			NULL::VARCHAR AS prosqlbody, NULL::VARCHAR[] AS proconfig, NULL::VARCHAR[] AS proacl
		FROM (SELECT (100000 + oid)::BIGINT AS oid, typname || 'recv' AS proname, oid AS rettype FROM ` + pgTypes + `
			UNION ALL SELECT 2400, 'array_recv', 2277)`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_range AS
		SELECT 0::BIGINT AS rngtypid, 0::BIGINT AS rngsubtype, 0::BIGINT AS rngmultitypid, 0::BIGINT AS rngcollation,
			0::BIGINT AS rngsubopc, NULL::VARCHAR AS rngcanonical, NULL::VARCHAR AS rngsubdiff
		WHERE false`,
	// Relations psql's \d consults for features Sluice does not have (row
	// security, extended statistics, publications, inheritance, triggers,
	// partitioned tables): present, with PostgreSQL's columns, and empty.
	`CREATE OR REPLACE VIEW pg_sluice.pg_policy AS
		SELECT 0::BIGINT AS oid, NULL::VARCHAR AS polname, 0::BIGINT AS polrelid, NULL::VARCHAR AS polcmd,
			true AS polpermissive, NULL::BIGINT[] AS polroles, NULL::VARCHAR AS polqual, NULL::VARCHAR AS polwithcheck
		WHERE false`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_statistic_ext AS
		SELECT 0::BIGINT AS oid, 0::BIGINT AS stxrelid, NULL::VARCHAR AS stxname, 0::BIGINT AS stxnamespace,
			10::BIGINT AS stxowner, -1 AS stxstattarget, NULL::SMALLINT[] AS stxkeys, NULL::VARCHAR[] AS stxkind,
			NULL::VARCHAR AS stxexprs
		WHERE false`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_publication AS
		SELECT 0::BIGINT AS oid, NULL::VARCHAR AS pubname, 10::BIGINT AS pubowner, false AS puballtables,
			false AS pubinsert, false AS pubupdate, false AS pubdelete, false AS pubtruncate, false AS pubviaroot
		WHERE false`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_publication_rel AS
		SELECT 0::BIGINT AS oid, 0::BIGINT AS prpubid, 0::BIGINT AS prrelid, NULL::VARCHAR AS prqual, NULL::SMALLINT[] AS prattrs
		WHERE false`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_publication_namespace AS
		SELECT 0::BIGINT AS oid, 0::BIGINT AS pnpubid, 0::BIGINT AS pnnspid
		WHERE false`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_inherits AS
		SELECT 0::BIGINT AS inhrelid, 0::BIGINT AS inhparent, 0 AS inhseqno, false AS inhdetachpending
		WHERE false`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_trigger AS
		SELECT 0::BIGINT AS oid, 0::BIGINT AS tgrelid, 0::BIGINT AS tgparentid, NULL::VARCHAR AS tgname,
			0::BIGINT AS tgfoid, 0::SMALLINT AS tgtype, 'O' AS tgenabled, false AS tgisinternal
		WHERE false`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_partitioned_table AS
		SELECT 0::BIGINT AS partrelid, 'r' AS partstrat, 0::SMALLINT AS partnatts
		WHERE false`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_parameter_acl AS
		SELECT 0::BIGINT AS oid, NULL::VARCHAR AS parname, NULL::VARCHAR[] AS paracl
		WHERE false`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_statisticsobjdef_columns(oid) AS NULL::VARCHAR`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_relation_is_publishable(oid) AS false`,
	// PostgreSQL's array_to_string, called qualified (pg_catalog.array_to_string).
	`CREATE OR REPLACE MACRO pg_sluice.array_to_string(a, sep) AS
		CASE WHEN a IS NOT NULL THEN coalesce(list_aggr(list_transform(a, pgs_x -> CAST(pgs_x AS VARCHAR)), 'string_agg', sep), '') END`,
	// PostgreSQL calls any function in FROM, a scalar one giving one row;
	// DuckDB only table functions. string_to_array, which Grafana calls so,
	// is a table function too (named by the alias: see sql.TranslateSyntax).
	`CREATE OR REPLACE MACRO pg_sluice.string_to_array(s, d) AS TABLE SELECT string_to_array(s, d) AS string_to_array`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_extension AS
		SELECT 13000::BIGINT AS oid, 'plpgsql' AS extname, 10::BIGINT AS extowner, 11::BIGINT AS extnamespace,
			false AS extrelocatable, '1.0' AS extversion, NULL::VARCHAR AS extconfig, NULL::VARCHAR AS extcondition`,

	// The PostgreSQL type of a DuckDB column type, as Sluice sends it.
	`CREATE OR REPLACE MACRO pg_sluice.sluice_type_oid(t) AS CASE
		WHEN t = 'BOOLEAN' THEN 16
		WHEN t IN ('TINYINT', 'SMALLINT', 'UTINYINT') THEN 21
		WHEN t IN ('INTEGER', 'USMALLINT') THEN 23
		WHEN t IN ('BIGINT', 'UINTEGER') THEN 20
		WHEN t IN ('HUGEINT', 'UBIGINT', 'UHUGEINT', 'BIGNUM', 'VARINT') OR t LIKE 'DECIMAL%' THEN 1700
		WHEN t = 'FLOAT' THEN 700
		WHEN t = 'DOUBLE' THEN 701
		WHEN t = 'BLOB' THEN 17
		WHEN t = 'DATE' THEN 1082
		WHEN t = 'TIME' THEN 1083
		WHEN t IN ('TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS') THEN 1114
		WHEN t = 'TIMESTAMP WITH TIME ZONE' THEN 1184
		WHEN t = 'TIME WITH TIME ZONE' THEN 1266
		WHEN t = 'INTERVAL' THEN 1186
		WHEN t = 'UUID' THEN 2950
		WHEN t = 'JSON' THEN 114
		ELSE 25 END`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_attribute AS
		SELECT c.table_oid::BIGINT AS attrelid, c.column_name AS attname,
			pg_sluice.sluice_type_oid(c.data_type)::BIGINT AS atttypid, -1 AS attstattarget,
			t.typlen AS attlen, c.column_index::SMALLINT AS attnum, 0 AS attndims, -1 AS attcacheoff,
			CASE WHEN c.data_type LIKE 'DECIMAL%' THEN c.numeric_precision * 65536 + c.numeric_scale + 4 ELSE -1 END AS atttypmod,
			t.typbyval AS attbyval, t.typstorage AS attstorage, t.typalign AS attalign,
			NOT c.is_nullable AS attnotnull, c.column_default IS NOT NULL AS atthasdef, false AS atthasmissing,
			'' AS attidentity, '' AS attgenerated, false AS attisdropped, true AS attislocal, 0 AS attinhcount,
			t.typcollation AS attcollation, '' AS attcompression, NULL::VARCHAR[] AS attacl, NULL::VARCHAR[] AS attoptions,
			NULL::VARCHAR[] AS attfdwoptions, NULL::VARCHAR AS attmissingval
		FROM duckdb_columns() c
		LEFT JOIN pg_sluice.pg_type t ON t.oid = pg_sluice.sluice_type_oid(c.data_type)
		WHERE c.database_name IN ('warehouse', 'system') AND c.schema_name NOT IN ('pg_sluice', 'pg_sluice_info', 'sluice_catalog')
			AND pg_sluice.listed(c.schema_name, c.table_name)`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_attrdef AS
		SELECT (table_oid * 1000 + column_index)::BIGINT AS oid, table_oid::BIGINT AS adrelid,
			column_index::SMALLINT AS adnum, column_default AS adbin
		FROM duckdb_columns()
		WHERE column_default IS NOT NULL AND database_name = 'warehouse'`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_expr(expr, rel) AS expr::VARCHAR, (expr, rel, pretty) AS expr::VARCHAR`,

	// Relation name -> OID, for the ::regclass cast (see sql.TranslateCasts):
	// an OID stays itself, a name (optionally schema-qualified) is looked up.
	// Lookups by a name: the candidates come from an uncorrelated subquery
	// and are searched outside it, so that the argument (which may name a
	// column of the caller's query, such as oid) is never captured by the
	// subquery's own columns. lookup(entries, key) is the first value of
	// entries, a struct of the lists k and v, whose k is key.
	`CREATE OR REPLACE MACRO pg_sluice.lookup(entries, key) AS entries.v[list_position(entries.k, key)]`,
	// Relation name -> OID, for the ::regclass cast (see sql.TranslateSyntax):
	// an OID stays itself, a name (optionally schema-qualified) is looked up.
	// A name matching several relations is the one in public, then the
	// lowest OID. The subquery reads relation_keys, whose pgs_ columns no
	// argument names, so that an argument naming a column of the caller's
	// query is a correlation, never captured; a constant name is a filter
	// on the keys.
	`CREATE OR REPLACE MACRO pg_sluice.regclass(x) AS COALESCE(TRY_CAST(x AS BIGINT),
		(SELECT arg_min(pgs_k.pgs_oid, (pgs_k.pgs_nspname <> 'public', pgs_k.pgs_oid))
		 FROM pg_sluice.relation_keys pgs_k WHERE pgs_k.pgs_key = x::VARCHAR))`,
	`CREATE OR REPLACE MACRO pg_sluice.regtype(x) AS COALESCE(TRY_CAST(x AS BIGINT), pg_sluice.lookup(
		(SELECT {'k': list(typname), 'v': list(oid)} FROM pg_sluice.pg_type), x::VARCHAR))`,
	`CREATE OR REPLACE MACRO pg_sluice.regnamespace(x) AS COALESCE(TRY_CAST(x AS BIGINT), pg_sluice.lookup(
		(SELECT {'k': list(nspname), 'v': list(oid)} FROM pg_sluice.pg_namespace), x::VARCHAR))`,
	`CREATE OR REPLACE MACRO pg_sluice.regproc(x) AS COALESCE(TRY_CAST(x AS BIGINT), pg_sluice.lookup(
		(SELECT {'k': list(proname), 'v': list(oid)} FROM pg_sluice.pg_proc), x::VARCHAR))`,

	// Views' definitions (view_queries).
	`CREATE OR REPLACE MACRO pg_sluice.viewdef_of(id) AS pg_sluice.viewdef_text(pg_sluice.lookup(
			(SELECT {'k': list(oid), 'v': list(query)} FROM pg_sluice.view_queries), pg_sluice.regclass(id)))`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_viewdef(id) AS pg_sluice.viewdef_of(id),
		(id, pretty) AS pg_sluice.viewdef_of(id)`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_rewrite AS
		SELECT 0::BIGINT AS oid, NULL::VARCHAR AS rulename, 0::BIGINT AS ev_class, '1' AS ev_type, 'O' AS ev_enabled,
			true AS is_instead, NULL::VARCHAR AS ev_qual, NULL::VARCHAR AS ev_action
		WHERE false`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_ruledef(id) AS NULL::VARCHAR, (id, pretty) AS NULL::VARCHAR`,

	// Comments: DuckDB's COMMENT ON, on relations, columns and schemas.
	// The catalogs' OIDs (regclass('pg_class') and regclass('pg_namespace'))
	// are looked up once, in one scan, not per branch.
	`CREATE OR REPLACE VIEW pg_sluice.pg_description AS
		SELECT d.objoid, CASE WHEN d.nsp THEN k.nsp ELSE k.cls END AS classoid, d.objsubid, d.description
		FROM (SELECT table_oid::BIGINT AS objoid, false AS nsp, 0 AS objsubid, comment AS description
			FROM duckdb_tables() WHERE comment IS NOT NULL AND comment <> ''
			UNION ALL
			SELECT view_oid, false, 0, comment FROM duckdb_views() WHERE comment IS NOT NULL AND comment <> ''
			UNION ALL
			SELECT table_oid, false, column_index, comment FROM duckdb_columns() WHERE comment IS NOT NULL AND comment <> ''
			UNION ALL
			SELECT pg_sluice.nsp_oid(oid, schema_name), true, 0, comment FROM duckdb_schemas()
			WHERE comment IS NOT NULL AND comment <> '') d,
		(SELECT arg_min(pgs_oid, (pgs_nspname <> 'public', pgs_oid)) FILTER (WHERE pgs_key = 'pg_class') AS cls,
			arg_min(pgs_oid, (pgs_nspname <> 'public', pgs_oid)) FILTER (WHERE pgs_key = 'pg_namespace') AS nsp
		 FROM pg_sluice.relation_keys WHERE pgs_key IN ('pg_class', 'pg_namespace')) k`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_shdescription AS
		SELECT 0::BIGINT AS objoid, 0::BIGINT AS classoid, NULL::VARCHAR AS description WHERE false`,
	`CREATE OR REPLACE MACRO pg_sluice.obj_description(id) AS
		(SELECT min(description) FROM pg_sluice.pg_description WHERE objoid = id AND objsubid = 0),
		(id, cat) AS (SELECT min(description) FROM pg_sluice.pg_description WHERE objoid = id AND objsubid = 0)`,
	`CREATE OR REPLACE MACRO pg_sluice.col_description(id, n) AS
		(SELECT min(description) FROM pg_sluice.pg_description WHERE objoid = id AND objsubid = n)`,
	`CREATE OR REPLACE MACRO pg_sluice.shobj_description(id, cat) AS NULL::VARCHAR`,

	// Sluice keeps no indexes or constraints that PostgreSQL clients could
	// use; the relations exist, empty, with PostgreSQL's columns.
	`CREATE OR REPLACE VIEW pg_sluice.pg_index AS
		SELECT 0::BIGINT AS indexrelid, 0::BIGINT AS indrelid, 0::SMALLINT AS indnatts, 0::SMALLINT AS indnkeyatts,
			false AS indisunique, false AS indnullsnotdistinct, false AS indisprimary, false AS indisexclusion,
			false AS indimmediate, false AS indisclustered, false AS indisvalid, false AS indcheckxmin,
			false AS indisready, false AS indislive, false AS indisreplident, ''::VARCHAR AS indkey,
			''::VARCHAR AS indcollation, ''::VARCHAR AS indclass, ''::VARCHAR AS indoption,
			NULL::VARCHAR AS indexprs, NULL::VARCHAR AS indpred
		WHERE false`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_constraint AS
		SELECT 0::BIGINT AS oid, ''::VARCHAR AS conname, 0::BIGINT AS connamespace, ''::VARCHAR AS contype,
			false AS condeferrable, false AS condeferred, true AS convalidated, 0::BIGINT AS conrelid,
			0::BIGINT AS contypid, 0::BIGINT AS conindid, 0::BIGINT AS conparentid, 0::BIGINT AS confrelid,
			''::VARCHAR AS confupdtype, ''::VARCHAR AS confdeltype, ''::VARCHAR AS confmatchtype, true AS conislocal,
			0 AS coninhcount, false AS connoinherit, NULL::SMALLINT[] AS conkey, NULL::SMALLINT[] AS confkey,
			NULL::BIGINT[] AS conpfeqop, NULL::BIGINT[] AS conppeqop, NULL::BIGINT[] AS conffeqop,
			NULL::SMALLINT[] AS confdelsetcols, NULL::BIGINT[] AS conexclop, NULL::VARCHAR AS conbin
		WHERE false`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_indexdef(id) AS NULL::VARCHAR,
		(id, col, pretty) AS NULL::VARCHAR`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_partkeydef(id) AS NULL::VARCHAR`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_serial_sequence(tbl, col) AS NULL::VARCHAR`,

	// The one database, and the one role.
	`CREATE OR REPLACE VIEW pg_sluice.pg_database AS
		SELECT 16384::BIGINT AS oid, 'sluice' AS datname, 10::BIGINT AS datdba, 6 AS encoding,
			'c' AS datlocprovider, false AS datistemplate, true AS datallowconn, -1 AS datconnlimit,
			0::BIGINT AS datfrozenxid, 0::BIGINT AS datminmxid, 1663::BIGINT AS dattablespace,
			'C' AS datcollate, 'C' AS datctype, NULL::VARCHAR AS daticulocale,
			NULL::VARCHAR AS datcollversion,
			(SELECT a.acl FROM sluice_catalog.acl a WHERE a.kind = 'database' AND a.name = 'sluice') AS datacl`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_auth_members AS
		SELECT row_number() OVER (ORDER BY m.role, m.member)::BIGINT AS oid, pg_sluice.role_oid(m.role)::BIGINT AS roleid,
			pg_sluice.role_oid(m.member)::BIGINT AS member, coalesce(pg_sluice.role_oid(m.grantor), 10)::BIGINT AS grantor,
			m.admin_option
		FROM sluice_catalog.role_members m`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_user AS
		SELECT rolname AS usename, oid AS usesysid, rolcreatedb AS usecreatedb, rolsuper AS usesuper,
			rolreplication AS userepl, rolbypassrls AS usebypassrls, rolpassword AS passwd,
			rolvaliduntil AS valuntil, rolconfig AS useconfig
		FROM pg_sluice.pg_roles WHERE rolcanlogin`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_encoding_to_char(e) AS CASE e WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END`,

	// Settings: current_setting() and pg_settings (settingsDDL).
	`CREATE OR REPLACE MACRO pg_sluice.version() AS 'PostgreSQL 15.0 (Sluice, DuckDB ' || system.main.version() || ')'`,

	`CREATE OR REPLACE VIEW pg_sluice.pg_tables AS
		SELECT n.nspname AS schemaname, c.relname AS tablename, pg_sluice.pg_get_userbyid(c.relowner) AS tableowner, NULL::VARCHAR AS tablespace,
			false AS hasindexes, false AS hasrules, false AS hastriggers, false AS rowsecurity
		FROM pg_sluice.pg_class c JOIN pg_sluice.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p')`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_views AS
		SELECT n.nspname AS schemaname, c.relname AS viewname, pg_sluice.pg_get_userbyid(c.relowner) AS viewowner,
			pg_sluice.viewdef_text(coalesce(q.query, v.sql)) AS definition
		FROM pg_sluice.pg_class c JOIN pg_sluice.pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_sluice.view_queries q ON q.oid = c.oid
		LEFT JOIN duckdb_views() v ON v.view_oid = c.oid
		WHERE c.relkind = 'v'`,

	// Visibility: everything in a schema on the search path is visible
	// (privileges: privileges.go).
	`CREATE OR REPLACE MACRO pg_sluice.pg_table_is_visible(id) AS list_contains(
		(SELECT list(pgs_r.oid) FROM pg_sluice.relations pgs_r WHERE pgs_r.nspname IN ('public', 'pg_catalog')), id::BIGINT)`,
	`CREATE OR REPLACE MACRO pg_sluice.current_schemas(implicit) AS
		CASE WHEN implicit THEN ['pg_catalog', 'public'] ELSE ['public'] END`,

	// Sizes: materialized relations know their files' bytes; a view has
	// none; DuckDB does not tell a table's size (NULL).
	`CREATE OR REPLACE VIEW pg_sluice.relation_sizes AS
		SELECT c.oid, CASE WHEN m.bytes IS NOT NULL THEN m.bytes WHEN c.relkind = 'v' THEN 0 END::BIGINT AS bytes
		FROM pg_sluice.pg_class c JOIN pg_sluice.pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN (SELECT schema, name, bytes FROM sluice_catalog.materialized_views
			UNION ALL SELECT schema, name, bytes FROM sluice_catalog.pipelines) m ON m.schema = n.nspname AND m.name = c.relname`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_table_size(id) AS
		pg_sluice.lookup((SELECT {'k': list(oid), 'v': list(bytes)} FROM pg_sluice.relation_sizes), pg_sluice.regclass(id))`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_relation_size(id) AS pg_sluice.pg_table_size(id),
		(id, fork) AS CASE WHEN fork = 'main' THEN pg_sluice.pg_table_size(id) ELSE 0 END`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_total_relation_size(id) AS pg_sluice.pg_table_size(id)`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_indexes_size(id) AS 0::BIGINT`,
	// The database: DuckDB's file and the published files.
	`CREATE OR REPLACE MACRO pg_sluice.pg_database_size(db) AS
		(SELECT sum(used_blocks * block_size)::BIGINT FROM pragma_database_size() WHERE database_name = 'warehouse')
		+ (SELECT coalesce(sum(bytes), 0)::BIGINT FROM pg_sluice.relation_sizes)`,
	// PostgreSQL's rendering: bytes below 10 kB, then kB, MB, GB, TB and
	// PB, each rounded half away from zero.
	`CREATE OR REPLACE MACRO pg_sluice.half_rounded(x) AS (x + CASE WHEN x < 0 THEN -1 ELSE 1 END) // 2`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_size_pretty(sz) AS CASE
		WHEN sz IS NULL THEN NULL
		WHEN abs(sz) < 10240 THEN sz::BIGINT || ' bytes'
		WHEN abs(sz::BIGINT >> 9) < 20479 THEN pg_sluice.half_rounded(sz::BIGINT >> 9) || ' kB'
		WHEN abs(sz::BIGINT >> 19) < 20479 THEN pg_sluice.half_rounded(sz::BIGINT >> 19) || ' MB'
		WHEN abs(sz::BIGINT >> 29) < 20479 THEN pg_sluice.half_rounded(sz::BIGINT >> 29) || ' GB'
		WHEN abs(sz::BIGINT >> 39) < 20479 THEN pg_sluice.half_rounded(sz::BIGINT >> 39) || ' TB'
		ELSE pg_sluice.half_rounded(sz::BIGINT >> 49) || ' PB' END`,

	// Tables and materialized relations (relkind 'r' and 'm' in pg_class).
	`CREATE OR REPLACE VIEW pg_sluice.pg_stat_user_tables AS
		SELECT r.oid AS relid, r.nspname AS schemaname, r.relname, NULL::BIGINT AS n_live_tup, NULL::BIGINT AS n_dead_tup
		FROM pg_sluice.relations r
		LEFT JOIN (SELECT schema, name FROM sluice_catalog.materialized_views UNION SELECT schema, name FROM sluice_catalog.pipelines) m
			ON m.schema = r.nspname AND m.name = r.relname
		WHERE r.nspname NOT IN ('pg_catalog', 'information_schema') AND (r.relkind = 'r' OR m.name IS NOT NULL)`,
	// One-dimensional arrays: DuckDB lists are 1-based.
	`CREATE OR REPLACE MACRO pg_sluice.array_remove(a, x) AS list_filter(a, pgs_y -> pgs_y IS DISTINCT FROM x)`,
	`CREATE OR REPLACE MACRO pg_sluice.array_lower(a, d) AS CASE WHEN d = 1 AND len(a) > 0 THEN 1 END`,
	`CREATE OR REPLACE MACRO pg_sluice.array_upper(a, d) AS CASE WHEN d = 1 AND len(a) > 0 THEN len(a) END`,

	// Names and types.
	`CREATE OR REPLACE MACRO pg_sluice.quote_ident(s) AS
		CASE WHEN regexp_full_match(s::VARCHAR, '[a-z_][a-z0-9_$]*') THEN s::VARCHAR
		ELSE '"' || replace(s::VARCHAR, '"', '""') || '"' END`,
	`CREATE OR REPLACE MACRO pg_sluice.parse_ident(s) AS
		list_transform(string_split(s::VARCHAR, '.'), x -> CASE WHEN x LIKE '"%"' THEN replace(x[2:-2], '""', '"') ELSE lower(x) END)`,
	`CREATE OR REPLACE MACRO pg_sluice.format_type(id, mod) AS CASE
		WHEN id IS NULL THEN NULL
		WHEN id = 1700 AND mod > 4 THEN 'numeric(' || ((mod - 4) // 65536) || ',' || ((mod - 4) % 65536) || ')'
		WHEN id = 1043 AND mod > 4 THEN 'character varying(' || (mod - 4) || ')'
		ELSE ` + formatTypeNames + ` END`,
	// Functions: pg_proc lists only the types' receive functions, each of
	// one internal argument.
	`CREATE OR REPLACE MACRO pg_sluice.pg_function_is_visible(id) AS true`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_function_result(id) AS
		pg_sluice.format_type(pg_sluice.lookup((SELECT {'k': list(oid), 'v': list(prorettype)} FROM pg_sluice.pg_proc), id), NULL)`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_function_arguments(id) AS 'internal'`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_function_identity_arguments(id) AS 'internal'`,
}, settingsDDL()...)
