//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluice-db/sluice/internal/testing/testpg"
)

// tpchRows is W12's lineitem size; the other tables scale with it as in
// TPC-H (orders 1/4, customer 1/40, supplier 1/600).
var tpchRows = rowsEnv("SLUICE_BENCH_TPCH_ROWS", 10_000_000)

// tpchPGSettings are the PostgreSQL settings of W12's own cluster: the
// data (about 2 GB for 10M lineitem rows) is read from the OS cache beyond
// shared_buffers, sorts and hashes get memory, and a Gather may use both
// cores (2 workers beside the leader, the default of
// max_parallel_workers_per_gather, and max_parallel_workers 8).
var tpchPGSettings = []string{
	"shared_buffers=2GB", "work_mem=256MB", "effective_cache_size=8GB",
	"max_parallel_workers_per_gather=2", "max_parallel_workers=8", "max_worker_processes=8",
	"random_page_cost=1.1",
}

// W12, dashboard queries: TPC-H Q1, Q3, Q5, Q6 and Q10 (written here, not
// from the tpch extension, which is not available) over lineitem, orders,
// customer, supplier, nation and region generated deterministically from
// row numbers with the same formulas in both dialects. The gateway serves
// the six tables as materialized views (Parquet under its data directory);
// PostgreSQL 15 holds the same rows in tables with primary keys, VACUUM
// (FREEZE, ANALYZE)d. Each round runs each query once on each side through
// pgx (extended protocol, binary results), in alternating order, and
// checks both answers against each other: the same rows in the same order,
// numbers equal within 1e-9 relative (avg is DOUBLE in DuckDB, numeric in
// PostgreSQL).
//
// Both sides run on their own servers (a gateway and a PostgreSQL cluster
// of their own, so table names do not clash with W1's).
func BenchmarkW12TPCH(b *testing.B) {
	if reason := pgMissing(); reason != "" {
		b.Skip(reason)
	}
	ctx := context.Background()
	dir := benchDir(b)
	var g *gatewayProc
	var p *testpg.Server
	once(b, "W12 servers", func() error {
		var err error
		if g, err = startGatewayWith(dir, "tpch-data", nil, nil); err != nil {
			return err
		}
		if p, err = testpg.Start(filepath.Join(dir, "tpch-pg"), tpchPGSettings...); err != nil {
			g.stop()
			return err
		}
		fixMu.Lock()
		teardowns = append(teardowns, g.stop, func() { p.Stop() })
		fixMu.Unlock()
		tpchServers = [2]string{g.URL, p.URL}
		return nil
	})
	gc, pc := serverConn(b, tpchServers[0]), serverConn(b, tpchServers[1])
	sizes := tpchSizes(tpchRows)
	once(b, "W12 data", func() error {
		for _, t := range tpchTables {
			start := time.Now()
			if _, err := gc.Exec(ctx, "CREATE MATERIALIZED VIEW "+t.name+" AS "+t.sql(sizes, duckDialect)); err != nil {
				return fmt.Errorf("gateway: %s: %w", t.name, err)
			}
			mid := time.Now()
			if _, err := pc.Exec(ctx, "CREATE TABLE "+t.name+" AS "+t.sql(sizes, pgDialect)); err != nil {
				return fmt.Errorf("postgresql: %s: %w", t.name, err)
			}
			if t.key != "" {
				if _, err := pc.Exec(ctx, "ALTER TABLE "+t.name+" ADD PRIMARY KEY ("+t.key+")"); err != nil {
					return fmt.Errorf("postgresql: %s: %w", t.name, err)
				}
			}
			if _, err := pc.Exec(ctx, "VACUUM (FREEZE, ANALYZE) "+t.name); err != nil {
				return fmt.Errorf("postgresql: %s: %w", t.name, err)
			}
			fmt.Fprintf(os.Stderr, "bench: W12 %s (%d rows): gateway materialized view %.1fs, postgresql table %.1fs\n",
				t.name, t.rows(sizes), mid.Sub(start).Seconds(), time.Since(mid).Seconds())
		}
		return nil
	})

	for _, q := range tpchQueries {
		b.Run(q.name, func(b *testing.B) { tpchQuery(b, gc, pc, q.name, q.sql) })
	}
}

