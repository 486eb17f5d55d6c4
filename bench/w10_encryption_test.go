//go:build duckdb_arrow

package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// W10, encryption at rest: W9's table (W2's events plus an md5 column,
// SLUICE_BENCH_ENC_ROWS rows, default 1,000,000) as two views PARTITION BY
// (day30), one WITH (encryption_key = 'bench'), in a gateway process of its
// own started with a config file that names a key file. Each round, in
// rotating order:
//
//   - refresh-encrypted / refresh-plain: REFRESH MATERIALIZED VIEW (DuckDB's
//     COPY, then for the encrypted view the rewrite of every file as Parquet
//     modular encryption);
//   - read-encrypted / read-plain: an aggregate over every column of the
//     view (every page is read and, for the encrypted one, decrypted), one
//     row back.
func BenchmarkW10Encryption(b *testing.B) {
	ctx := context.Background()
	g := encFixture(b)
	gc := serverConn(b, g.URL)
	n := encRows
	const query = "SELECT id, day30, customer, amount, note, digest FROM w10_events"
	once(b, "W10 table and views", func() error {
		for _, q := range []string{
			"CREATE TABLE w10_events AS SELECT *, md5(id::VARCHAR) AS digest FROM (" + eventsDuck(n) + ")",
			"CREATE MATERIALIZED VIEW w10_plain PARTITION BY (day30) AS " + query,
			"CREATE MATERIALIZED VIEW w10_enc PARTITION BY (day30) WITH (encryption_key = 'bench') AS " + query,
		} {
			if _, err := gc.Exec(ctx, q); err != nil {
				return fmt.Errorf("%.40s: %w", q, err)
			}
		}
		return nil
	})
	const scan = "SELECT count(*), sum(id), sum(customer), sum(amount), max(note), max(digest), min(day30) FROM "
	want := ""
	if err := gc.QueryRow(ctx, "SELECT count(*)::VARCHAR || ' ' || sum(id)::VARCHAR FROM w10_events").Scan(&want); err != nil {
		b.Fatal(err)
	}
	name := "W10 encryption"
	detail := fmt.Sprintf("%d rows with an md5 column, PARTITION BY (day30), AES-256 Parquet modular encryption", n)
	variants := []string{"refresh-encrypted", "refresh-plain", "read-encrypted", "read-plain"}
	refOf := map[string]string{"refresh-encrypted": "refresh-plain", "read-encrypted": "read-plain"}
	for b.Loop() {
		for _, v := range round(name, variants, refOf, detail) {
			view := map[string]string{"refresh-encrypted": "w10_enc", "refresh-plain": "w10_plain", "read-encrypted": "w10_enc", "read-plain": "w10_plain"}[v]
			var smp sample
			if v[:4] == "refr" {
				var rows int64
				var err error
				smp, rows, err = timeRefresh(ctx, gc, g, "REFRESH MATERIALIZED VIEW "+view, view)
				if err != nil {
					b.Fatalf("%s: %v", v, err)
				}
				if rows != n {
					b.Fatalf("%s: wrote %d rows, want %d", v, rows, n)
				}
			} else {
				srv0 := procCPU(g.cmd.Process.Pid)
				start := time.Now()
				var cnt, sumID string
				var a, c, d, e, f any
				err := gc.QueryRow(ctx, scan+view).Scan(&cnt, &sumID, &a, &c, &d, &e, &f)
				smp.secs = time.Since(start).Seconds()
				smp.server = procCPU(g.cmd.Process.Pid) - srv0
				if err != nil {
					b.Fatalf("%s: %v", v, err)
				}
				if got := cnt + " " + sumID; got != want {
					b.Fatalf("%s: read %s, want %s", v, got, want)
				}
			}
			record(b, name, v, smp)
		}
	}
	var plainBytes, encBytes int64
	if err := gc.QueryRow(ctx, "SELECT sum(bytes) FILTER (WHERE name = 'w10_plain'), sum(bytes) FILTER (WHERE name = 'w10_enc') FROM sluice.materialized_views").Scan(&plainBytes, &encBytes); err != nil {
		b.Fatal(err)
	}
	encSizes = [2]int64{plainBytes, encBytes}
}

// encSizes are the bytes of the plain and the encrypted view's version.
var encSizes [2]int64

func init() {
	addSummary(func() {
		if encSizes[0] > 0 {
			fmt.Printf("\n### W10 sizes\n\n- plain version %.1f MB, encrypted version %.1f MB (%.2fx)\n",
				float64(encSizes[0])/1e6, float64(encSizes[1])/1e6, float64(encSizes[1])/float64(encSizes[0]))
		}
	})
}

var (
	encRows = rowsEnv("SLUICE_BENCH_ENC_ROWS", 1_000_000)
	encGw   *gatewayProc
)

// encFixture starts (once) a gateway whose configuration holds the key
// "bench" in a key file.
func encFixture(tb testing.TB) *gatewayProc {
	dir := benchDir(tb)
	once(tb, "W10 gateway", func() error {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		keyFile := filepath.Join(dir, "w10.key")
		if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
			return err
		}
		cfg := filepath.Join(dir, "w10.yaml")
		if err := os.WriteFile(cfg, []byte("encryption_keys:\n  - name: bench\n    key_file: "+keyFile+"\n"), 0o600); err != nil {
			return err
		}
		g, err := startGatewayWith(dir, "sluice-data-enc", []string{"--config", cfg}, nil)
		if err != nil {
			return err
		}
		fixMu.Lock()
		teardowns = append(teardowns, g.stop)
		fixMu.Unlock()
		encGw = g
		return nil
	})
	return encGw
}
