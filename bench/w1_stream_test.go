//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluice-db/sluice/internal/engine"
)

// W1, result streaming: SELECT * of a whole table, read by pgx with Scan
// into typed variables, in text (simple protocol) and binary (extended
// protocol, pgx's default) formats, from the gateway and from PostgreSQL
// 15 holding the same rows; and from DuckDB in process as Arrow batches.
//
// Target: the gateway takes at most half of PostgreSQL's time.
func BenchmarkW1Stream(b *testing.B) {
	b.Run("narrow", func(b *testing.B) {
		streamBench(b, streamSet{
			name: "W1 narrow", table: "narrow", rows: narrowRows,
			detail: fmt.Sprintf("%d rows: id bigint, name text, value double precision", narrowRows),
			duck:   func() string { return "CREATE TABLE narrow AS " + narrowDuck(narrowRows) },
			pg:     func() string { return narrowPG(narrowRows) },
			scan:   scanNarrow,
		})
	})
	b.Run("lineitem", func(b *testing.B) {
		streamBench(b, streamSet{
			name: "W1 lineitem", table: "lineitem", rows: lineitemRows,
			detail: fmt.Sprintf("%d rows, 16 columns: int x4, decimal(15,2) x4, char(1) x2, date x3, text x3", lineitemRows),
			duck:   func() string { return "CREATE TABLE lineitem AS " + lineitemDuck(lineitemRows) },
			pg:     func() string { return lineitemPG(lineitemRows) },
			scan:   scanLineitem,
		})
	})
}

type streamSet struct {
	name, table, detail string
	rows                int64
	duck, pg            func() string
	// scan reads every row of rows into typed variables and counts them.
	scan func(rows pgx.Rows) (int64, error)
}

// Connections reused across rounds, one per server.
var streamConns = map[string]*pgx.Conn{}

func serverConn(b *testing.B, url string) *pgx.Conn {
	if c := streamConns[url]; c != nil {
		return c
	}
	c, err := connect(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	streamConns[url] = c
	fixMu.Lock()
	teardowns = append(teardowns, func() { c.Close(context.Background()) })
	fixMu.Unlock()
	return c
}

func streamBench(b *testing.B, s streamSet) {
	ctx := context.Background()
	p := postgres(b) // skips when PostgreSQL is missing
	g := gateway(b)
	ref := reference(b)
	gc, pc := serverConn(b, g.URL), serverConn(b, p.URL)

	once(b, s.name+" data", func() error {
		if _, err := gc.Exec(ctx, s.duck()); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		if _, err := ref.Exec(ctx, s.duck()); err != nil {
			return fmt.Errorf("reference DuckDB: %w", err)
		}
		if _, err := pc.Exec(ctx, s.pg()); err != nil {
			return fmt.Errorf("postgresql: %w", err)
		}
		// Set hint bits and the visibility map now, not during a measured read.
		if _, err := pc.Exec(ctx, "VACUUM (FREEZE, ANALYZE) "+s.table); err != nil {
			return fmt.Errorf("postgresql: %w", err)
		}
		// One unmeasured read of each, so every side starts warm.
		for _, c := range []*pgx.Conn{gc, pc} {
			if _, err := readAll(ctx, c, s, pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
		}
		_, err := readArrow(ctx, ref, s.table)
		return err
	})

	query := "SELECT * FROM " + s.table
	variants := []string{"sluice-text", "postgres-text", "sluice-binary", "postgres-binary", "duckdb-arrow"}
	refOf := map[string]string{"sluice-text": "postgres-text", "sluice-binary": "postgres-binary", "duckdb-arrow": "postgres-binary"}
	for b.Loop() {
		for _, v := range round(s.name, variants, refOf, s.detail) {
			srvPID := os.Getpid() // DuckDB in process
			switch v {
			case "sluice-text", "sluice-binary":
				srvPID = g.cmd.Process.Pid
			case "postgres-text", "postgres-binary":
				srvPID = int(pc.PgConn().PID()) // the backend serving pc
			}
			srv0, cli0 := procCPU(srvPID), procCPU(os.Getpid())
			start := time.Now()
			var n int64
			var err error
			switch v {
			case "sluice-text":
				n, err = readAll(ctx, gc, s, pgx.QueryExecModeSimpleProtocol)
			case "postgres-text":
				n, err = readAll(ctx, pc, s, pgx.QueryExecModeSimpleProtocol)
			case "sluice-binary":
				n, err = readAll(ctx, gc, s, pgx.QueryExecModeCacheStatement)
			case "postgres-binary":
				n, err = readAll(ctx, pc, s, pgx.QueryExecModeCacheStatement)
			case "duckdb-arrow":
				n, err = readArrow(ctx, ref, s.table)
			}
			secs := time.Since(start).Seconds()
			smp := sample{secs: secs, server: procCPU(srvPID) - srv0}
			if srvPID != os.Getpid() {
				smp.client = procCPU(os.Getpid()) - cli0
			}
			if err != nil {
				b.Fatalf("%s: %s: %v", v, query, err)
			}
			if n != s.rows {
				b.Fatalf("%s: read %d rows, want %d", v, n, s.rows)
			}
			record(b, s.name, v, smp)
		}
	}
}

// readAll runs SELECT * in the given mode: QueryExecModeSimpleProtocol
// gets text results, QueryExecModeCacheStatement binary ones.
func readAll(ctx context.Context, c *pgx.Conn, s streamSet, mode pgx.QueryExecMode) (int64, error) {
	rows, err := c.Query(ctx, "SELECT * FROM "+s.table, mode)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n, err := s.scan(rows)
	if err != nil {
		return n, err
	}
	rows.Close()
	return n, rows.Err()
}

func scanNarrow(rows pgx.Rows) (int64, error) {
	var (
		n     int64
		id    int64
		name  string
		value float64
	)
	for rows.Next() {
		if err := rows.Scan(&id, &name, &value); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func scanLineitem(rows pgx.Rows) (int64, error) {
	var (
		n                                      int64
		orderkey, partkey, suppkey, linenumber int32
		quantity, extendedprice, discount, tax pgtype.Numeric
		returnflag, linestatus                 string
		shipdate, commitdate, receiptdate      time.Time
		shipinstruct, shipmode, comment        string
	)
	for rows.Next() {
		if err := rows.Scan(&orderkey, &partkey, &suppkey, &linenumber,
			&quantity, &extendedprice, &discount, &tax,
			&returnflag, &linestatus, &shipdate, &commitdate, &receiptdate,
			&shipinstruct, &shipmode, &comment); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// readArrow reads the whole table in process: DuckDB chunks converted to
// Arrow record batches (what the gateway's encoder starts from).
func readArrow(ctx context.Context, c *engine.Conn, table string) (int64, error) {
	rows, err := c.Query(ctx, "SELECT * FROM "+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		n += rows.Batch().NumRows()
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, rows.Close()
}