// tpchQuery runs one query per round on each side and checks the answers.
func tpchQuery(b *testing.B, gc, pc *pgx.Conn, query, sql string) {
	ctx := context.Background()
	name := "W12 " + query
	once(b, name+" check", func() error {
		// Unmeasured runs warm both sides up and give the answer every
		// round is checked against.
		got, err := tpchRun(ctx, gc, sql)
		if err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		want, err := tpchRun(ctx, pc, sql)
		if err != nil {
			return fmt.Errorf("postgresql: %w", err)
		}
		if len(want) == 0 {
			return fmt.Errorf("postgresql returned no rows: the data does not exercise the query")
		}
		tpchWant[query] = want
		return tpchSame(got, want)
	})
	want := tpchWant[query]
	detail := fmt.Sprintf("%d lineitem rows, %d result rows", tpchRows, len(want))
	for b.Loop() {
		for _, v := range round(name, []string{"sluice", "postgres"}, map[string]string{"sluice": "postgres"}, detail) {
			c := gc
			if v == "postgres" {
				c = pc
			}
			start := time.Now()
			got, err := tpchRun(ctx, c, sql)
			secs := time.Since(start).Seconds()
			if err != nil {
				b.Fatalf("%s %s: %v", name, v, err)
			}
			if err := tpchSame(got, want); err != nil {
				b.Fatalf("%s %s: %v", name, v, err)
			}
			record(b, name, v, sample{secs: secs})
		}
	}
}

var (
	tpchServers [2]string // the gateway's URL, PostgreSQL's
	tpchWant    = map[string][][]any{}
)

// tpchRun runs q and returns its rows, every number as float64.
func tpchRun(ctx context.Context, c *pgx.Conn, q string) ([][]any, error) {
	rows, err := c.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			switch x := v.(type) {
			case pgtype.Numeric:
				f, err := x.Float64Value()
				if err != nil {
					return nil, err
				}
				vals[i] = f.Float64
			case int16:
				vals[i] = float64(x)
			case int32:
				vals[i] = float64(x)
			case int64:
				vals[i] = float64(x)
			case float32:
				vals[i] = float64(x)
			}
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// tpchSame compares two answers: the same rows in the same order, numbers
// within 1e-9 relative, everything else equal.
func tpchSame(got, want [][]any) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d rows, postgresql %d", len(got), len(want))
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return fmt.Errorf("row %d: %d columns, postgresql %d", i, len(got[i]), len(want[i]))
		}
		for j := range got[i] {
			g, w := got[i][j], want[i][j]
			gf, gok := g.(float64)
			wf, wok := w.(float64)
			switch {
			case gok && wok:
				if math.Abs(gf-wf) > 1e-9*math.Max(1, math.Abs(wf)) {
					return fmt.Errorf("row %d column %d: %v, postgresql %v", i, j, gf, wf)
				}
			case fmt.Sprint(g) != fmt.Sprint(w):
				return fmt.Errorf("row %d column %d: %v (%T), postgresql %v (%T)", i, j, g, g, w, w)
			}
		}
	}
	return nil
}

// The generator: each table is SELECT ... FROM a row-number series, written
// once with tokens that dialect replaces.

type dialect struct {
	series func(n int64) string // rows i = 1..n
	repl   *strings.Replacer
}

var (
	duckDialect = dialect{
		series: func(n int64) string { return fmt.Sprintf("range(1, %d) t(i)", n+1) },
		// IDIV: integer division; PCT: a number divided by 100 as
		// DECIMAL(15,2); ARRAY[: a list literal.
		repl: strings.NewReplacer("IDIV", "//", "ARRAY[", "[", "DEC(", "CAST((", ")/100", ") / 100 AS DECIMAL(15,2))"),
	}
	pgDialect = dialect{
		series: func(n int64) string { return fmt.Sprintf("generate_series(1::bigint, %d) g(i)", n) },
		repl:   strings.NewReplacer("IDIV", "/", "DEC(", "CAST((", ")/100", ") / 100.0 AS numeric(15,2))"),
	}
)

type tpchSize struct{ lineitem, orders, customer, supplier int64 }

func tpchSizes(n int64) tpchSize {
	orders := (n + 3) / 4 // four lines per order
	return tpchSize{lineitem: n, orders: orders, customer: max(orders/10, 100), supplier: max(n/600, 100)}
}

type tpchTable struct {
	name string
	key  string // PostgreSQL's primary key
	rows func(tpchSize) int64
	// body is the SELECT list and FROM of the generator, with %[1]s the
	// series and %[2]d..%[5]d the sizes of lineitem, orders, customer,
	// supplier.
	body string
}

