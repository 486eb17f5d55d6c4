package gateway

// The pg_catalog relations and functions that psql, drivers and BI tools
// query on connect and while browsing, built over DuckDB's own catalog
// (duckdb_columns(), duckdb_views(), duckdb_settings(), ...) and Sluice's
// system tables. They live in the overlay schema (see overlay.go).
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
}

// pgTypes are the types in pg_type: (oid, typname, typlen, typcategory,
// array type oid, typtype). Each gets an array type too.
const pgTypes = `(VALUES
	(16, 'bool', 1, 'B', 1000, 'b'), (17, 'bytea', -1, 'U', 1001, 'b'),
	(18, 'char', 1, 'S', 1002, 'b'), (19, 'name', 64, 'S', 1003, 'b'),
	(20, 'int8', 8, 'N', 1016, 'b'), (21, 'int2', 2, 'N', 1005, 'b'),
	(23, 'int4', 4, 'N', 1007, 'b'), (24, 'regproc', 4, 'N', 1008, 'b'),
	(25, 'text', -1, 'S', 1009, 'b'), (26, 'oid', 4, 'N', 1028, 'b'),
	(114, 'json', -1, 'U', 199, 'b'), (700, 'float4', 4, 'N', 1021, 'b'),
	(701, 'float8', 8, 'N', 1022, 'b'), (705, 'unknown', -2, 'X', 0, 'p'),
	(1043, 'varchar', -1, 'S', 1015, 'b'), (1082, 'date', 4, 'D', 1182, 'b'),
	(1083, 'time', 8, 'D', 1183, 'b'), (1114, 'timestamp', 8, 'D', 1115, 'b'),
	(1184, 'timestamptz', 8, 'D', 1185, 'b'), (1186, 'interval', 16, 'T', 1187, 'b'),
	(1266, 'timetz', 12, 'D', 1270, 'b'), (1700, 'numeric', -1, 'N', 1231, 'b'),
	(2205, 'regclass', 4, 'N', 2210, 'b'), (2206, 'regtype', 4, 'N', 2211, 'b'),
	(2950, 'uuid', 16, 'U', 2951, 'b'), (2249, 'record', -1, 'P', 2287, 'p'),
	(2278, 'void', 4, 'P', 0, 'p')
) t(oid, typname, typlen, typcategory, typarray, typtype)`

