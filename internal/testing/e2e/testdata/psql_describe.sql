-- psql's catalog commands against a table, a view, a source, a
-- materialized view and a system table (internal/testing/e2e/psql_describe_test.go).
CREATE TABLE orders (
  id INTEGER NOT NULL,
  customer VARCHAR DEFAULT 'anonymous',
  amount DECIMAL(10,2),
  ordered_at TIMESTAMP,
  note TEXT
);
COMMENT ON TABLE orders IS 'one row per order';
COMMENT ON COLUMN orders.amount IS 'in euros';
INSERT INTO orders VALUES
  (1, 'ada', 12.50, TIMESTAMP '2024-11-14 08:30:00', NULL),
  (2, 'bob', 3.20, TIMESTAMP '2024-11-14 09:00:00', 'gift');
CREATE VIEW big_orders AS SELECT id, customer, amount FROM orders WHERE amount > 10;
CREATE SOURCE trips FROM FILES 'testdata/trips/*.csv' WITH (format = 'csv', header = true);
CREATE MATERIALIZED VIEW daily_totals AS
  SELECT CAST(ordered_at AS DATE) AS day, count(*) AS orders, sum(amount) AS total
  FROM orders GROUP BY ALL;
\l
\dn
\dt
\dv
\dm
\d
\d orders
\d+ orders
\d big_orders
\d+ big_orders
\d daily_totals
\d+ daily_totals
\d trips
\d+ trips
\d sluice.runs
\d+ sluice.runs
\x
SELECT * FROM orders ORDER BY id;
\x
SELECT current_setting('application_name') AS app, current_setting('search_path') AS path;
