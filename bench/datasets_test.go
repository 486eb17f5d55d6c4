//go:build duckdb_arrow

package bench

import "fmt"

// The same rows are generated on every side from the row number i (1..n),
// with the same formulas in DuckDB's and PostgreSQL's dialects.

// narrowDuck: id bigint, name text, value double precision.
func narrowDuck(n int64) string {
	return fmt.Sprintf(`SELECT i AS id, 'name ' || i AS name, (i * 1.5)::DOUBLE AS value FROM range(1, %d) t(i)`, n+1)
}

func narrowPG(n int64) string {
	return fmt.Sprintf(`CREATE TABLE narrow (id bigint, name text, value double precision);
INSERT INTO narrow SELECT i, 'name ' || i, (i * 1.5)::float8 FROM generate_series(1::bigint, %d) g(i)`, n)
}

// lineitemDuck is lineitem-shaped: int x4, decimal(15,2) x4, char(1) x2
// (VARCHAR in DuckDB, which has no CHAR), date x3, text x3.
func lineitemDuck(n int64) string {
	return fmt.Sprintf(`SELECT
  (i // 4 + 1)::INTEGER AS l_orderkey,
  (i * 7919 %% 200000 + 1)::INTEGER AS l_partkey,
  (i * 31 %% 10000 + 1)::INTEGER AS l_suppkey,
  (i %% 7 + 1)::INTEGER AS l_linenumber,
  (i %% 50 + 1)::DECIMAL(15,2) AS l_quantity,
  ((i * 7919 %% 10000000) / 100)::DECIMAL(15,2) AS l_extendedprice,
  ((i %% 11) / 100)::DECIMAL(15,2) AS l_discount,
  ((i %% 9) / 100)::DECIMAL(15,2) AS l_tax,
  chr((65 + i %% 3)::INTEGER) AS l_returnflag,
  CASE WHEN i %% 2 = 0 THEN 'O' ELSE 'F' END AS l_linestatus,
  DATE '1992-01-01' + (i %% 2500)::INTEGER AS l_shipdate,
  DATE '1992-01-31' + (i %% 2500)::INTEGER AS l_commitdate,
  DATE '1992-03-01' + (i %% 2500)::INTEGER AS l_receiptdate,
  (['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])[i %% 4 + 1] AS l_shipinstruct,
  (['AIR', 'MAIL', 'SHIP', 'TRUCK', 'RAIL', 'REG AIR', 'FOB'])[i %% 7 + 1] AS l_shipmode,
  'furiously regular deposits ' || i AS l_comment
FROM range(1, %d) t(i)`, n+1)
}

func lineitemPG(n int64) string {
	return fmt.Sprintf(`CREATE TABLE lineitem (
  l_orderkey int, l_partkey int, l_suppkey int, l_linenumber int,
  l_quantity numeric(15,2), l_extendedprice numeric(15,2), l_discount numeric(15,2), l_tax numeric(15,2),
  l_returnflag char(1), l_linestatus char(1),
  l_shipdate date, l_commitdate date, l_receiptdate date,
  l_shipinstruct text, l_shipmode text, l_comment text);
INSERT INTO lineitem SELECT
  (i / 4 + 1)::int, (i * 7919 %% 200000 + 1)::int, (i * 31 %% 10000 + 1)::int, (i %% 7 + 1)::int,
  (i %% 50 + 1)::numeric(15,2), ((i * 7919 %% 10000000) / 100.0)::numeric(15,2),
  ((i %% 11) / 100.0)::numeric(15,2), ((i %% 9) / 100.0)::numeric(15,2),
  chr((65 + i %% 3)::int), CASE WHEN i %% 2 = 0 THEN 'O' ELSE 'F' END,
  DATE '1992-01-01' + (i %% 2500)::int, DATE '1992-01-31' + (i %% 2500)::int, DATE '1992-03-01' + (i %% 2500)::int,
  (ARRAY['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])[i %% 4 + 1],
  (ARRAY['AIR', 'MAIL', 'SHIP', 'TRUCK', 'RAIL', 'REG AIR', 'FOB'])[i %% 7 + 1],
  'furiously regular deposits ' || i
FROM generate_series(1::bigint, %d) g(i)`, n)
}

// eventsDuck is W2's input: two date columns with 30 and 2,500 distinct
// values, interleaved (every chunk of rows touches every partition).
func eventsDuck(n int64) string {
	return fmt.Sprintf(`SELECT
  i AS id,
  DATE '2024-01-01' + (i %% 30)::INTEGER AS day30,
  DATE '2018-01-01' + (i %% 2500)::INTEGER AS day2500,
  (i * 7919 %% 100000)::INTEGER AS customer,
  ((i %% 100000) / 100.0)::DOUBLE AS amount,
  'event ' || i AS note
FROM range(1, %d) t(i)`, n+1)
}
