-- Introspection queries clients send on connect and while browsing, verbatim
-- from /work/shared/compat/bi_queries.sql (its fixture: table public.py_t,
-- which the benchmark creates on both servers). One transaction = all six.
-- SQLAlchemy 1.4 PG dialect, first statement on connect (_get_server_version_info)
select pg_catalog.version();
-- DBeaver, on connect (PostgreExecutionContext)
SELECT current_schema(),session_user;
-- SQLAlchemy and pgjdbc, isolation level of a new connection
SHOW TRANSACTION ISOLATION LEVEL;
-- SQLAlchemy 1.4 has_table (schema=None), table name inlined as psycopg2 does
select relname from pg_class c join pg_namespace n on n.oid=c.relnamespace where pg_catalog.pg_table_is_visible(c.oid) and relname='py_t';
-- SQLAlchemy 1.4 get_schema_names
SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' ORDER BY nspname;
-- Metabase via pgjdbc, table list during sync (get-tables-sql, bind values inlined by the capture)
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = '0') AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public')) ORDER BY "type" ASC, "schema" ASC, "name" ASC;