// pgCatalogDDL creates the relations and functions, in dependency order.
var pgCatalogDDL = []string{
	// Namespaces: DuckDB's schema OIDs, but public and pg_catalog keep the
	// OIDs PostgreSQL gives them (clients hard-code 2200 and 11).
	`CREATE OR REPLACE MACRO pg_sluice.nsp_oid(raw, name) AS
		CASE name WHEN 'public' THEN 2200 WHEN 'pg_catalog' THEN 11 ELSE raw END`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_namespace AS
		SELECT pg_sluice.nsp_oid(oid, schema_name) AS oid, schema_name AS nspname, 10 AS nspowner, NULL::VARCHAR AS nspacl,
			0::BIGINT AS xmin
		FROM duckdb_schemas()
		WHERE (database_name = 'warehouse' AND schema_name <> 'pg_sluice')
		   OR (database_name = 'system' AND schema_name IN ('pg_catalog', 'information_schema'))`,
	// Materialized views and pipelines are DuckDB views over their files;
	// both are materialized relations, reported as relkind 'm' as PostgreSQL
	// does for materialized views (so psql's \dm lists them). The overlay
	// schema is hidden.
	`CREATE OR REPLACE VIEW pg_sluice.pg_class AS
		SELECT c.* REPLACE (
				CASE WHEN m.name IS NOT NULL THEN 'm' ELSE c.relkind END AS relkind,
				pg_sluice.nsp_oid(c.relnamespace, s.schema_name) AS relnamespace,
				10 AS relowner),
			false AS relforcerowsecurity
		FROM system.pg_catalog.pg_class c
		LEFT JOIN (SELECT oid, schema_name FROM duckdb_schemas() WHERE database_name IN ('warehouse', 'system')) s ON s.oid = c.relnamespace
		LEFT JOIN (SELECT schema, name FROM sluice.materialized_views UNION ALL SELECT schema, name FROM sluice.pipelines) m
			ON m.schema = s.schema_name AND m.name = c.relname
		WHERE s.schema_name IS DISTINCT FROM 'pg_sluice'`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_matviews AS
		SELECT m.schema AS schemaname, m.name AS matviewname, 'sluice' AS matviewowner,
			NULL::VARCHAR AS tablespace, false AS hasindexes, m.version IS NOT NULL AS ispopulated,
			m.query AS definition
		FROM sluice.materialized_views m
		UNION ALL
		SELECT p.schema, p.name, 'sluice', NULL::VARCHAR, false, p.last_run IS NOT NULL, p.query
		FROM sluice.pipelines p`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_userbyid(id) AS 'sluice'`,

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
			CASE WHEN typlen > 0 THEN 'p' ELSE 'x' END AS typstorage, false AS typnotnull, 0::BIGINT AS typbasetype,
			-1 AS typtypmod, 0 AS typndims, CASE WHEN typcategory = 'S' THEN 100 ELSE 0 END::BIGINT AS typcollation,
			NULL::VARCHAR AS typdefaultbin, NULL::VARCHAR AS typdefault, NULL::VARCHAR AS typacl
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
			'2281' AS proargtypes, NULL::VARCHAR AS proallargtypes, NULL::VARCHAR AS proargmodes, NULL::VARCHAR AS proargnames,
			NULL::VARCHAR AS proargdefaults, NULL::VARCHAR AS protrftypes, proname AS prosrc, NULL::VARCHAR AS probin,
			NULL::VARCHAR AS prosqlbody, NULL::VARCHAR AS proconfig, NULL::VARCHAR AS proacl
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
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_statisticsobjdef_columns(oid) AS NULL::VARCHAR`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_relation_is_publishable(oid) AS false`,
	// PostgreSQL's array_to_string, called qualified (pg_catalog.array_to_string).
	`CREATE OR REPLACE MACRO pg_sluice.array_to_string(a, sep) AS
		coalesce(list_aggr(list_transform(a, x -> CAST(x AS VARCHAR)), 'string_agg', sep), '')`,
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
			t.typcollation AS attcollation, '' AS attcompression, NULL::VARCHAR AS attacl, NULL::VARCHAR AS attoptions,
			NULL::VARCHAR AS attfdwoptions, NULL::VARCHAR AS attmissingval
		FROM duckdb_columns() c
		LEFT JOIN pg_sluice.pg_type t ON t.oid = pg_sluice.sluice_type_oid(c.data_type)
		WHERE c.database_name IN ('warehouse', 'system') AND c.schema_name <> 'pg_sluice'`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_attrdef AS
		SELECT (table_oid * 1000 + column_index)::BIGINT AS oid, table_oid::BIGINT AS adrelid,
			column_index::SMALLINT AS adnum, column_default AS adbin
		FROM duckdb_columns()
		WHERE column_default IS NOT NULL AND database_name = 'warehouse'`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_expr(expr, rel) AS expr::VARCHAR, (expr, rel, pretty) AS expr::VARCHAR`,

	// Relation name -> OID, for the ::regclass cast (see sql.TranslateCasts):
	// an OID stays itself, a name (optionally schema-qualified) is looked up.
	`CREATE OR REPLACE MACRO pg_sluice.regclass(x) AS COALESCE(TRY_CAST(x AS BIGINT),
		(SELECT min(c.oid) FROM pg_sluice.pg_class c JOIN pg_sluice.pg_namespace n ON n.oid = c.relnamespace
		 WHERE c.relname = x::VARCHAR OR (n.nspname || '.' || c.relname) = x::VARCHAR
		    OR ('"' || n.nspname || '"."' || c.relname || '"') = x::VARCHAR))`,
	`CREATE OR REPLACE MACRO pg_sluice.regtype(x) AS COALESCE(TRY_CAST(x AS BIGINT),
		(SELECT min(oid) FROM pg_sluice.pg_type WHERE typname = x::VARCHAR))`,
	`CREATE OR REPLACE MACRO pg_sluice.regnamespace(x) AS COALESCE(TRY_CAST(x AS BIGINT),
		(SELECT min(oid) FROM pg_sluice.pg_namespace WHERE nspname = x::VARCHAR))`,
	`CREATE OR REPLACE MACRO pg_sluice.regproc(x) AS COALESCE(TRY_CAST(x AS BIGINT),
		(SELECT min(oid) FROM pg_sluice.pg_proc WHERE proname = x::VARCHAR))`,

	// Comments: DuckDB's COMMENT ON, on relations, columns and schemas.
	`CREATE OR REPLACE VIEW pg_sluice.pg_description AS
		SELECT table_oid::BIGINT AS objoid, pg_sluice.regclass('pg_class') AS classoid, 0 AS objsubid, comment AS description
		FROM duckdb_tables() WHERE comment IS NOT NULL AND comment <> ''
		UNION ALL
		SELECT view_oid, pg_sluice.regclass('pg_class'), 0, comment FROM duckdb_views() WHERE comment IS NOT NULL AND comment <> ''
		UNION ALL
		SELECT table_oid, pg_sluice.regclass('pg_class'), column_index, comment FROM duckdb_columns() WHERE comment IS NOT NULL AND comment <> ''
		UNION ALL
		SELECT pg_sluice.nsp_oid(oid, schema_name), pg_sluice.regclass('pg_namespace'), 0, comment FROM duckdb_schemas()
		WHERE comment IS NOT NULL AND comment <> ''`,
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
	`CREATE OR REPLACE MACRO pg_sluice.pg_get_viewdef(id) AS
		(SELECT min(sql) FROM duckdb_views() WHERE view_oid = pg_sluice.regclass(id)),
		(id, pretty) AS (SELECT min(sql) FROM duckdb_views() WHERE view_oid = pg_sluice.regclass(id))`,

	// The one database, and the one role.
	`CREATE OR REPLACE VIEW pg_sluice.pg_database AS
		SELECT 16384::BIGINT AS oid, 'sluice' AS datname, 10::BIGINT AS datdba, 6 AS encoding,
			'c' AS datlocprovider, false AS datistemplate, true AS datallowconn, -1 AS datconnlimit,
			0::BIGINT AS datfrozenxid, 0::BIGINT AS datminmxid, 1663::BIGINT AS dattablespace,
			'C' AS datcollate, 'C' AS datctype, NULL::VARCHAR AS daticulocale,
			NULL::VARCHAR AS datcollversion, NULL::VARCHAR[] AS datacl`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_roles AS
		SELECT 'sluice' AS rolname, true AS rolsuper, true AS rolinherit, true AS rolcreaterole,
			true AS rolcreatedb, true AS rolcanlogin, false AS rolreplication, -1 AS rolconnlimit,
			'********' AS rolpassword, NULL::TIMESTAMPTZ AS rolvaliduntil, false AS rolbypassrls,
			NULL::VARCHAR[] AS rolconfig, 10::BIGINT AS oid`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_user AS
		SELECT 'sluice' AS usename, 10::BIGINT AS usesysid, true AS usecreatedb, true AS usesuper,
			false AS userepl, false AS usebypassrls, '********' AS passwd, NULL::TIMESTAMPTZ AS valuntil,
			NULL::VARCHAR[] AS useconfig`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_encoding_to_char(e) AS CASE e WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END`,

	// Settings: PostgreSQL's reported parameters, then DuckDB's own.
	`CREATE OR REPLACE VIEW pg_sluice.pg_settings AS
		SELECT name, setting, NULL::VARCHAR AS unit, 'Preset Options' AS category, name AS short_desc,
			NULL::VARCHAR AS extra_desc, 'internal' AS context, 'string' AS vartype, 'default' AS source,
			NULL::VARCHAR AS min_val, NULL::VARCHAR AS max_val, NULL::VARCHAR[] AS enumvals,
			setting AS boot_val, setting AS reset_val, NULL::VARCHAR AS sourcefile, NULL::INTEGER AS sourceline,
			false AS pending_restart
		FROM (VALUES ('server_version', '15.0'), ('server_version_num', '150000'),
			('server_encoding', 'UTF8'), ('client_encoding', 'UTF8'), ('DateStyle', 'ISO, MDY'),
			('integer_datetimes', 'on'), ('standard_conforming_strings', 'on'),
			('transaction_isolation', 'serializable'), ('default_transaction_isolation', 'serializable'),
			('max_identifier_length', '63'), ('lc_collate', 'C'), ('lc_ctype', 'C'),
			('is_superuser', 'on'), ('block_size', '8192')) v(name, setting)
		UNION ALL
		SELECT name, value, NULL, 'DuckDB', description, NULL, 'user', lower(input_type), 'default',
			NULL, NULL, NULL, value, value, NULL, NULL, false
		FROM duckdb_settings()`,
	`CREATE OR REPLACE MACRO pg_sluice.current_setting(n) AS
		(SELECT min(setting) FROM pg_sluice.pg_settings WHERE lower(name) = lower(n))`,
	`CREATE OR REPLACE MACRO pg_sluice.version() AS 'PostgreSQL 15.0 (Sluice, DuckDB ' || system.main.version() || ')'`,

	`CREATE OR REPLACE VIEW pg_sluice.pg_tables AS
		SELECT n.nspname AS schemaname, c.relname AS tablename, 'sluice' AS tableowner, NULL::VARCHAR AS tablespace,
			false AS hasindexes, false AS hasrules, false AS hastriggers, false AS rowsecurity
		FROM pg_sluice.pg_class c JOIN pg_sluice.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p')`,
	`CREATE OR REPLACE VIEW pg_sluice.pg_views AS
		SELECT n.nspname AS schemaname, c.relname AS viewname, 'sluice' AS viewowner, v.sql AS definition
		FROM pg_sluice.pg_class c JOIN pg_sluice.pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN duckdb_views() v ON v.view_oid = c.oid
		WHERE c.relkind = 'v'`,

	// Visibility and privileges: everything in a schema on the search path
	// is visible; the one role holds every privilege.
	`CREATE OR REPLACE MACRO pg_sluice.pg_table_is_visible(id) AS
		(SELECT count(*) > 0 FROM pg_sluice.pg_class c JOIN pg_sluice.pg_namespace n ON n.oid = c.relnamespace
		 WHERE c.oid = id AND n.nspname IN ('public', 'pg_catalog'))`,
	`CREATE OR REPLACE MACRO pg_sluice.current_schemas(implicit) AS
		CASE WHEN implicit THEN ['pg_catalog', 'public'] ELSE ['public'] END`,
	`CREATE OR REPLACE MACRO pg_sluice.has_table_privilege(a, b) AS true, (a, b, c) AS true`,
	`CREATE OR REPLACE MACRO pg_sluice.has_any_column_privilege(a, b) AS true, (a, b, c) AS true`,
	`CREATE OR REPLACE MACRO pg_sluice.has_column_privilege(a, b, c) AS true, (a, b, c, d) AS true`,
	`CREATE OR REPLACE MACRO pg_sluice.has_schema_privilege(a, b) AS true, (a, b, c) AS true`,
	`CREATE OR REPLACE MACRO pg_sluice.has_database_privilege(a, b) AS true, (a, b, c) AS true`,
	`CREATE OR REPLACE MACRO pg_sluice.has_function_privilege(a, b) AS true, (a, b, c) AS true`,
	`CREATE OR REPLACE MACRO pg_sluice.has_sequence_privilege(a, b) AS true, (a, b, c) AS true`,

	`CREATE OR REPLACE VIEW pg_sluice.pg_stat_user_tables AS
		SELECT c.oid AS relid, n.nspname AS schemaname, c.relname, NULL::BIGINT AS n_live_tup, NULL::BIGINT AS n_dead_tup
		FROM pg_sluice.pg_class c JOIN pg_sluice.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
	// One-dimensional arrays: DuckDB lists are 1-based.
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
		ELSE (SELECT min(CASE typname
			WHEN 'int8' THEN 'bigint' WHEN 'int4' THEN 'integer' WHEN 'int2' THEN 'smallint'
			WHEN 'float8' THEN 'double precision' WHEN 'float4' THEN 'real' WHEN 'bool' THEN 'boolean'
			WHEN 'varchar' THEN 'character varying' WHEN 'timestamp' THEN 'timestamp without time zone'
			WHEN 'timestamptz' THEN 'timestamp with time zone' WHEN 'time' THEN 'time without time zone'
			WHEN 'timetz' THEN 'time with time zone' WHEN 'char' THEN '"char"'
			ELSE CASE WHEN typname LIKE '\_%' ESCAPE '\' THEN typname[2:] || '[]' ELSE typname END END)
			FROM pg_sluice.pg_type WHERE oid = id) END`,
}
