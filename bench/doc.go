// Package bench holds Sluice's benchmarks (docs/benchmarks.md): result
// streaming against PostgreSQL 15 and DuckDB over Arrow (W1), partitioned
// refresh (W2) and CSV ingest (W3) against DuckDB's own COPY; freshness of
// an ON CHANGE chain over landing files (W4), a pipeline run on 1% new input
// against a full recompute (W5) and a one-day backfill against a full
// refresh (W6); connectors: Kafka ingestion into Parquet against a plain
// franz-go consumer (W7), a PostgreSQL snapshot against psql's binary COPY
// (W8) and a refresh to S3 (versitygw) against the same refresh to local
// disk (W9); encryption at rest: the refresh and a full read of an
// encrypted view against the same plaintext view (W10); COPY TO STDOUT in
// text, CSV and binary against PostgreSQL 15's (W11); TPC-H Q1, Q3, Q5, Q6
// and Q10 over materialized views against the same rows in PostgreSQL 15
// (W12). Each workload runs Sluice and its reference side by side in
// the same process, in alternating order, and TestMain prints the medians
// and ratios at the end. BenchmarkPgbench runs pgbench (SELECT 1 and
// introspection scripts, testdata/pgbench) against the gateway and
// PostgreSQL 15 in turn; make bench skips it, make bench-pgbench runs it.
//
// They are Benchmark functions built with -tags duckdb_arrow, so the normal
// test suite never runs them:
//
//	go test -tags duckdb_arrow -run '^$' -bench . -skip Pgbench -benchtime 1x -count 5 -timeout 60m ./bench/
//
// Sizes come from the environment (defaults are the documented full sizes):
//
//	SLUICE_BENCH_SCALE           multiplies every default size (e.g. 0.05 for a quick run)
//	SLUICE_BENCH_ROWS            W1 narrow table rows (10,000,000)
//	SLUICE_BENCH_LINEITEM_ROWS   W1 lineitem-shaped table rows (6,000,000)
//	SLUICE_BENCH_REFRESH_ROWS    W2 rows (10,000,000)
//	SLUICE_BENCH_CSV_ROWS        W3 CSV rows (7,500,000, about 1 GB)
//	SLUICE_BENCH_FRESH_FILES     W4 files landed per round (50; not scaled)
//	SLUICE_BENCH_FRESH_ROWS      W4 JSON rows per landed file (1,000)
//	SLUICE_BENCH_INCR_ROWS       W5 initial rows (10,000,000); each round lands 1% more
//	SLUICE_BENCH_INCR_FILES      W5 and W6 Parquet files of the initial rows (100; not scaled)
//	SLUICE_BENCH_BACKFILL_ROWS   W6 rows over 365 days (10,000,000)
//	SLUICE_BENCH_KAFKA_ROWS      W7 JSON messages produced into kfake (10,000,000)
//	SLUICE_BENCH_PG_SNAPSHOT_ROWS W8 PostgreSQL table rows (10,000,000)
//	SLUICE_BENCH_S3_ROWS         W9 rows (10,000,000)
//	SLUICE_BENCH_ENC_ROWS        W10 rows (1,000,000)
//	SLUICE_BENCH_COPY_ROWS       W11 rows (5,000,000)
//	SLUICE_BENCH_TPCH_ROWS       W12 lineitem rows (10,000,000; orders 1/4, customer 1/40, supplier 1/600)
//	SLUICE_BENCH_MEMORY_LIMIT    DuckDB memory_limit of both sides (8GB)
//	SLUICE_BENCH_PG_BIN          PostgreSQL binaries (/usr/lib/postgresql/15/bin)
//	SLUICE_BENCH_PGBENCH_SECONDS pgbench -T of each run (60; not scaled)
//	SLUICE_BENCH_PGBENCH         the pgbench binary (default: beside the server's, else on PATH)
//	SLUICE_BENCH_GATEWAY_BIN     a prebuilt gateway binary (default: go build ./cmd/gateway)
//
// The gateway runs as its own process (the built binary), like PostgreSQL;
// the DuckDB reference runs in the benchmark process through internal/engine.
package bench
