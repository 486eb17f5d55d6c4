//go:build duckdb_arrow

package pgcatalog_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

// introspectionQueries are bench/testdata/pgbench/introspection.sql's six
// statements: what drivers and BI tools send on connect and while browsing.
var introspectionQueries = []struct{ name, sql string }{
	{"version", `select pg_catalog.version()`},
	{"current_schema", `SELECT current_schema(),session_user`},
	{"isolation", `SHOW TRANSACTION ISOLATION LEVEL`},
	{"has_table", `select relname from pg_class c join pg_namespace n on n.oid=c.relnamespace where pg_catalog.pg_table_is_visible(c.oid) and relname='py_t'`},
	{"schema_names", `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' ORDER BY nspname`},
	{"metabase_tables", `SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = '0') AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public')) ORDER BY "type" ASC, "schema" ASC, "name" ASC`},
}

// startBench serves a gateway on 127.0.0.1:0 with the benchmark's fixture
// (public.py_t) and returns a connected client.
func startBench(b *testing.B) *pgx.Conn {
	b.Helper()
	g, err := gateway.Open(b.Context(), gateway.Options{DataDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatalf("open gateway: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(l) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			b.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, wire.ErrServerClosed) {
			b.Errorf("Serve returned %v", err)
		}
	})
	conn, err := pgx.Connect(b.Context(), "postgres://sluice@"+l.Addr().String()+"/sluice?sslmode=disable")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(b.Context(), "CREATE TABLE IF NOT EXISTS py_t (id INTEGER, name VARCHAR, amount DOUBLE PRECISION, day DATE)"); err != nil {
		b.Fatal(err)
	}
	return conn
}

// BenchmarkIntrospection times each introspection query, in the simple
// protocol as pgbench's default mode sends it.
//
//	go test -tags duckdb_arrow -run '^$' -bench Introspection ./internal/gateway/
func BenchmarkIntrospection(b *testing.B) {
	conn := startBench(b)
	for _, q := range introspectionQueries {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := conn.Query(b.Context(), q.sql, pgx.QueryExecModeSimpleProtocol)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					b.Fatalf("%s: no rows", q.name)
				}
			}
		})
	}
}
