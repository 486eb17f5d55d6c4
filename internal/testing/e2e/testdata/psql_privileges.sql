-- Privileges as psql shows them (\dp, \du, \dn+), to the superuser and to a
-- reader (internal/testing/e2e/psql_privileges_test.go).
CREATE ROLE etl LOGIN;
CREATE ROLE analyst LOGIN;
CREATE ROLE readers;
GRANT readers TO analyst;
GRANT CREATE ON SCHEMA public TO etl;
CREATE TABLE orders AS SELECT range AS id FROM range(3);
CREATE TABLE salaries AS SELECT 'ann' AS who, 100 AS pay;
GRANT SELECT ON orders TO etl WITH GRANT OPTION;
\c - etl
CREATE MATERIALIZED VIEW order_count AS SELECT count(*) AS n FROM orders;
CREATE VIEW recent AS SELECT * FROM orders WHERE id > 0;
GRANT SELECT ON order_count TO readers;
GRANT SELECT, REFRESH ON order_count TO analyst;
GRANT SELECT ON orders TO analyst;
\c - sluice
\dp
\du
\dn+
\c - analyst
\dp
\dt
\dm
SELECT has_table_privilege('order_count', 'REFRESH') AS may_refresh, has_table_privilege('salaries', 'SELECT') AS sees_salaries;
