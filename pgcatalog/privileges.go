package pgcatalog

// Privileges as PostgreSQL clients ask for them: has_*_privilege(),
// pg_has_role(), and information_schema's relations, which show each role
// only what it may see (PostgreSQL's information_schema does too; here
// pg_class does as well, see relations.go's pg_sluice.listed).
//
// The session's own privileges are in DuckDB variables of its connection,
// set from package access's snapshot (catalog/system.go lists them, with
// sluice_schemas, sluice_database and sluice_roles here); another role's
// are asked of the snapshot through sluice_has_privilege(role, kind, key,
// privileges), a Go function the gateway registers.

// PrivilegeFunction is the Go function the overlays ask for another role's
// privileges: (role, kind, key, privileges) -> boolean, kind being
// "relation" (key 'schema.name'), "schema", "database" or "role" (key a
// role, privileges MEMBER or USAGE).
const PrivilegeFunction = "sluice_has_privilege"

var privilegesDDL = []string{
	// PostgreSQL's privilege keywords as aclitem letters; "SELECT WITH
	// GRANT OPTION" is SELECT.
	`CREATE OR REPLACE MACRO pg_sluice.priv_letter(p) AS CASE
		upper(trim(regexp_replace(p::VARCHAR, '\s+WITH\s+(GRANT|ADMIN)\s+OPTION', '', 'gi')))
		WHEN 'SELECT' THEN 'r' WHEN 'INSERT' THEN 'a' WHEN 'UPDATE' THEN 'w' WHEN 'DELETE' THEN 'd'
		WHEN 'TRUNCATE' THEN 'D' WHEN 'REFERENCES' THEN 'x' WHEN 'TRIGGER' THEN 't' WHEN 'REFRESH' THEN 'm'
		WHEN 'MAINTAIN' THEN 'm' WHEN 'USAGE' THEN 'U' WHEN 'CREATE' THEN 'C' WHEN 'CONNECT' THEN 'c'
		WHEN 'TEMPORARY' THEN 'T' WHEN 'TEMP' THEN 'T' WHEN 'EXECUTE' THEN 'X' END`,
	// Whether letters hold any of the comma-separated privileges (as
	// PostgreSQL's has_*_privilege answers a list).
	// (have stays outside the lambda: it may hold a subquery, which DuckDB
	// refuses inside one.)
	`CREATE OR REPLACE MACRO pg_sluice.holds(have, privs) AS coalesce(list_has_any(string_split(coalesce(have, ''), ''),
		list_transform(string_split(privs::VARCHAR, ','), pgs_p -> pg_sluice.priv_letter(pgs_p))), false)`,
	// The session's role, and whether u (a name or an OID) is it.
	`CREATE OR REPLACE MACRO pg_sluice.me(u) AS
		coalesce(u::VARCHAR = getvariable('sluice_user') OR TRY_CAST(u AS BIGINT) = pg_sluice.role_oid(getvariable('sluice_user')), false)`,
	`CREATE OR REPLACE MACRO pg_sluice.role_name(u) AS coalesce(pg_sluice.lookup(
		(SELECT {'k': list(oid), 'v': list(rolname)} FROM pg_sluice.pg_roles), TRY_CAST(u AS BIGINT)), u::VARCHAR)`,
	`CREATE OR REPLACE MACRO pg_sluice.super() AS coalesce(getvariable('sluice_superuser'), false)`,
	// 'schema.name' of a relation given by OID or name (NULL when the
	// session may not see it).
	`CREATE OR REPLACE MACRO pg_sluice.rel_key(rel) AS pg_sluice.lookup(
		(SELECT {'k': list(oid), 'v': list(nspname || '.' || relname)} FROM pg_sluice.relations), pg_sluice.regclass(rel))`,
	`CREATE OR REPLACE MACRO pg_sluice.nsp_name(x) AS coalesce(pg_sluice.lookup(
		(SELECT {'k': list(oid), 'v': list(nspname)} FROM pg_sluice.pg_namespace), TRY_CAST(x AS BIGINT)), x::VARCHAR)`,
	`CREATE OR REPLACE MACRO pg_sluice.my_rel_privilege(rel, privs) AS
		pg_sluice.super() OR pg_sluice.holds(getvariable('sluice_privileges')[pg_sluice.rel_key(rel)], privs)`,
	`CREATE OR REPLACE MACRO pg_sluice.rel_privilege(u, rel, privs) AS CASE WHEN pg_sluice.me(u)
		THEN pg_sluice.my_rel_privilege(rel, privs)
		ELSE coalesce(` + PrivilegeFunction + `(pg_sluice.role_name(u), 'relation', pg_sluice.rel_key(rel), privs::VARCHAR), false) END`,
	`CREATE OR REPLACE MACRO pg_sluice.has_table_privilege(rel, privs) AS pg_sluice.my_rel_privilege(rel, privs),
		(u, rel, privs) AS pg_sluice.rel_privilege(u, rel, privs)`,
	`CREATE OR REPLACE MACRO pg_sluice.has_sequence_privilege(rel, privs) AS pg_sluice.my_rel_privilege(rel, privs),
		(u, rel, privs) AS pg_sluice.rel_privilege(u, rel, privs)`,
	// Sluice has no column privileges: a column's are its relation's.
	`CREATE OR REPLACE MACRO pg_sluice.has_any_column_privilege(rel, privs) AS pg_sluice.my_rel_privilege(rel, privs),
		(u, rel, privs) AS pg_sluice.rel_privilege(u, rel, privs)`,
	`CREATE OR REPLACE MACRO pg_sluice.has_column_privilege(rel, col, privs) AS pg_sluice.my_rel_privilege(rel, privs),
		(u, rel, col, privs) AS pg_sluice.rel_privilege(u, rel, privs)`,
	`CREATE OR REPLACE MACRO pg_sluice.has_schema_privilege(nsp, privs) AS
		pg_sluice.super() OR pg_sluice.holds(getvariable('sluice_schemas')[pg_sluice.nsp_name(nsp)], privs),
		(u, nsp, privs) AS CASE WHEN pg_sluice.me(u)
			THEN pg_sluice.super() OR pg_sluice.holds(getvariable('sluice_schemas')[pg_sluice.nsp_name(nsp)], privs)
			ELSE coalesce(` + PrivilegeFunction + `(pg_sluice.role_name(u), 'schema', pg_sluice.nsp_name(nsp), privs::VARCHAR), false) END`,
	`CREATE OR REPLACE MACRO pg_sluice.has_database_privilege(db, privs) AS
		pg_sluice.super() OR pg_sluice.holds(getvariable('sluice_database'), privs),
		(u, db, privs) AS CASE WHEN pg_sluice.me(u)
			THEN pg_sluice.super() OR pg_sluice.holds(getvariable('sluice_database'), privs)
			ELSE coalesce(` + PrivilegeFunction + `(pg_sluice.role_name(u), 'database', 'sluice', privs::VARCHAR), false) END`,
	// EXECUTE is not a privilege in Sluice: every role may call every
	// function (a macro's body is checked as the caller's query).
	`CREATE OR REPLACE MACRO pg_sluice.has_function_privilege(f, privs) AS true, (u, f, privs) AS true`,
	`CREATE OR REPLACE MACRO pg_sluice.pg_has_role(r, privs) AS
		pg_sluice.super() OR list_contains(coalesce(getvariable('sluice_roles'), []::VARCHAR[]), pg_sluice.role_name(r)),
		(u, r, privs) AS CASE WHEN pg_sluice.me(u)
			THEN pg_sluice.super() OR list_contains(coalesce(getvariable('sluice_roles'), []::VARCHAR[]), pg_sluice.role_name(r))
			ELSE coalesce(` + PrivilegeFunction + `(pg_sluice.role_name(u), 'role', pg_sluice.role_name(r), privs::VARCHAR), false) END`,

	// Each relation's ACL as PostgreSQL prints it, its owner's default
	// (every privilege of the relation's kind) when none was granted.
	`CREATE OR REPLACE VIEW pg_sluice.relation_acl AS
		SELECT a.schema, a.name, a.owner,
			coalesce(a.acl, [a.owner || '=' || CASE
				WHEN EXISTS (SELECT 1 FROM sluice_catalog.materialized_views m WHERE m.schema = a.schema AND m.name = a.name)
					OR EXISTS (SELECT 1 FROM sluice_catalog.pipelines p WHERE p.schema = a.schema AND p.name = a.name) THEN 'rm'
				WHEN EXISTS (SELECT 1 FROM duckdb_tables() t WHERE t.database_name = 'warehouse' AND t.schema_name = a.schema AND t.table_name = a.name) THEN 'arwdD'
				WHEN EXISTS (SELECT 1 FROM duckdb_sequences() q WHERE q.database_name = 'warehouse' AND q.schema_name = a.schema AND q.sequence_name = a.name) THEN 'rwU'
				ELSE 'r' END || '/' || a.owner]) AS acl
		FROM sluice_catalog.acl a
		WHERE a.kind = 'relation' AND pg_sluice.listed(a.schema, a.name)`,
	`CREATE OR REPLACE VIEW pg_sluice.relation_grants AS
		WITH items AS (SELECT schema, name, unnest(acl) AS item FROM pg_sluice.relation_acl),
		parsed AS (SELECT schema, name,
			regexp_extract(item, '^(.*)=([A-Za-z*]*)/(.*)$', 1) AS grantee,
			regexp_extract(item, '^(.*)=([A-Za-z*]*)/(.*)$', 2) AS privs,
			regexp_extract(item, '^(.*)=([A-Za-z*]*)/(.*)$', 3) AS grantor FROM items)
		SELECT trim(grantor, '"') AS grantor, CASE WHEN grantee = '' THEN 'PUBLIC' ELSE trim(grantee, '"') END AS grantee,
			'sluice' AS table_catalog, schema AS table_schema, name AS table_name,
			CASE l WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE'
				WHEN 'D' THEN 'TRUNCATE' WHEN 'm' THEN 'REFRESH' WHEN 'U' THEN 'USAGE' ELSE l END AS privilege_type,
			CASE WHEN contains(privs, l || '*') THEN 'YES' ELSE 'NO' END AS is_grantable,
			CASE l WHEN 'r' THEN 'YES' ELSE 'NO' END AS with_hierarchy
		FROM parsed, (SELECT unnest(string_split(regexp_replace(privs, '\*', '', 'g'), '')) AS l)`,
}

