//go:build duckdb_arrow

package gateway_test

// Encryption at rest, through the gateway with pgx: WITH (encryption_key =
// 'name') on materialized views and pipelines, refresh, backfill, ALTER,
// S3 locations, a restart with another key, and that the files really are
// encrypted (a plain DuckDB cannot read them; with the key it can).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/connectors/s3/s3test"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// encGateway is a gateway over dataDir with the given keys; its log goes
// to log. stop shuts it down (also at the test's end).
type encGateway struct {
	conn *pgx.Conn
	stop func()
}

func startWithKeys(t *testing.T, dataDir string, keys map[string][]byte, log *bytes.Buffer, storage *s3.Store) encGateway {
	t.Helper()
	opts := gateway.Options{DataDir: dataDir, Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		EncryptionKeys: keys, FileRoots: []string{os.TempDir()}} // the tests' files are in temporary directories
	if storage != nil {
		opts.ObjectStorage = storage
	}
	g, err := gateway.Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(l) }()
	conn, err := pgx.Connect(t.Context(), "postgres://sluice@"+l.Addr().String()+"/sluice?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		conn.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, wire.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	}
	t.Cleanup(stop)
	return encGateway{conn: conn, stop: stop}
}

// rows runs q and returns its rows as text, sorted.
func rows(t *testing.T, c *pgx.Conn, q string) []string {
	t.Helper()
	r, err := c.Query(t.Context(), q, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var out []string
	for r.Next() {
		vals, err := r.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := r.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	sort.Strings(out)
	return out
}

func one(t *testing.T, c *pgx.Conn, q string) string {
	t.Helper()
	rs := rows(t, c, q)
	if len(rs) != 1 {
		t.Fatalf("%s: %d rows, want 1", q, len(rs))
	}
	return rs[0]
}

// parquetFiles lists the .parquet files below dir.
func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// checkEncrypted asserts that every file is a Parquet modular encryption
// file with an encrypted footer (magic PARE, not PAR1) and holds none of
// the plaintext markers.
func checkEncrypted(t *testing.T, files []string, markers ...string) {
	t.Helper()
	if len(files) == 0 {
		t.Fatal("no files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(b[:4]) != "PARE" || string(b[len(b)-4:]) != "PARE" {
			t.Errorf("%s: magic %q...%q, want PARE (encrypted footer)", f, b[:4], b[len(b)-4:])
		}
		for _, m := range markers {
			if bytes.Contains(b, []byte(m)) {
				t.Errorf("%s holds the plaintext %q", f, m)
			}
		}
	}
}

// plainDuckDB opens a DuckDB of its own, knowing no key.
func plainDuckDB(t *testing.T) *engine.Conn {
	t.Helper()
	db, err := engine.Open(t.Context(), engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); db.Close() })
	return c
}

func plainCount(t *testing.T, c *engine.Conn, q string) (int64, error) {
	t.Helper()
	r, err := c.Query(t.Context(), q)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n int64
	for r.Next() {
		n += r.Batch().NumRows()
	}
	return n, r.Close()
}

// checkReadable proves the encryption: a plain DuckDB fails on each file
// without the key, and reads it (rows in all) once given key.
func checkReadable(t *testing.T, files []string, key []byte, wantRows int64) {
	t.Helper()
	c := plainDuckDB(t)
	for _, f := range files {
		_, err := plainCount(t, c, "SELECT * FROM read_parquet('"+f+"', hive_partitioning = false)")
		if err == nil || !strings.Contains(err.Error(), "is encrypted") {
			t.Fatalf("plain DuckDB on %s without the key: %v, want a refusal", f, err)
		}
	}
	if _, err := c.Exec(t.Context(), "PRAGMA add_parquet_key('the_key', '"+base64.StdEncoding.EncodeToString(key)+"')"); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, f := range files {
		n, err := plainCount(t, c, "SELECT * FROM read_parquet('"+f+"', hive_partitioning = false, encryption_config = {footer_key: 'the_key'})")
		if err != nil {
			t.Fatalf("plain DuckDB on %s with the key: %v", f, err)
		}
		total += n
	}
	if total != wantRows {
		t.Fatalf("plain DuckDB with the key read %d rows, want %d", total, wantRows)
	}
}

