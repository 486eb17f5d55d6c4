package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/connectors/s3/s3test"
)

// srv is the versitygw every test of the package shares; nil when the
// binary is missing (the S3 tests then skip with skipMsg).
var (
	srv     *s3test.Server
	skipMsg string
	// cleanups run after every test and benchmark (the shared bench object).
	cleanups []func()
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if skipMsg = s3test.Missing(); skipMsg == "" {
		dir, err := os.MkdirTemp("", "sluice-s3test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		srv, err = s3test.Start(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "start versitygw:", err)
			return 1
		}
		defer srv.Close()
	}
	defer func() {
		for _, f := range cleanups {
			f()
		}
	}()
	return m.Run()
}

// server skips t when there is no S3 server.
func server(t testing.TB) *s3test.Server {
	t.Helper()
	if srv == nil {
		t.Skip(skipMsg)
	}
	return srv
}

var bucketSeq atomic.Int64

// newBucket creates a fresh bucket for one test.
func newBucket(t testing.TB) string {
	t.Helper()
	s := server(t)
	name := fmt.Sprintf("t%d-%s", bucketSeq.Add(1), strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-.")
	}
	if err := s.MakeBucket(name); err != nil {
		t.Fatal(err)
	}
	return name
}

// counter is an http.RoundTripper that counts object GETs (by key) and
// requests in flight, and may intercept requests.
type counter struct {
	base http.RoundTripper

	mu      sync.Mutex
	gets    map[string]int // object key -> GETs
	methods map[string]int // "PUT", "POST ?uploads", ...

	inflight, maxInflight atomic.Int32
	// hook, when set, may answer a request itself (return a non-nil
	// response or error) or wrap the response.
	hook func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error)
}

func newCounter() *counter {
	return &counter{gets: map[string]int{}, methods: map[string]int{}}
}

func (c *counter) wrap(base http.RoundTripper) http.RoundTripper {
	c.base = base
	return c
}

// objectKey is the key of a path-style object request, "" for a bucket one.
func objectKey(req *http.Request) string {
	_, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	return key
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	key := objectKey(req)
	c.mu.Lock()
	if req.Method == http.MethodGet && key != "" {
		c.gets[key]++
	}
	m := req.Method
	if req.URL.Query().Has("uploads") {
		m += " ?uploads"
	} else if req.URL.Query().Has("uploadId") {
		m += " ?uploadId"
	}
	c.methods[m]++
	c.mu.Unlock()
	n := c.inflight.Add(1)
	defer c.inflight.Add(-1)
	for {
		old := c.maxInflight.Load()
		if n <= old || c.maxInflight.CompareAndSwap(old, n) {
			break
		}
	}
	if c.hook != nil {
		return c.hook(req, c.base.RoundTrip)
	}
	return c.base.RoundTrip(req)
}

func (c *counter) getsOf(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets[key]
}

func (c *counter) totalGets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.gets {
		n += v
	}
	return n
}

func (c *counter) method(m string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.methods[m]
}

// testConfig is a config for srv with a fresh cache directory.
func testConfig(t testing.TB) s3.Config {
	s := server(t)
	return s3.Config{
		Endpoint:  s.Endpoint,
		Region:    s.Region,
		AccessKey: s.AccessKey,
		SecretKey: s.SecretKey,
		CacheDir:  t.TempDir(),
		Timeout:   5 * time.Second,
	}
}

func newStore(t testing.TB, cfg s3.Config) *s3.Store {
	t.Helper()
	st, err := s3.New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// rawClient is a minio client of its own, to put test objects.
func rawClient(t testing.TB) *minio.Client {
	s := server(t)
	c, err := minio.New(s.Host, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	_, err := rawClient(t).PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	o, err := rawClient(t).GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	return b
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

func fileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func list(t testing.TB, st *s3.Store, bucket, pattern string) []s3.Object {
	t.Helper()
	objs, err := st.List(context.Background(), bucket, pattern)
	if err != nil {
		t.Fatalf("List(%s, %s): %v", bucket, pattern, err)
	}
	return objs
}

func keys(objs []s3.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key
	}
	return out
}