// informationSchema are the information_schema relations that list
// objects, each showing a role what it may see; Resolve points
// information_schema.<name> at them (schema pg_sluice_info). Those listing
// relations are DuckDB's, filtered; the privilege ones are Sluice's.
var informationSchema = map[string]string{
	"tables":                  `SELECT * FROM system.information_schema.tables WHERE pg_sluice.listed(table_schema, table_name) AND table_schema NOT IN ('pg_sluice', 'pg_sluice_info', 'sluice_catalog')`,
	"columns":                 `SELECT * FROM system.information_schema.columns WHERE pg_sluice.listed(table_schema, table_name) AND table_schema NOT IN ('pg_sluice', 'pg_sluice_info', 'sluice_catalog')`,
	"views":                   `SELECT * FROM system.information_schema.views WHERE pg_sluice.listed(table_schema, table_name) AND table_schema NOT IN ('pg_sluice', 'pg_sluice_info', 'sluice_catalog')`,
	"table_constraints":       `SELECT * FROM system.information_schema.table_constraints WHERE pg_sluice.listed(table_schema, table_name)`,
	"key_column_usage":        `SELECT * FROM system.information_schema.key_column_usage WHERE pg_sluice.listed(table_schema, table_name)`,
	"constraint_column_usage": `SELECT * FROM system.information_schema.constraint_column_usage WHERE pg_sluice.listed(table_schema, table_name)`,
	"constraint_table_usage":  `SELECT * FROM system.information_schema.constraint_table_usage WHERE pg_sluice.listed(table_schema, table_name)`,
	"schemata":                `SELECT * FROM system.information_schema.schemata WHERE schema_name NOT IN ('pg_sluice', 'pg_sluice_info', 'sluice_catalog')`,
	"table_privileges":        `SELECT * FROM pg_sluice.relation_grants`,
	"role_table_grants": `SELECT * FROM pg_sluice.relation_grants WHERE pg_sluice.super()
		OR list_contains(coalesce(getvariable('sluice_roles'), []::VARCHAR[]), grantee) OR list_contains(coalesce(getvariable('sluice_roles'), []::VARCHAR[]), grantor)`,
	"enabled_roles": `SELECT unnest(coalesce(getvariable('sluice_roles'), []::VARCHAR[])) AS role_name`,
	"applicable_roles": `SELECT m.member AS grantee, m.role AS role_name, CASE WHEN m.admin_option THEN 'YES' ELSE 'NO' END AS is_grantable
		FROM sluice_catalog.role_members m
		WHERE list_contains(coalesce(getvariable('sluice_roles'), []::VARCHAR[]), m.member)`,
}

// infoSchema holds the information_schema overlays.
const infoSchema = "pg_sluice_info"

func informationSchemaDDL() []string {
	out := []string{`CREATE SCHEMA IF NOT EXISTS ` + infoSchema}
	for _, name := range sortedKeys(informationSchema) {
		out = append(out, `CREATE OR REPLACE VIEW `+infoSchema+`.`+name+` AS `+informationSchema[name])
	}
	return out
}

// infoOverlaid is the set of information_schema names overlaid.
var infoOverlaid = func() map[string]bool {
	m := map[string]bool{}
	for n := range informationSchema {
		m[n] = true
	}
	return m
}()