func TestEncryptedMaterializedView(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	var log bytes.Buffer
	dataDir := t.TempDir()
	g := startWithKeys(t, dataDir, map[string][]byte{"k1": k1, "k2": k2}, &log, nil)
	c := g.conn
	exec(t, c, "CREATE TABLE trips AS SELECT DATE '2024-11-01' + (i % 3)::INTEGER AS day, 'secret-zone-' || (i % 5) AS zone, i * 1.5 AS fare FROM range(3000) t(i)")
	exec(t, c, `CREATE MATERIALIZED VIEW fares PARTITION BY (day) WITH (encryption_key = 'k1') AS
		SELECT day, zone, count(*) AS trips, sum(fare) AS total FROM trips GROUP BY day, zone`)
	want := rows(t, c, "SELECT day, zone, count(*), sum(fare) FROM trips GROUP BY day, zone")
	if got := rows(t, c, "SELECT * FROM fares"); fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 15 {
		t.Fatalf("round trip: got %v, want %v", got, want)
	}
	objects := filepath.Join(dataDir, "objects")
	files := parquetFiles(t, objects)
	if len(files) != 3 {
		t.Fatalf("files %v, want one per day", files)
	}
	checkEncrypted(t, files, "secret-zone")
	checkReadable(t, files, k1, 15)
	if got := one(t, c, "SELECT options['encryption_key'] FROM sluice.materialized_views WHERE name = 'fares'"); got != "k1" {
		t.Errorf("options: %s", got)
	}
	if got := one(t, c, "SELECT encryption_key FROM sluice.versions WHERE object = 'fares' AND retired_at IS NULL"); got != "k1" {
		t.Errorf("version key: %s", got)
	}

	// REFRESH and a backfill keep working and stay encrypted.
	exec(t, c, "INSERT INTO trips SELECT DATE '2024-11-01' + (i % 3)::INTEGER, 'secret-zone-' || (i % 5), 1 FROM range(300) t(i)")
	exec(t, c, "REFRESH MATERIALIZED VIEW fares")
	want = rows(t, c, "SELECT day, zone, count(*), sum(fare) FROM trips GROUP BY day, zone")
	if got := rows(t, c, "SELECT * FROM fares"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after REFRESH: got %v, want %v", got, want)
	}
	exec(t, c, "UPDATE trips SET fare = fare + 100 WHERE day = DATE '2024-11-02'")
	exec(t, c, "REFRESH MATERIALIZED VIEW fares PARTITION (day = '2024-11-02')")
	want = rows(t, c, "SELECT day, zone, count(*), sum(fare) FROM trips GROUP BY day, zone")
	if got := rows(t, c, "SELECT * FROM fares"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after backfill: got %v, want %v", got, want)
	}
	files = parquetFiles(t, objects)
	checkEncrypted(t, files, "secret-zone")
	checkReadable(t, files, k1, 15)

	// ALTER applies from the next refresh: the current version is still
	// read with k1; a backfill then rewrites the kept partitions under k2,
	// so the new version has one key.
	exec(t, c, "ALTER MATERIALIZED VIEW fares SET (encryption_key = 'k2')")
	if got := rows(t, c, "SELECT * FROM fares"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after ALTER: got %v, want %v", got, want)
	}
	exec(t, c, "REFRESH MATERIALIZED VIEW fares PARTITION (day = '2024-11-03')")
	if got := rows(t, c, "SELECT * FROM fares"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after backfill with the new key: got %v, want %v", got, want)
	}
	files = parquetFiles(t, objects)
	checkEncrypted(t, files, "secret-zone")
	checkReadable(t, files, k2, 15)
	if got := one(t, c, "SELECT encryption_key FROM sluice.versions WHERE object = 'fares' AND retired_at IS NULL"); got != "k2" {
		t.Errorf("version key after ALTER: %s", got)
	}

	// target_file_size: oversized partitions are split (reading the staged
	// plaintext), then every part is encrypted.
	exec(t, c, "CREATE TABLE big AS SELECT DATE '2024-11-01' AS day, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS s, i FROM range(200000) t(i)")
	exec(t, c, "CREATE MATERIALIZED VIEW bigv PARTITION BY (day) WITH (encryption_key = 'k1', target_file_size = '2MiB', compression = 'uncompressed') AS SELECT * FROM big")
	if got := one(t, c, "SELECT count(*), count(DISTINCT s), sum(i)::BIGINT FROM bigv"); got != "200000 200000 19999900000" {
		t.Fatalf("split view: %s", got)
	}
	id := one(t, c, "SELECT id FROM sluice.materialized_views WHERE name = 'bigv'")
	split := parquetFiles(t, filepath.Join(objects, id))
	if len(split) < 2 {
		t.Fatalf("target_file_size did not split: %v", split)
	}
	checkEncrypted(t, split)
	checkReadable(t, split, k1, 200000)

	// Every flat type comes back exactly (the rewrite is physical: same
	// schema, logical types included).
	const typed = `SELECT i, 'v' || i AS s, (i * 1.5)::DECIMAL(18,3) AS d, (i * 1.5)::DECIMAL(38,6) AS d38,
		DATE '2024-01-01' + (i % 10)::INTEGER AS day, TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) SECOND AS ts,
		TIMESTAMP '2024-01-01' + INTERVAL (i) MINUTE AS tsn, CASE WHEN i % 7 = 0 THEN NULL ELSE i END AS maybe,
		i::HUGEINT * 1000000000000 AS h, md5(i::VARCHAR)::UUID AS u, INTERVAL (i) DAY AS iv, 'A'::ENUM('A', 'B') AS e,
		'{"x": 1}'::JSON AS j, 'blob'::BLOB AS b, i % 2 = 0 AS bo, i::FLOAT AS f, i::DOUBLE AS db, (i % 200)::UTINYINT AS ut,
		i::UBIGINT AS ub, TIME '12:00:00' AS tm, i::SMALLINT AS sm FROM range(5000) t(i)`
	exec(t, c, "CREATE MATERIALIZED VIEW typed PARTITION BY (day) WITH (encryption_key = 'k1') AS "+typed)
	if got := one(t, c, "SELECT count(*) FROM (SELECT * FROM typed EXCEPT ALL SELECT * FROM ("+typed+"))"); got != "0" {
		t.Fatalf("types changed through encryption: %s rows differ", got)
	}
	if got := one(t, c, "SELECT count(*) FROM typed"); got != "5000" {
		t.Fatalf("typed: %s rows", got)
	}

	// Removing the option: the next refresh writes plaintext again.
	exec(t, c, "ALTER MATERIALIZED VIEW fares SET (encryption_key = '')")
	exec(t, c, "REFRESH MATERIALIZED VIEW fares")
	if got := rows(t, c, "SELECT * FROM fares"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after removing the key: got %v, want %v", got, want)
	}
	id = one(t, c, "SELECT id FROM sluice.materialized_views WHERE name = 'fares'")
	for _, f := range parquetFiles(t, filepath.Join(objects, id)) {
		if b, _ := os.ReadFile(f); string(b[:4]) != "PAR1" {
			t.Errorf("%s is not plaintext Parquet after the key was removed", f)
		}
	}

	// An unknown key name: 22023 naming the option, nothing created.
	_, err := c.Exec(t.Context(), "CREATE MATERIALIZED VIEW nokey WITH (encryption_key = 'k9') AS SELECT 1 AS x")
	if code(err) != "22023" || !strings.Contains(err.Error(), "encryption_key") || !strings.Contains(err.Error(), "k9") {
		t.Fatalf("unknown key: %v, want 22023 naming the option", err)
	}
	if n := one(t, c, "SELECT count(*) FROM sluice.materialized_views WHERE name = 'nokey'"); n != "0" {
		t.Fatal("a view with an unknown key was recorded")
	}
	if _, err := c.Exec(t.Context(), "SELECT * FROM nokey"); code(err) != "42P01" {
		t.Fatalf("a view with an unknown key exists: %v", err)
	}
	if _, err := c.Exec(t.Context(), "ALTER MATERIALIZED VIEW fares SET (encryption_key = 'k9')"); code(err) != "22023" {
		t.Fatalf("ALTER to an unknown key: %v", err)
	}
	if _, err := c.Exec(t.Context(), "CREATE PIPELINE nokeyp WITH (encryption_key = 'k9') AS SELECT * FROM trips"); code(err) != "22023" {
		t.Fatalf("pipeline with an unknown key: %v", err)
	}
	// Nested columns cannot be read back encrypted: refused at CREATE and ALTER.
	if _, err := c.Exec(t.Context(), "CREATE MATERIALIZED VIEW nested WITH (encryption_key = 'k1') AS SELECT [1, 2] AS l"); code(err) != "0A000" {
		t.Fatalf("nested column: %v, want 0A000", err)
	}
	exec(t, c, "CREATE MATERIALIZED VIEW nested AS SELECT [1, 2] AS l")
	if _, err := c.Exec(t.Context(), "ALTER MATERIALIZED VIEW nested SET (encryption_key = 'k1')"); code(err) != "0A000" {
		t.Fatalf("ALTER of a nested view: %v, want 0A000", err)
	}

	// The key material is nowhere but in memory: not in the catalog (the
	// options hold the name), not in the log.
	g.stop()
	for _, k := range [][]byte{k1, k2} {
		b64 := base64.StdEncoding.EncodeToString(k)
		if strings.Contains(log.String(), b64) || bytes.Contains(log.Bytes(), k) {
			t.Error("a key is in the log")
		}
		db, err := os.ReadFile(filepath.Join(dataDir, "warehouse.duckdb"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(db, []byte(b64)) || bytes.Contains(db, k) {
			t.Error("a key is in the database file")
		}
	}
}

// TestEncryptionWrongKeyAfterRestart: a gateway restarted with another key
// under the same name cannot read the view: XX001, no row, and the session
// goes on; without the key at all it is 42704. A REFRESH under the new key
// makes the view readable again.
func TestEncryptionWrongKeyAfterRestart(t *testing.T) {
	dataDir := t.TempDir()
	var log bytes.Buffer
	g := startWithKeys(t, dataDir, map[string][]byte{"k1": newKey(t)}, &log, nil)
	exec(t, g.conn, "CREATE TABLE src AS SELECT i % 4 AS p, i FROM range(1000) t(i)")
	exec(t, g.conn, "CREATE MATERIALIZED VIEW v PARTITION BY (p) WITH (encryption_key = 'k1') AS SELECT * FROM src")
	exec(t, g.conn, "CREATE MATERIALIZED VIEW single WITH (encryption_key = 'k1') AS SELECT * FROM src")
	g.stop()

	other := newKey(t)
	g = startWithKeys(t, dataDir, map[string][]byte{"k1": other}, &log, nil)
	c := g.conn
	for _, view := range []string{"v", "single"} {
		r, err := c.Query(t.Context(), "SELECT * FROM "+view)
		n := 0
		if err == nil {
			for r.Next() {
				n++
			}
			err = r.Err()
		}
		if code(err) != "XX001" || !strings.Contains(err.Error(), "AES") {
			t.Fatalf("%s with another key: %v (%s), want XX001", view, err, code(err))
		}
		if n != 0 {
			t.Fatalf("%s: %d rows before the error, want none", view, n)
		}
		// The same through the extended protocol (prepared statement).
		var cnt int64
		if err := c.QueryRow(t.Context(), "SELECT count(i) FROM "+view+" WHERE i > $1", 0).Scan(&cnt); code(err) != "XX001" {
			t.Fatalf("%s, extended protocol: %v", view, err)
		}
	}
	if got := one(t, c, "SELECT 41 + 1"); got != "42" {
		t.Fatalf("session after the error: %s", got)
	}
	// A backfill reads the kept partitions: it fails the same way and
	// publishes nothing.
	if _, err := c.Exec(t.Context(), "REFRESH MATERIALIZED VIEW v PARTITION (p = 1)"); code(err) != "XX001" {
		t.Fatalf("backfill with another key: %v", err)
	}
	// A full refresh rewrites everything under the key now configured.
	exec(t, c, "REFRESH MATERIALIZED VIEW v")
	if got := one(t, c, "SELECT count(*), sum(i)::BIGINT FROM v"); got != "1000 499500" {
		t.Fatalf("after refresh with the new key: %s", got)
	}
	g.stop()

	g = startWithKeys(t, dataDir, nil, &log, nil)
	if _, err := g.conn.Exec(t.Context(), "SELECT * FROM v"); code(err) != "42704" || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("no key configured: %v, want 42704 naming the key", err)
	}
	if !strings.Contains(log.String(), "encryption key of a materialized view is not configured") {
		t.Error("no warning at start for an object whose key is not configured")
	}
	if _, err := g.conn.Exec(t.Context(), "REFRESH MATERIALIZED VIEW v"); code(err) != "42704" {
		t.Fatalf("refresh without the key: %v", err)
	}
}

func TestEncryptedPipeline(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	var log bytes.Buffer
	dataDir, in := t.TempDir(), t.TempDir()
	write := func(name string, day string, n int) {
		var b strings.Builder
		b.WriteString("day,user_id,note\n")
		for i := range n {
			fmt.Fprintf(&b, "%s,%d,secret-note-%d\n", day, i, i)
		}
		if err := os.WriteFile(filepath.Join(in, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.csv", "2024-11-01", 100)
	write("b.csv", "2024-11-02", 50)
	g := startWithKeys(t, dataDir, map[string][]byte{"k1": k1, "k2": k2}, &log, nil)
	c := g.conn
	exec(t, c, "CREATE SOURCE clicks_in FROM FILES '"+filepath.Join(in, "*.csv")+"'")
	exec(t, c, "CREATE PIPELINE clicks PARTITION BY (day) WITH (encryption_key = 'k1') AS SELECT day, user_id, note FROM clicks_in")
	if got := one(t, c, "SELECT count(*), sum(user_id)::BIGINT FROM clicks"); got != "150 6175" {
		t.Fatalf("first run: %s", got)
	}
	files := parquetFiles(t, filepath.Join(dataDir, "objects"))
	checkEncrypted(t, files, "secret-note")
	checkReadable(t, files, k1, 150)

	write("c.csv", "2024-11-01", 10)
	exec(t, c, "REFRESH PIPELINE clicks")
	exec(t, c, "ALTER PIPELINE clicks SET (encryption_key = 'k2')")
	write("d.csv", "2024-11-03", 20)
	exec(t, c, "REFRESH PIPELINE clicks")
	if got := one(t, c, "SELECT count(*), sum(user_id)::BIGINT FROM clicks"); got != "180 6410" {
		t.Fatalf("after runs under two keys: %s", got)
	}
	if got := rows(t, c, "SELECT coalesce(encryption_key, '-') || ':' || count(*) FROM sluice.pipeline_files GROUP BY encryption_key"); fmt.Sprint(got) != "[k1:3 k2:1]" {
		t.Fatalf("keys per file: %v", got)
	}
	var k1Files, k2Files []string
	for _, r := range rows(t, c, "SELECT encryption_key || ' ' || path FROM sluice.pipeline_files") {
		key, path, _ := strings.Cut(r, " ")
		if key == "k1" {
			k1Files = append(k1Files, path)
		} else {
			k2Files = append(k2Files, path)
		}
	}
	checkEncrypted(t, append(k1Files, k2Files...), "secret-note")
	checkReadable(t, k1Files, k1, 160)
	checkReadable(t, k2Files, k2, 20)
	if got := one(t, c, "SELECT options['encryption_key'] FROM sluice.pipelines WHERE name = 'clicks'"); got != "k2" {
		t.Errorf("options: %s", got)
	}
	// Restarted: the view, over files of both keys, still reads.
	g.stop()
	g = startWithKeys(t, dataDir, map[string][]byte{"k1": k1, "k2": k2}, &log, nil)
	if got := one(t, g.conn, "SELECT count(*), sum(user_id)::BIGINT FROM clicks"); got != "180 6410" {
		t.Fatalf("after restart: %s", got)
	}
}

// TestEncryptedS3Outputs: outputs WITH (location = 's3://...') store the
// same encrypted files (versitygw).
func TestEncryptedS3Outputs(t *testing.T) {
	srv := s3test.StartT(t)
	if err := srv.MakeBucket("lake"); err != nil {
		t.Fatal(err)
	}
	st, err := s3.New(s3.Config{Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		CacheDir: t.TempDir(), Timeout: 5 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	var log bytes.Buffer
	in := t.TempDir()
	if err := os.WriteFile(filepath.Join(in, "a.csv"), []byte("day,v\n2024-11-01,secret-value-1\n2024-11-02,secret-value-2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startWithKeys(t, t.TempDir(), map[string][]byte{"k1": key}, &log, st)
	c := g.conn
	exec(t, c, "CREATE SOURCE s3in FROM FILES '"+filepath.Join(in, "*.csv")+"'")
	exec(t, c, "CREATE MATERIALIZED VIEW mv PARTITION BY (day) WITH (location = 's3://lake/marts/mv', encryption_key = 'k1') AS SELECT * FROM s3in")
	exec(t, c, "CREATE PIPELINE pl PARTITION BY (day) WITH (location = 's3://lake/raw/pl', encryption_key = 'k1') AS SELECT * FROM s3in")
	if got := one(t, c, "SELECT count(*) FROM mv"); got != "2" {
		t.Fatalf("mv: %s", got)
	}
	if got := one(t, c, "SELECT count(*) FROM pl"); got != "2" {
		t.Fatalf("pl: %s", got)
	}
	for _, prefix := range []string{"marts/mv/v1", "raw/pl/data"} {
		stored := parquetFiles(t, filepath.Join(srv.Dir, "lake", prefix))
		if len(stored) != 2 {
			t.Fatalf("%s: stored %v", prefix, stored)
		}
		checkEncrypted(t, stored, "secret-value")
		checkReadable(t, stored, key, 2)
	}
}
