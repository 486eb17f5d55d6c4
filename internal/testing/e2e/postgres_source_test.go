package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/internal/testing/testpg"
)

// TestPostgresSource reads a real PostgreSQL 15 table through the gateway:
// types arrive faithfully, a materialized view reads the snapshot, and a
// pipeline reads only the rows past its committed cursor.
func TestPostgresSource(t *testing.T) {
	if msg := testpg.Missing(); msg != "" {
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "sluice-e2e-pg-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // as root the cluster runs as user postgres
		t.Fatal(err)
	}
	pg, err := testpg.Start(filepath.Join(dir, "pg"))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	ctx := context.Background()
	up, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close(ctx)
	for _, q := range []string{
		`CREATE TABLE orders (id bigint PRIMARY KEY, placed timestamptz NOT NULL, amount numeric(12,2), tags text[], meta jsonb, ref uuid, note text)`,
		`INSERT INTO orders SELECT i, timestamptz '2024-11-10 12:00:00+02' + i * interval '1 minute', CASE WHEN i = 3 THEN -1234567890.12 ELSE i * 1.25 END, ARRAY['a', 'b' || i],
			jsonb_build_object('n', i), md5(i::text)::uuid, CASE WHEN i % 10 = 0 THEN NULL ELSE 'note ' || i END FROM generate_series(1, 1000) i`,
	} {
		if _, err := up.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	s := startServer(t, t.TempDir())
	conn := s.Connect(t)
	defer conn.Close(t.Context())
	mustExec(t, conn, fmt.Sprintf(`CREATE SOURCE orders FROM POSTGRES WITH (dsn = '%s', table = 'public.orders', cursor_column = 'id')`, pg.URL))
	got := mustQueryText(t, conn, `SELECT id, placed, amount, tags, meta, ref, note FROM orders WHERE id IN (7, 10) ORDER BY id`)
	want := [][]string{
		{"7", "2024-11-10 10:07:00+00", "8.75", "{a,b7}", `{"n": 7}`, "8f14e45f-ceea-167a-5a36-dedd4bea2543", "note 7"},
		{"10", "2024-11-10 10:10:00+00", "12.50", "{a,b10}", `{"n": 10}`, "d3d94468-02a4-4259-755d-38e6d163e820", "NULL"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows:\n got %v\nwant %v", got, want)
	}
	if got := mustQueryText(t, conn, `SELECT amount FROM orders WHERE id = 3`); got[0][0] != "-1234567890.12" {
		t.Fatalf("a negative 12-digit decimal: %v", got)
	}
	types := mustQueryText(t, conn, `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position`)
	if fmt.Sprint(types) != "[[id BIGINT] [placed TIMESTAMP WITH TIME ZONE] [amount DECIMAL(12,2)] [tags VARCHAR[]] [meta JSON] [ref UUID] [note VARCHAR]]" {
		t.Fatalf("column types: %v", types)
	}
	mustExec(t, conn, `CREATE MATERIALIZED VIEW daily AS SELECT placed::date AS day, count(*) AS n, sum(amount) AS amount FROM orders GROUP BY 1`)
	mustExec(t, conn, `CREATE PIPELINE copied AS SELECT id, amount FROM orders`)
	if _, err := up.Exec(ctx, `INSERT INTO orders SELECT i, now(), i, NULL, NULL, NULL, NULL FROM generate_series(1001, 1200) i`); err != nil {
		t.Fatal(err)
	}
	mustExec(t, conn, `REFRESH PIPELINE copied`)
	mustExec(t, conn, `REFRESH PIPELINE copied`) // nothing new: no duplicates
	if got := mustQueryText(t, conn, `SELECT count(*), count(DISTINCT id), sum(amount) FROM copied`); fmt.Sprint(got) != "[[1200 1200 -1233722168.87]]" {
		t.Fatalf("pipeline: %v", got)
	}
	if got := mustQueryText(t, conn, `SELECT position FROM sluice.pipeline_positions`); fmt.Sprint(got) != `[[{"cursor":"1200"}]]` {
		t.Fatalf("committed position: %v", got)
	}
	if got := mustQueryText(t, conn, `SELECT sum(n) FROM daily`); got[0][0] != "1000" {
		t.Fatalf("view before refresh: %v", got)
	}
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW daily`)
	if got := mustQueryText(t, conn, `SELECT sum(n) FROM daily`); got[0][0] != "1200" {
		t.Fatalf("view after refresh: %v", got)
	}
}
