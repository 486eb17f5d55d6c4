package s3_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/sluice-db/sluice/connectors/s3"
)

const benchSize = 200 << 20

var (
	benchOnce   sync.Once
	benchBucket string
	benchFile   string // local copy of the object
)

// benchObject stores a 200 MiB object once for all benchmarks.
func benchObject(b *testing.B) (bucket, key, local string) {
	server(b)
	benchOnce.Do(func() {
		benchBucket = "bench"
		if err := srv.MakeBucket(benchBucket); err != nil {
			b.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "sluice-s3bench-")
		if err != nil {
			b.Fatal(err)
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		benchFile = filepath.Join(dir, "object.bin")
		writeFile(b, benchFile, randomBytes(b, benchSize))
		st := newStore(b, s3.Config{Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, CacheDir: dir})
		if err := st.Upload(context.Background(), benchFile, benchBucket, "object.bin"); err != nil {
			b.Fatal(err)
		}
	})
	return benchBucket, "object.bin", benchFile
}

func benchConfig(b *testing.B) s3.Config {
	return s3.Config{Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, CacheDir: b.TempDir()}
}

// BenchmarkFetch downloads the object into an empty cache: parallel
// ranged GETs into a file (defaults: 16 MiB parts, 8 in flight), and for
// comparison one GET streamed into the file (one 256 MiB part).
func BenchmarkFetch(b *testing.B) {
	bucket, key, _ := benchObject(b)
	for _, bc := range []struct {
		name     string
		partSize int64
		parallel int
	}{
		{"ranged-16MiBx8", 0, 0},
		{"single-stream", 256 << 20, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := benchConfig(b)
			cfg.PartSize, cfg.Parallel = bc.partSize, bc.parallel
			ctx := context.Background()
			b.SetBytes(benchSize)
			for b.Loop() {
				b.StopTimer()
				os.RemoveAll(cfg.CacheDir)
				st := newStore(b, cfg)
				objs, err := st.List(ctx, bucket, key)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				_, release, err := st.Fetch(ctx, objs)
				if err != nil {
					b.Fatal(err)
				}
				release()
			}
		})
	}
}

// BenchmarkFetchCached is a Fetch that finds the object in the cache.
func BenchmarkFetchCached(b *testing.B) {
	bucket, key, _ := benchObject(b)
	st := newStore(b, benchConfig(b))
	ctx := context.Background()
	objs, err := st.List(ctx, bucket, key)
	if err != nil {
		b.Fatal(err)
	}
	_, release, err := st.Fetch(ctx, objs) // warm the cache
	if err != nil {
		b.Fatal(err)
	}
	release()
	for b.Loop() {
		_, release, err := st.Fetch(ctx, objs)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

// BenchmarkGetObjectDiscard is the baseline: one plain GET to io.Discard.
func BenchmarkGetObjectDiscard(b *testing.B) {
	bucket, key, _ := benchObject(b)
	c := rawClient(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		o, err := c.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, o); err != nil || n != benchSize {
			b.Fatal(n, err)
		}
		o.Close()
	}
}

// BenchmarkUpload uploads a 200 MiB file: multipart, 16 MiB parts, 8 in
// flight.
func BenchmarkUpload(b *testing.B) {
	bucket, _, local := benchObject(b)
	st := newStore(b, benchConfig(b))
	b.SetBytes(benchSize)
	for b.Loop() {
		if err := st.Upload(context.Background(), local, bucket, "upload.bin"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocalCopy is the baseline: copying the file on the local disk.
func BenchmarkLocalCopy(b *testing.B) {
	_, _, local := benchObject(b)
	dst := filepath.Join(b.TempDir(), "copy.bin")
	b.SetBytes(benchSize)
	for b.Loop() {
		in, err := os.Open(local)
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(dst)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			b.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