func (t tpchTable) sql(s tpchSize, d dialect) string {
	n := t.rows(s)
	return d.repl.Replace(fmt.Sprintf(t.body, d.series(n), s.lineitem, s.orders, s.customer, s.supplier))
}

// Day offsets from 1992-01-01: an order's date is day od in [0, 2405]
// (to 1998-08-02), its lines ship 1..121 days later and are received 1..30
// days after that; 1263 is 1995-06-17, TPC-H's "current date" that splits
// returned (R, A) from not yet returned (N) lines, and shipped (F) from
// open (O) ones.
const orderDay = `((k * 7907) %% 2406)::INTEGER`

var tpchTables = []tpchTable{
	{name: "region", key: "r_regionkey", rows: func(tpchSize) int64 { return 5 },
		body: `SELECT r_regionkey, r_name, 'region comment ' || r_regionkey::TEXT AS r_comment
FROM (VALUES (0, 'AFRICA'), (1, 'AMERICA'), (2, 'ASIA'), (3, 'EUROPE'), (4, 'MIDDLE EAST')) v(r_regionkey, r_name)%.0[1]s`},
	{name: "nation", key: "n_nationkey", rows: func(tpchSize) int64 { return 25 },
		body: `SELECT n_nationkey, n_name, n_regionkey, 'nation comment ' || n_nationkey::TEXT AS n_comment
FROM (VALUES (0, 'ALGERIA', 0), (1, 'ARGENTINA', 1), (2, 'BRAZIL', 1), (3, 'CANADA', 1), (4, 'EGYPT', 4),
  (5, 'ETHIOPIA', 0), (6, 'FRANCE', 3), (7, 'GERMANY', 3), (8, 'INDIA', 2), (9, 'INDONESIA', 2),
  (10, 'IRAN', 4), (11, 'IRAQ', 4), (12, 'JAPAN', 2), (13, 'JORDAN', 4), (14, 'KENYA', 0),
  (15, 'MOROCCO', 0), (16, 'MOZAMBIQUE', 0), (17, 'PERU', 1), (18, 'CHINA', 2), (19, 'ROMANIA', 3),
  (20, 'SAUDI ARABIA', 4), (21, 'VIETNAM', 2), (22, 'RUSSIA', 3), (23, 'UNITED KINGDOM', 3), (24, 'UNITED STATES', 1))
  v(n_nationkey, n_name, n_regionkey)%.0[1]s`},
	{name: "supplier", key: "s_suppkey", rows: func(s tpchSize) int64 { return s.supplier },
		body: `SELECT i::INTEGER AS s_suppkey, 'Supplier#' || lpad(i::TEXT, 9, '0') AS s_name,
  'supplier address ' || (i * 37 %% 100000)::TEXT AS s_address, (i * 11 %% 25)::INTEGER AS s_nationkey,
  '1' || (i %% 10)::TEXT || '-' || lpad((i * 7919 %% 10000000)::TEXT, 7, '0') AS s_phone,
  DEC(i * 7919 %% 1100000 - 100000)/100 AS s_acctbal, 'supplier comment ' || i::TEXT AS s_comment
FROM %[1]s`},
	{name: "customer", key: "c_custkey", rows: func(s tpchSize) int64 { return s.customer },
		body: `SELECT i::INTEGER AS c_custkey, 'Customer#' || lpad(i::TEXT, 9, '0') AS c_name,
  'customer address ' || (i * 37 %% 100000)::TEXT AS c_address, (i * 7 %% 25)::INTEGER AS c_nationkey,
  '2' || (i %% 10)::TEXT || '-' || lpad((i * 7919 %% 10000000)::TEXT, 7, '0') AS c_phone,
  DEC(i * 7919 %% 1100000 - 100000)/100 AS c_acctbal,
  (ARRAY['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'MACHINERY', 'HOUSEHOLD'])[i %% 5 + 1] AS c_mktsegment,
  'customer comment ' || i::TEXT AS c_comment
FROM %[1]s`},
	{name: "orders", key: "o_orderkey", rows: func(s tpchSize) int64 { return s.orders },
		body: `SELECT k::INTEGER AS o_orderkey, ((k * 9973) %% %[4]d + 1)::INTEGER AS o_custkey,
  CASE WHEN ` + orderDay + ` > 1263 - 60 THEN 'O' ELSE 'F' END AS o_orderstatus,
  DEC(k * 7919 %% 50000000 + 100000)/100 AS o_totalprice,
  DATE '1992-01-01' + ` + orderDay + ` AS o_orderdate,
  (ARRAY['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'])[k %% 5 + 1] AS o_orderpriority,
  'Clerk#' || lpad((k %% 1000 + 1)::TEXT, 9, '0') AS o_clerk, 0 AS o_shippriority,
  'order comment ' || k::TEXT AS o_comment
FROM (SELECT i AS k FROM %[1]s) o`},
	{name: "lineitem", rows: func(s tpchSize) int64 { return s.lineitem },
		body: `SELECT k::INTEGER AS l_orderkey, (i * 7919 %% 2000000 + 1)::INTEGER AS l_partkey,
  (i * 31 %% %[5]d + 1)::INTEGER AS l_suppkey, ((i - 1) %% 4 + 1)::INTEGER AS l_linenumber,
  (i * 7 %% 50 + 1)::DECIMAL(15,2) AS l_quantity,
  DEC((i * 7 %% 50 + 1) * (90000 + i * 7919 %% 110000))/100 AS l_extendedprice,
  DEC(i %% 11)/100 AS l_discount, DEC(i %% 9)/100 AS l_tax,
  CASE WHEN rd <= 1263 THEN (CASE WHEN i %% 2 = 0 THEN 'R' ELSE 'A' END) ELSE 'N' END AS l_returnflag,
  CASE WHEN sd > 1263 THEN 'O' ELSE 'F' END AS l_linestatus,
  DATE '1992-01-01' + sd AS l_shipdate, DATE '1992-01-01' + (od + 30 + (i %% 61)::INTEGER) AS l_commitdate,
  DATE '1992-01-01' + rd AS l_receiptdate,
  (ARRAY['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])[i %% 4 + 1] AS l_shipinstruct,
  (ARRAY['AIR', 'MAIL', 'SHIP', 'TRUCK', 'RAIL', 'REG AIR', 'FOB'])[i %% 7 + 1] AS l_shipmode,
  'furiously regular deposits ' || i::TEXT AS l_comment
FROM (SELECT i, k, od, sd, sd + 1 + (i %% 30)::INTEGER AS rd
  FROM (SELECT i, k, od, od + 1 + (i %% 121)::INTEGER AS sd
    FROM (SELECT i, k, ` + orderDay + ` AS od
      FROM (SELECT i, (i - 1) IDIV 4 + 1 AS k FROM %[1]s) a) b) c) d`},
}

