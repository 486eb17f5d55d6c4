//go:build duckdb_arrow

package engine

import (
	"context"
	"testing"
)

// A prepared statement is executed many times, with other statements in
// between (pgx caches statements): its rows must not destroy it.
func TestStmtRunsAgainAfterOtherStatements(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Exec(ctx, "CREATE TABLE pt(x int)"); err != nil {
		t.Fatal(err)
	}
	st, err := c.Prepare(ctx, "SELECT count(*) FROM pt")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, q := range []string{"SELECT 1", "INSERT INTO pt VALUES (1)", "BEGIN", "INSERT INTO pt VALUES (2)", "ROLLBACK"} {
		r, err := st.Run(ctx)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		for r.Rows.Next() {
		}
		if err := r.Rows.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
