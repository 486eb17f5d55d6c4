//go:build duckdb_arrow

package bench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-db/sluice/connectors/s3/s3test"
)

// W9, output to object storage: the same view over W2's generated table
// (SLUICE_BENCH_S3_ROWS rows, default 10,000,000) plus a column of md5
// digests, which do not compress (W2's columns alone compress to under 4
// bytes a row, which would leave little to upload), PARTITION BY (day30)
// (30 partitions), refreshed to the local disk and WITH (location =
// 's3://bench/w9'), which writes the same local files and then uploads
// them to versitygw (connectors/s3/s3test, on 127.0.0.1, over a directory
// of the same disk) before publishing. Both views live in one gateway
// process started with the object-storage flags; each round refreshes
// them in rotating order:
//
//   - sluice-s3: REFRESH MATERIALIZED VIEW w9_s3;
//   - sluice-local: REFRESH MATERIALIZED VIEW w9_local.
//
// Target: the refresh to S3 takes at most 1.3x the local one.
func BenchmarkW9S3(b *testing.B) {
	if msg := s3test.Missing(); msg != "" {
		b.Skip(msg)
	}
	ctx := context.Background()
	s := s3Fixture(b)
	gc := serverConn(b, s.gw.URL)
	n := s3Rows
	const query = "SELECT id, day30, customer, amount, note, digest FROM w9_events"
	once(b, "W9 table and views", func() error {
		addSummary(printS3)
		for _, q := range []string{
			"CREATE TABLE w9_events AS SELECT *, md5(id::VARCHAR) AS digest FROM (" + eventsDuck(n) + ")",
			// Populated now, unmeasured: the first refresh of a
			// partitioned view sorts by the partition column (it has no
			// previous version to size the partitions by), later ones
			// do not; every round refreshes a view that has a version.
			"CREATE MATERIALIZED VIEW w9_local PARTITION BY (day30) AS " + query,
			"CREATE MATERIALIZED VIEW w9_s3 PARTITION BY (day30) WITH (location = 's3://bench/w9') AS " + query,
		} {
			if _, err := gc.Exec(ctx, q); err != nil {
				return fmt.Errorf("%.40s: %w", q, err)
			}
		}
		return nil
	})

	name := "W9 s3"
	detail := fmt.Sprintf("%d rows with an md5 column, PARTITION BY (day30), versitygw on 127.0.0.1", n)
	variants := []string{"sluice-s3", "sluice-local"}
	refOf := map[string]string{"sluice-s3": "sluice-local"}
	for b.Loop() {
		for _, v := range round(name, variants, refOf, detail) {
			view := "w9_local"
			if v == "sluice-s3" {
				view = "w9_s3"
			}
			s3cpu0 := procCPU(s.s3Pid)
			smp, rows, err := timeRefresh(ctx, gc, s.gw, "REFRESH MATERIALIZED VIEW "+view, view)
			smp.client = procCPU(s.s3Pid) - s3cpu0 // versitygw's CPU
			if err != nil {
				b.Fatalf("%s: %v", v, err)
			}
			if rows != n {
				b.Fatalf("%s: wrote %d rows, want %d", v, rows, n)
			}
			if v == "sluice-s3" {
				files, bytes, err := s.storedVersion("w9")
				if err != nil {
					b.Fatalf("%s: %v", v, err)
				}
				if files != smp.files {
					b.Fatalf("%s: the bucket's current version holds %d files, the run wrote %d", v, files, smp.files)
				}
				s3Bytes = bytes
			}
			record(b, name, v, smp)
		}
	}
}

var (
	s3Rows  = rowsEnv("SLUICE_BENCH_S3_ROWS", 10_000_000)
	s3Bytes int64 // bytes of the last version stored in the bucket
	s3Fix   *s3Setup
)

// s3Setup is versitygw and a gateway configured to use it.
type s3Setup struct {
	srv   *s3test.Server
	s3Pid int
	gw    *gatewayProc
}

// s3Fixture starts (once) versitygw with a bucket "bench" and a gateway of
// its own whose object storage is that server.
func s3Fixture(tb testing.TB) *s3Setup {
	dir := benchDir(tb)
	once(tb, "W9 versitygw and gateway", func() error {
		srv, err := s3test.Start(filepath.Join(dir, "s3"))
		if err != nil {
			return err
		}
		fixMu.Lock()
		teardowns = append(teardowns, srv.Close)
		fixMu.Unlock()
		if err := srv.MakeBucket("bench"); err != nil {
			return err
		}
		s := &s3Setup{srv: srv, s3Pid: findPid("versitygw", srv.Host)}
		s.gw, err = startGatewayWith(dir, "sluice-data-s3",
			[]string{"--object-storage-endpoint", srv.Endpoint, "--object-storage-access-key", srv.AccessKey,
				"--object-storage-region", srv.Region},
			[]string{"SLUICE_OBJECT_STORAGE_SECRET_KEY=" + srv.SecretKey})
		if err != nil {
			return err
		}
		fixMu.Lock()
		teardowns = append(teardowns, s.gw.stop)
		fixMu.Unlock()
		s3Fix = s
		return nil
	})
	return s3Fix
}

// storedVersion counts the Parquet files and their bytes of the version
// location prefix's _current names, in versitygw's directory.
func (s *s3Setup) storedVersion(prefix string) (files, bytes int64, err error) {
	loc := filepath.Join(s.srv.Dir, "bench", prefix)
	cur, err := os.ReadFile(filepath.Join(loc, "_current"))
	if err != nil {
		return 0, 0, err
	}
	err = filepath.WalkDir(filepath.Join(loc, strings.TrimSpace(string(cur))), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			files++
			bytes += fi.Size()
		}
		return err
	})
	return files, bytes, err
}

// findPid returns the pid of the process whose command line holds every
// one of words (0 if none), to read its CPU time from /proc.
func findPid(words ...string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd, all := string(b), true
		for _, w := range words {
			all = all && strings.Contains(cmd, w)
		}
		if all {
			return pid
		}
	}
	return 0
}

// printS3 prints W9's bytes and the upload's share of the S3 refresh.
//
// It runs from printSummary, which holds resMu.
func printS3() {
	w := byName["W9 s3"]
	if w == nil || len(w.samples["sluice-s3"]) == 0 || len(w.samples["sluice-local"]) == 0 {
		return
	}
	s3s, locals := w.samples["sluice-s3"], w.samples["sluice-local"]
	var s3, local, diff, s3srv, s3cli, locsrv []float64
	for i, s := range s3s {
		s3, s3srv, s3cli = append(s3, s.secs), append(s3srv, s.server), append(s3cli, s.client)
		if i < len(locals) {
			diff = append(diff, s.secs-locals[i].secs)
		}
	}
	for _, s := range locals {
		local, locsrv = append(local, s.secs), append(locsrv, s.server)
	}
	extra := median(diff)
	fmt.Printf("\n### W9 s3 upload (%d rows)\n\n", s3Rows)
	fmt.Printf("- stored per version: %d Parquet files, %.1f MB\n", s3s[0].files, float64(s3Bytes)/1e6)
	fmt.Printf("- median refresh: %.3f s to S3, %.3f s local; per round, S3 minus local: median %.3f s (%.1f MB/s of upload), min %.3f s, max %.3f s\n",
		median(s3), median(local), extra, float64(s3Bytes)/1e6/extra, slices.Min(diff), slices.Max(diff))
	fmt.Printf("- CPU (medians): gateway %.2f s to S3, %.2f s local; versitygw %.2f s (client CPU column)\n",
		median(s3srv), median(locsrv), median(s3cli))
}