// The queries, as TPC-H states them with its substitution parameters'
// validation values, and a total order where TPC-H's ORDER BY leaves ties
// (Q3, Q10), so that both sides must return the same rows.
var tpchQueries = []struct{ name, sql string }{
	{"Q1", `SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice) AS sum_base_price,
  sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
  sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
  avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price, avg(l_discount) AS avg_disc, count(*) AS count_order
FROM lineitem
WHERE l_shipdate <= DATE '1998-09-02'
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus`},
	{"Q3", `SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority
FROM customer, orders, lineitem
WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate < DATE '1995-03-15' AND l_shipdate > DATE '1995-03-15'
GROUP BY l_orderkey, o_orderdate, o_shippriority
ORDER BY revenue DESC, o_orderdate, l_orderkey
LIMIT 10`},
	{"Q5", `SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue
FROM customer, orders, lineitem, supplier, nation, region
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey
  AND c_nationkey = s_nationkey AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey
  AND r_name = 'ASIA' AND o_orderdate >= DATE '1994-01-01' AND o_orderdate < DATE '1995-01-01'
GROUP BY n_name
ORDER BY revenue DESC`},
	{"Q6", `SELECT sum(l_extendedprice * l_discount) AS revenue
FROM lineitem
WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01'
  AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24`},
	{"Q10", `SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, c_acctbal, n_name,
  c_address, c_phone, c_comment
FROM customer, orders, lineitem, nation
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate >= DATE '1993-10-01' AND o_orderdate < DATE '1994-01-01'
  AND l_returnflag = 'R' AND c_nationkey = n_nationkey
GROUP BY c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
ORDER BY revenue DESC, c_custkey
LIMIT 20`},
}
