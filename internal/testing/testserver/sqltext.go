package testserver

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The SQL helpers the process tests share (e2e, faults): a connection
// closed with the test, and results read as the text the server sent.

// Connect opens a pgx connection to connString, closed when the test ends.
func Connect(t testing.TB, connString string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), connString)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// QueryText runs sql with the simple protocol and returns every value as
// the text the server sent ("NULL" for NULL).
func QueryText(ctx context.Context, conn *pgx.Conn, sql string) ([][]string, error) {
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]string, len(raw))
		for i, b := range raw {
			if b == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(b)
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// MustQueryText is QueryText that fails the test on an error.
func MustQueryText(t testing.TB, conn *pgx.Conn, sql string) [][]string {
	t.Helper()
	rows, err := QueryText(t.Context(), conn, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

// MustExec runs sql, failing the test on an error.
func MustExec(t testing.TB, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
