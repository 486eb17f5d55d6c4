package faults

import (
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// tmpfs mounts a tmpfs of size bytes on a new directory and unmounts it
// when the test ends. It skips the test where mounting is refused (not
// root, or no CAP_SYS_ADMIN in a container): a real small filesystem is
// the point of the test, and there is no honest stand-in for one.
func tmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// free is the space left on the filesystem holding dir, in bytes.
func free(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes a file of zeros to dir until only leave bytes stay free, and
// returns its path. tmpfs allocates pages as they are written, so the
// space is really taken.
func fill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := free(t, dir) - leave; n > 0; n -= int64(len(buf)) {
		if _, err := f.Write(buf[:min(n, int64(len(buf)))]); err != nil {
			t.Fatalf("filling %s: %v", dir, err)
		}
	}
	return path
}

// du is the bytes the files below dir take.
func du(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// TestDiskFullDuringRefresh runs the gateway on a 96 MiB tmpfs data
// directory, publishes a good version of a partitioned view, then takes
// all but 4 MiB of the space and refreshes the view with more rows than
// fit. The refresh must fail with 53100 (disk_full), the good version must
// stay readable with its exact rows, the run's staging files must be gone
// (the free space is what it was before the refresh), the session must go
// on, and once the space is back the next refresh must publish every row.
func TestDiskFullDuringRefresh(t *testing.T) {
	dataDir := tmpfs(t, 96<<20)
	s := startServer(t, dataDir, []string{"--threads", "2"})
	conn := s.Connect(t)

	// The view's rows are generated (md5 strings compress poorly), their
	// number set by a one-row table, so each version holds a known count.
	mustExec(t, conn, `CREATE TABLE gen (n BIGINT)`)
	mustExec(t, conn, `INSERT INTO gen VALUES (200000)`)
	mustExec(t, conn, `CREATE MATERIALIZED VIEW big PARTITION BY (p) AS
		SELECT i % 8 AS p, i, md5(i::varchar) || md5((i + 1)::varchar) AS h FROM gen, range(gen.n) t(i)`)
	const checksum = `SELECT count(*), count(DISTINCT i), sum(i), sum(hash(h)) FROM big`
	good := mustQueryText(t, conn, checksum)
	if good[0][0] != "200000" || good[0][1] != "200000" {
		t.Fatalf("first version: %v", good)
	}
	versionBytes := du(t, filepath.Join(dataDir, "objects"))
	t.Logf("first version: %v, %d bytes of Parquet", good, versionBytes)

	// Ten times the rows cannot fit in what is left.
	mustExec(t, conn, `UPDATE gen SET n = 2000000`)
	filler := fill(t, dataDir, 4<<20)
	before := free(t, dataDir)
	_, err := conn.Exec(t.Context(), `REFRESH MATERIALIZED VIEW big`)
	msg := wantCode(t, "refresh on a full disk", err, "53100")
	t.Logf("refresh on a full disk: %s", msg)

	if got := mustQueryText(t, conn, checksum); got[0][0] != good[0][0] || got[0][3] != good[0][3] {
		t.Fatalf("after the failed refresh the view reads %v, want the good version %v", got, good)
	}
	if got := one(t, conn, `SELECT status FROM sluice.runs WHERE object = 'big' ORDER BY run_id DESC LIMIT 1`); got != "failed" {
		t.Fatalf("the failed run is recorded as %q", got)
	}
	entries, _ := os.ReadDir(filepath.Join(dataDir, "staging"))
	if len(entries) != 0 {
		t.Fatalf("staging holds %d entries after the failed refresh", len(entries))
	}
	// Space is reclaimed: what the run wrote is gone (a little slack for
	// the catalog's write-ahead log, which recorded the run).
	if after := free(t, dataDir); after < before-(1<<20) {
		t.Fatalf("free space %d bytes after the failed refresh, %d before it", after, before)
	}

	// The space comes back: the next refresh publishes every row.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW big`)
	got := mustQueryText(t, conn, checksum)
	if got[0][0] != "2000000" || got[0][1] != "2000000" || got[0][2] != "1999999000000" {
		t.Fatalf("after the space came back: %v", got)
	}
	if got := mustQueryText(t, conn, `SELECT status, count(*) FROM sluice.runs WHERE object = 'big' GROUP BY status ORDER BY status`); len(got) != 2 || got[0][0] != "failed" || got[0][1] != "1" || got[1][0] != "succeeded" || got[1][1] != "2" {
		t.Fatalf("runs: %v", got)
	}
}

// writeCSV writes rows lo..hi-1 (id, and a 64-character string that
// compresses poorly) as a CSV file.
func writeCSV(t *testing.T, path string, lo, hi int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,h\n")
	for i := lo; i < hi; i++ {
		sum := md5.Sum([]byte(strconv.Itoa(i)))
		fmt.Fprintf(&b, "%d,%x%x\n", i, sum, md5.Sum(sum[:]))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDiskFullDuringPipelineRun is the disk-full test for a pipeline over
// a directory of CSV files: the run that does not fit fails with 53100 and
// commits nothing (rows, files and the consumed input files as they were),
// and the run after the space is back commits every new row exactly once.
func TestDiskFullDuringPipelineRun(t *testing.T) {
	dataDir := tmpfs(t, 64<<20)
	in := t.TempDir()
	s := startServer(t, dataDir, []string{"--threads", "2", "--file-roots", in})
	conn := s.Connect(t)

	writeCSV(t, filepath.Join(in, "0.csv"), 0, 50_000)
	mustExec(t, conn, fmt.Sprintf(`CREATE SOURCE landed FROM FILES '%s/*.csv'`, in))
	mustExec(t, conn, `CREATE PIPELINE kept PARTITION BY (b) AS SELECT id, id % 8 AS b, h FROM landed`)
	mustExec(t, conn, `REFRESH PIPELINE kept`)
	const rows = `SELECT count(*), count(DISTINCT id), min(id), max(id) FROM kept`
	if got := mustQueryText(t, conn, rows); fmt.Sprint(got) != "[[50000 50000 0 49999]]" {
		t.Fatalf("first run: %v", got)
	}
	position := one(t, conn, `SELECT string_agg(path, ',' ORDER BY path) FROM sluice.pipeline_inputs`)
	files := one(t, conn, `SELECT count(*) FROM sluice.pipeline_files`)

	for i := 1; i <= 4; i++ {
		writeCSV(t, filepath.Join(in, fmt.Sprintf("%d.csv", i)), 50_000+(i-1)*100_000, 50_000+i*100_000)
	}
	filler := fill(t, dataDir, 4<<20)
	before := free(t, dataDir)
	_, err := conn.Exec(t.Context(), `REFRESH PIPELINE kept`)
	t.Logf("run on a full disk: %s", wantCode(t, "pipeline run on a full disk", err, "53100"))
	if got := mustQueryText(t, conn, rows); fmt.Sprint(got) != "[[50000 50000 0 49999]]" {
		t.Fatalf("after the failed run the pipeline reads %v", got)
	}
	if got := one(t, conn, `SELECT string_agg(path, ',' ORDER BY path) FROM sluice.pipeline_inputs`); got != position {
		t.Fatalf("the failed run recorded input files %s, were %s", got, position)
	}
	if got := one(t, conn, `SELECT count(*) FROM sluice.pipeline_files`); got != files {
		t.Fatalf("the failed run committed files: %s, was %s", got, files)
	}
	if after := free(t, dataDir); after < before-(1<<20) {
		t.Fatalf("free space %d bytes after the failed run, %d before it", after, before)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustExec(t, conn, `REFRESH PIPELINE kept`)
	mustExec(t, conn, `REFRESH PIPELINE kept`) // nothing new: nothing twice
	if got := mustQueryText(t, conn, rows); fmt.Sprint(got) != "[[450000 450000 0 449999]]" {
		t.Fatalf("after the space came back: %v", got)
	}
}

// TestDiskFullCatalogWrites fills the data directory to the last byte, so
// that the catalog's own write-ahead log cannot grow: DDL and writes fail
// with 53100 and change nothing, reads go on, and once the space is back
// the same statements succeed and everything survives a restart.
func TestDiskFullCatalogWrites(t *testing.T) {
	dataDir := tmpfs(t, 64<<20)
	args := []string{"--threads", "2"}
	s := startServer(t, dataDir, args)
	conn := s.Connect(t)
	mustExec(t, conn, `CREATE TABLE gen (n BIGINT)`)
	mustExec(t, conn, `INSERT INTO gen VALUES (20000)`)
	mustExec(t, conn, `CREATE MATERIALIZED VIEW big AS SELECT i, md5(i::varchar) AS h FROM gen, range(gen.n) t(i)`)
	mustExec(t, conn, `UPDATE gen SET n = 200000`)

	filler := fill(t, dataDir, 0)
	for _, q := range []string{
		`REFRESH MATERIALIZED VIEW big`,
		`INSERT INTO gen SELECT * FROM range(100000)`,
		`CREATE VIEW later AS SELECT 1 AS one`,
	} {
		_, err := conn.Exec(t.Context(), q)
		t.Logf("%s: %s", q, wantCode(t, q+" on a full disk", err, "53100"))
	}
	if got := mustQueryText(t, conn, `SELECT count(*), sum(i) FROM big`); fmt.Sprint(got) != "[[20000 199990000]]" {
		t.Fatalf("the view on a full disk: %v", got)
	}
	if got := mustQueryText(t, conn, `SELECT count(*), sum(n) FROM gen`); fmt.Sprint(got) != "[[1 200000]]" {
		t.Fatalf("the table after the failed insert: %v", got)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW big`)
	mustExec(t, conn, `INSERT INTO gen VALUES (7)`)
	mustExec(t, conn, `CREATE VIEW later AS SELECT 1 AS one`)
	conn.Close(t.Context())
	s.Stop(t)

	s = startServer(t, dataDir, args)
	conn = s.Connect(t)
	if got := mustQueryText(t, conn, `SELECT (SELECT count(*) FROM big), (SELECT sum(n) FROM gen), (SELECT one FROM later)`); fmt.Sprint(got) != "[[200000 200007 1]]" {
		t.Fatalf("after a restart: %v", got)
	}
}
