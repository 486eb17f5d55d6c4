package faults

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/connectors/s3/s3test"
)

// TestS3KilledMidUpload kills versitygw (SIGKILL) while a REFRESH uploads a
// materialized view's new version to s3://lake/mv, then restarts it on the
// same directory and port. The failed refresh must give a connection
// SQLSTATE, keep the session usable and the old version readable (reads
// are served from the local copy), and the next refresh must publish the
// new version exactly, with the bucket holding exactly the version's files.
func TestS3KilledMidUpload(t *testing.T) {
	s3srv := s3test.StartT(t)
	if err := s3srv.MakeBucket("lake"); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, t.TempDir(), []string{
		"--object-storage-endpoint", s3srv.Endpoint,
		"--object-storage-access-key", s3srv.AccessKey,
		"--object-storage-region", s3srv.Region,
		// One upload at a time and short timeouts: the upload of 300
		// files lasts more than a second, and a dead endpoint fails fast.
		"--object-storage-parallel", "1",
		"--object-storage-timeout", "3s",
		"--object-storage-retries", "2",
	}, "SLUICE_OBJECT_STORAGE_SECRET_KEY="+s3srv.SecretKey)
	conn := s.Connect(t)

	// v1: 300 partitions of incompressible text.
	const parts = 300
	mustExec(t, conn, `CREATE TABLE src AS
		SELECT i AS id, i % 300 AS p, md5(i::varchar) || md5((i * 7)::varchar) || md5((i * 13)::varchar) AS payload
		FROM range(600000) t(i)`)
	sum := func(rel string) [2]string {
		t.Helper()
		r := mustQueryText(t, conn, `SELECT count(*), sum(hash(id, p, payload)) FROM `+rel)
		return [2]string{r[0][0], r[0][1]}
	}
	v1 := sum("src")
	if v1[0] != "600000" {
		t.Fatalf("src holds %s rows", v1[0])
	}
	mustExec(t, conn, `CREATE MATERIALIZED VIEW mv PARTITION BY (p) WITH (location = 's3://lake/mv') AS SELECT id, p, payload FROM src`)
	if got := sum("mv"); got != v1 {
		t.Fatalf("v1 reads %v, want %v", got, v1)
	}
	if b, err := os.ReadFile(filepath.Join(s3srv.Dir, "lake", "mv", "_current")); err != nil || strings.TrimSpace(string(b)) != "v1" {
		t.Fatalf("_current after v1: %q, %v", b, err)
	}
	v1Files := bucketFiles(t, filepath.Join(s3srv.Dir, "lake", "mv", "v1"))
	if len(v1Files) < parts {
		t.Fatalf("v1 is %d files in the bucket, want at least %d", len(v1Files), parts)
	}

	// v2 differs: 5,000 more rows, and every 10th payload changed.
	mustExec(t, conn, `INSERT INTO src SELECT i, i % 300, md5(i::varchar) || 'v2' FROM range(600000, 605000) t(i)`)
	mustExec(t, conn, `UPDATE src SET payload = payload || '-v2' WHERE id % 10 = 0`)

	// REFRESH, and SIGKILL versitygw once 100 of v2's 300 files are stored.
	done := make(chan error, 1)
	started := time.Now()
	go func() {
		_, err := conn.Exec(context.Background(), `REFRESH MATERIALIZED VIEW mv`)
		done <- err
	}()
	v2Dir := filepath.Join(s3srv.Dir, "lake", "mv", "v2")
	var refreshErr error
	killed := false
	var firstAt time.Time
	for !killed {
		select {
		case refreshErr = <-done:
			t.Fatalf("the refresh ended (%v) before 100 files of v2 were stored: make the view bigger", refreshErr)
		case <-time.After(5 * time.Millisecond):
		}
		n := len(bucketFiles(t, v2Dir))
		if n > 0 && firstAt.IsZero() {
			firstAt = time.Now()
		}
		if n >= 100 {
			s3srv.Kill()
			killed = true
			t.Logf("killed versitygw %v after the REFRESH began, %v into the upload, %d files of v2 stored",
				time.Since(started).Round(time.Millisecond), time.Since(firstAt).Round(time.Millisecond), n)
		}
		if time.Since(started) > 2*time.Minute {
			t.Fatal("no file of v2 reached the bucket within 2 minutes")
		}
	}
	killedAt := time.Now()
	select {
	case refreshErr = <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("the refresh did not end within 90 s of the kill")
	}
	t.Logf("the refresh failed %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	if refreshErr == nil {
		t.Fatal("the refresh succeeded with object storage killed mid-upload")
	}
	pe, ok := refreshErr.(*pgconn.PgError)
	if !ok {
		t.Fatalf("refresh: want a PostgreSQL error, got %v", refreshErr)
	}
	t.Logf("refresh error: %s %s", pe.Code, pe.Message)
	if pe.Code != "08001" && pe.Code != "08006" && pe.Code != "58030" {
		t.Fatalf("refresh: want 08001, 08006 or 58030, got %s: %s", pe.Code, pe.Message)
	}
	if !strings.Contains(pe.Message, "object storage") || !strings.Contains(pe.Message, s3srv.Host) || !strings.Contains(pe.Message, "s3://lake/mv/v2") {
		t.Fatalf("refresh error should name object storage, %s and s3://lake/mv/v2: %s", s3srv.Host, pe.Message)
	}
	left := bucketFiles(t, v2Dir)
	t.Logf("v2 files left in the bucket by the killed upload: %d", len(left))
	if len(left) < 100 {
		t.Fatalf("the killed upload left %d files in the bucket: it cannot have deleted them with versitygw down", len(left))
	}

	// The session goes on, and the view still reads v1 (the local copy)
	// while object storage is down.
	if got := one(t, conn, `SELECT 1`); got != "1" {
		t.Fatal("session unusable after the failed refresh")
	}
	if got := sum("mv"); got != v1 {
		t.Fatalf("with object storage down the view reads %v, want v1 %v", got, v1)
	}
	runs := mustQueryText(t, conn, `SELECT status, sqlstate, version FROM sluice.runs WHERE object = 'mv' ORDER BY run_id`)
	if len(runs) != 2 || runs[0][0] != "succeeded" || runs[0][2] != "1" || runs[1][0] != "failed" || runs[1][1] != pe.Code {
		t.Fatalf("sluice.runs after the failure: %v, want a succeeded run of v1 and a failed one with %s", runs, pe.Code)
	}

	// The partitions the killed upload left in the bucket are emptied
	// before the next refresh: its v2 must not include their stale files.
	var gone []string
	for _, f := range left {
		gone = append(gone, strings.TrimPrefix(filepath.Dir(f), "p="))
	}
	mustExec(t, conn, `DELETE FROM src WHERE p IN (`+strings.Join(gone, ", ")+`)`)
	v2 := sum("src")

	// Restart on the same directory and port: the next refresh publishes v2.
	s3srv, err := s3srv.Restart()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s3srv.Close)
	started = time.Now()
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW mv`)
	t.Logf("the refresh after the restart took %v", time.Since(started).Round(time.Millisecond))
	if got := sum("mv"); got != v2 {
		t.Fatalf("after the restart the view reads %v, want v2 %v", got, v2)
	}
	if v2 == v1 {
		t.Fatal("v2 does not differ from v1")
	}
	runs = mustQueryText(t, conn, `SELECT status, sqlstate, version FROM sluice.runs WHERE object = 'mv' ORDER BY run_id`)
	if len(runs) != 3 || runs[2][0] != "succeeded" || runs[2][2] != "2" {
		t.Fatalf("sluice.runs after the recovery: %v, want a third, succeeded run of v2", runs)
	}
	if b, err := os.ReadFile(filepath.Join(s3srv.Dir, "lake", "mv", "_current")); err != nil || strings.TrimSpace(string(b)) != "v2" {
		t.Fatalf("_current after v2: %q, %v", b, err)
	}
	// The bucket's v2 is exactly the published version's files, and v1
	// stays whole for readers of the bucket still on it.
	path := one(t, conn, `SELECT path FROM sluice.versions WHERE object = 'mv' AND version = 2`)
	local := bucketFiles(t, path)
	stored := bucketFiles(t, v2Dir)
	if strings.Join(stored, "\n") != strings.Join(local, "\n") {
		t.Fatalf("the bucket's v2 holds %d files, the published version %d (first differences: %v)", len(stored), len(local), diff(stored, local))
	}
	if got := one(t, conn, `SELECT sum(files) FROM sluice.partitions WHERE object = 'mv' AND version = 2`); got != strconv.Itoa(len(local)) {
		t.Fatalf("sluice.partitions counts %s files of v2, the version directory holds %d", got, len(local))
	}
	if got := bucketFiles(t, filepath.Join(s3srv.Dir, "lake", "mv", "v1")); strings.Join(got, "\n") != strings.Join(v1Files, "\n") {
		t.Fatalf("v1 in the bucket changed: %d files, was %d", len(got), len(v1Files))
	}
	var parquet []string
	for _, f := range stored {
		parquet = append(parquet, filepath.Join(v2Dir, f))
	}
	if got := sum(`read_parquet(['` + strings.Join(parquet, `', '`) + `'], hive_partitioning = true)`); got != v2 {
		t.Fatalf("the bucket's v2 reads %v, want %v", got, v2)
	}
	var other []string
	filepath.WalkDir(filepath.Join(s3srv.Dir, "lake"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(p, v2Dir+"/") && !strings.HasPrefix(p, filepath.Join(s3srv.Dir, "lake", "mv", "v1")+"/") {
			other = append(other, p)
		}
		return nil
	})
	if len(other) != 1 || filepath.Base(other[0]) != "_current" {
		t.Fatalf("the bucket holds more than v1, v2 and _current: %v", other)
	}
}

// bucketFiles lists the regular files below dir, relative and sorted
// (none when dir does not exist).
func bucketFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// diff returns up to five names in one list and not the other.
func diff(a, b []string) []string {
	in := map[string]int{}
	for _, x := range a {
		in[x]++
	}
	for _, x := range b {
		in[x]--
	}
	var out []string
	for x, n := range in {
		if n != 0 && len(out) < 5 {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}
