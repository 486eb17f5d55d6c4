package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestList(t *testing.T) {
	bucket := newBucket(t)
	for _, k := range []string{
		"data/year=2024/month=01/a.parquet",
		"data/year=2024/month=02/b.parquet",
		"data/year=2025/month=01/c.parquet",
		"data/top.parquet",
		"data/x.csv",
		"data/readme.txt",
		"database/z.parquet",
		"other/z.parquet",
	} {
		put(t, bucket, k, []byte(k))
	}
	st := newStore(t, testConfig(t))
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"data/**/*.parquet", []string{"data/top.parquet", "data/year=2024/month=01/a.parquet", "data/year=2024/month=02/b.parquet", "data/year=2025/month=01/c.parquet"}},
		{"data/year=2024/*/*.parquet", []string{"data/year=2024/month=01/a.parquet", "data/year=2024/month=02/b.parquet"}},
		{"data/year=202[45]/month=01/*.parquet", []string{"data/year=2024/month=01/a.parquet", "data/year=2025/month=01/c.parquet"}},
		{"data/*.csv", []string{"data/x.csv"}},
		{"data/x.csv", []string{"data/x.csv"}},
		{"**/z.parquet", []string{"database/z.parquet", "other/z.parquet"}},
		{"nothing/**", nil},
	} {
		got := keys(list(t, st, bucket, tc.pattern))
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
	objs := list(t, st, bucket, "data/x.csv")
	o := objs[0]
	if o.Bucket != bucket || o.Size != int64(len("data/x.csv")) || o.ETag == "" || strings.Contains(o.ETag, `"`) || o.ModTime.IsZero() {
		t.Errorf("object = %+v", o)
	}

	_, err := st.List(context.Background(), "no-such-bucket", "**")
	if err == nil || pgerr.Code(err) != "58030" || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing bucket: %v (%s)", err, pgerr.Code(err))
	}
}

func TestFetch(t *testing.T) {
	bucket := newBucket(t)
	v1 := randomBytes(t, 300<<10)
	put(t, bucket, "hive/year=2024/a.parquet", v1)
	put(t, bucket, "hive/year=2024/empty.parquet", nil)
	cnt := newCounter()
	cfg := testConfig(t)
	cfg.WrapTransport = cnt.wrap
	st := newStore(t, cfg)
	ctx := context.Background()

	objs := list(t, st, bucket, "hive/**")
	paths, release, err := st.Fetch(ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	wantPath := filepath.Join(cfg.CacheDir, bucket, "hive", "year=2024", "a.parquet")
	if paths[0] != wantPath {
		t.Errorf("path %s, want %s (the key's directories kept)", paths[0], wantPath)
	}
	if got, _ := os.ReadFile(paths[0]); !bytes.Equal(got, v1) {
		t.Error("content differs")
	}
	if fi, err := os.Stat(paths[1]); err != nil || fi.Size() != 0 {
		t.Errorf("empty object: %v %v", fi, err)
	}
	release()
	release() // twice is harmless
	if n := cnt.getsOf("hive/year=2024/a.parquet"); n != 1 {
		t.Errorf("first fetch: %d GETs, want 1", n)
	}

	// Cached: no download.
	paths, release, err = st.Fetch(ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if n := cnt.totalGets(); n != 1 {
		t.Errorf("second fetch: %d GETs in all, want 1", n)
	}
	if s := st.CacheStats(); s.Hits != 2 || s.Misses != 2 || s.DownloadedBytes != int64(len(v1)) {
		t.Errorf("counters after a miss and a hit of 2 objects: %+v", s)
	}

	// A new store on the same directory finds the cache (sidecars).
	cnt2 := newCounter()
	cfg2 := cfg
	cfg2.WrapTransport = cnt2.wrap
	st2 := newStore(t, cfg2)
	if _, release, err = st2.Fetch(ctx, objs); err != nil {
		t.Fatal(err)
	}
	release()
	if n := cnt2.totalGets(); n != 0 {
		t.Errorf("after restart: %d GETs, want 0", n)
	}
	if s := st2.CacheStats(); s.Objects != 2 || s.Bytes != int64(len(v1)) || s.Pinned != 0 {
		t.Errorf("stats after restart: %+v", s)
	}

	// Changed object: downloaded again.
	v2 := randomBytes(t, 200<<10)
	put(t, bucket, "hive/year=2024/a.parquet", v2)
	objs2 := list(t, st, bucket, "hive/**")
	if objs2[0].ETag == objs[0].ETag {
		t.Fatal("ETag did not change")
	}
	paths, release, err = st.Fetch(ctx, objs2)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if got, _ := os.ReadFile(paths[0]); !bytes.Equal(got, v2) {
		t.Error("changed object: old content")
	}
	if n := cnt.getsOf("hive/year=2024/a.parquet"); n != 2 {
		t.Errorf("changed object: %d GETs, want 2", n)
	}

	// A stale listing no longer matches the object: a clear error, not a
	// mix of two versions (each range GET asks for the listed ETag).
	_, _, err = newStore(t, testConfig(t)).Fetch(ctx, objs[:1])
	if err == nil || pgerr.Code(err) != "58030" || !strings.Contains(err.Error(), "changed since it was listed") {
		t.Errorf("stale listing: %v", err)
	}
}

func TestFetchRanged(t *testing.T) {
	bucket := newBucket(t)
	data := randomBytes(t, 50<<20)
	put(t, bucket, "big.bin", data)
	cnt := newCounter()
	cfg := testConfig(t)
	cfg.PartSize = 5 << 20
	cfg.Parallel = 4
	cfg.WrapTransport = cnt.wrap
	st := newStore(t, cfg)
	objs := list(t, st, bucket, "big.bin")
	paths, release, err := st.Fetch(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if fileSum(t, paths[0]) != sum(data) {
		t.Fatal("sha256 differs")
	}
	if n := cnt.getsOf("big.bin"); n != 10 {
		t.Errorf("%d range GETs, want 10", n)
	}
	if m := cnt.maxInflight.Load(); m < 2 || m > 4 {
		t.Errorf("max requests in flight %d, want 2..4 (Parallel)", m)
	}
	entries, _ := os.ReadDir(filepath.Join(cfg.CacheDir, ".sluice-cache", "tmp"))
	if len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestEviction(t *testing.T) {
	bucket := newBucket(t)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		put(t, bucket, "p/"+k+".bin", randomBytes(t, 1<<20))
	}
	cfg := testConfig(t)
	cfg.CacheSize = 3 << 20
	st := newStore(t, cfg)
	ctx := context.Background()
	obj := map[string]s3.Object{}
	for _, o := range list(t, st, bucket, "p/*") {
		obj[strings.TrimSuffix(filepath.Base(o.Key), ".bin")] = o
	}
	fetch := func(name string, keep bool) string {
		t.Helper()
		paths, release, err := st.Fetch(ctx, []s3.Object{obj[name]})
		if err != nil {
			t.Fatalf("fetch %s: %v", name, err)
		}
		if !keep {
			release()
		}
		return paths[0]
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	pa := fetch("a", false)
	pb := fetch("b", false)
	pc := fetch("c", true) // pinned from here on
	pd := fetch("d", false)
	if exists(pa) || !exists(pb) || !exists(pc) || !exists(pd) {
		t.Errorf("after d: a=%v b=%v c=%v d=%v; want only a evicted", exists(pa), exists(pb), exists(pc), exists(pd))
	}
	pe := fetch("e", false)
	if exists(pb) || !exists(pc) || !exists(pd) || !exists(pe) {
		t.Errorf("after e: b=%v c=%v d=%v e=%v; want b evicted, pinned c kept", exists(pb), exists(pc), exists(pd), exists(pe))
	}
	if s := st.CacheStats(); s.Bytes > cfg.CacheSize || s.Objects != 3 || s.Pinned != 1<<20 {
		t.Errorf("stats %+v", s)
	}
	// Eviction removed the emptied directory but not the bucket's others.
	if !exists(filepath.Join(cfg.CacheDir, bucket, "p")) {
		t.Error("directory of live files removed")
	}
}

func TestCacheTooSmall(t *testing.T) {
	bucket := newBucket(t)
	for _, k := range []string{"a", "b", "c", "d"} {
		put(t, bucket, k, randomBytes(t, 1<<20))
	}
	cfg := testConfig(t)
	cfg.CacheSize = 3 << 20
	st := newStore(t, cfg)
	ctx := context.Background()
	objs := list(t, st, bucket, "*")

	_, _, err := st.Fetch(ctx, objs)
	if pgerr.Code(err) != "53100" || !strings.Contains(err.Error(), "object_storage.cache_size") {
		t.Fatalf("4 MiB into 3 MiB: %v (%s)", err, pgerr.Code(err))
	}
	if s := st.CacheStats(); s.Pinned != 0 || s.Bytes != 0 {
		t.Errorf("after the refusal: %+v", s)
	}

	// Another query holding pins leaves too little room.
	_, release, err := st.Fetch(ctx, objs[:2])
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = st.Fetch(ctx, objs[2:])
	if pgerr.Code(err) != "53100" || !strings.Contains(err.Error(), "running queries hold") {
		t.Errorf("with 2 MiB pinned: %v", err)
	}
	release()
	_, release, err = st.Fetch(ctx, objs[2:])
	if err != nil {
		t.Errorf("after release: %v", err)
	} else {
		release()
	}
}

func TestFetchConcurrent(t *testing.T) {
	bucket := newBucket(t)
	data := randomBytes(t, 20<<20)
	put(t, bucket, "shared.bin", data)
	small := randomBytes(t, 1000)
	put(t, bucket, "small.bin", small)
	cnt := newCounter()
	cfg := testConfig(t)
	cfg.PartSize = 5 << 20
	cfg.WrapTransport = cnt.wrap
	st := newStore(t, cfg)
	objs := list(t, st, bucket, "*")

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths, release, err := st.Fetch(context.Background(), objs)
			if err != nil {
				errs <- err
				return
			}
			defer release()
			if fileSum(t, paths[0]) != sum(data) {
				errs <- errors.New("content differs")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := cnt.getsOf("shared.bin"); n != 4 {
		t.Errorf("%d GETs of the shared object, want 4 (one download of 4 ranges)", n)
	}
	if n := cnt.getsOf("small.bin"); n != 1 {
		t.Errorf("%d GETs of the small object, want 1", n)
	}
	if s := st.CacheStats(); s.Pinned != 0 {
		t.Errorf("pins left: %+v", s)
	}
}

func TestFetchCancel(t *testing.T) {
	bucket := newBucket(t)
	data := randomBytes(t, 20<<20)
	put(t, bucket, "slow.bin", data)
	cnt := newCounter()
	var slow atomic.Bool
	slow.Store(true)
	started := make(chan struct{}, 100)
	cnt.hook = func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		resp, err := next(req)
		if err == nil && req.Method == http.MethodGet && objectKey(req) == "slow.bin" && slow.Load() {
			resp.Body = &slowBody{ReadCloser: resp.Body, ctx: req.Context(), started: started}
		}
		return resp, err
	}
	cfg := testConfig(t)
	cfg.PartSize = 5 << 20
	cfg.WrapTransport = cnt.wrap
	st := newStore(t, cfg)
	objs := list(t, st, bucket, "slow.bin")

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	t0 := time.Now()
	_, _, err := st.Fetch(ctx, objs)
	if pgerr.Code(err) != "57014" {
		t.Fatalf("canceled fetch: %v (%s)", err, pgerr.Code(err))
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("cancel took %s", d)
	}
	if _, err := os.Stat(filepath.Join(cfg.CacheDir, bucket, "slow.bin")); err == nil {
		t.Error("a partial file is visible")
	}
	if s := st.CacheStats(); s.Pinned != 0 || s.Bytes != 0 {
		t.Errorf("after cancel: %+v", s)
	}
	// The abandoned download stops and cleans its temporary file.
	tmp := filepath.Join(cfg.CacheDir, ".sluice-cache", "tmp")
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, _ := os.ReadDir(tmp)
		if len(entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("temporary files left: %v", entries)
		}
		time.Sleep(20 * time.Millisecond)
	}

	slow.Store(false)
	paths, release, err := st.Fetch(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if fileSum(t, paths[0]) != sum(data) {
		t.Error("content differs after a canceled attempt")
	}
}

// slowBody trickles a response body until its request is canceled.
type slowBody struct {
	io.ReadCloser
	ctx     context.Context
	started chan<- struct{}
	once    sync.Once
}

func (b *slowBody) Read(p []byte) (int, error) {
	b.once.Do(func() { b.started <- struct{}{} })
	select {
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	case <-time.After(50 * time.Millisecond):
	}
	return b.ReadCloser.Read(p[:min(len(p), 1024)])
}

func TestFetchStalledResponseRetried(t *testing.T) {
	bucket := newBucket(t)
	data := randomBytes(t, 3<<20)
	put(t, bucket, "stall.bin", data)
	cnt := newCounter()
	var stalled atomic.Int32
	cnt.hook = func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		resp, err := next(req)
		if err == nil && req.Method == http.MethodGet && objectKey(req) == "stall.bin" && stalled.Add(1) == 1 {
			resp.Body = &stallBody{ReadCloser: resp.Body, ctx: req.Context(), left: 1 << 20}
		}
		return resp, err
	}
	cfg := testConfig(t)
	cfg.Timeout = 500 * time.Millisecond
	cfg.WrapTransport = cnt.wrap
	st := newStore(t, cfg)
	objs := list(t, st, bucket, "stall.bin")
	paths, release, err := st.Fetch(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if fileSum(t, paths[0]) != sum(data) {
		t.Error("content differs after a resumed range")
	}
	if n := cnt.getsOf("stall.bin"); n != 2 {
		t.Errorf("%d GETs, want 2 (the stalled one resumed)", n)
	}
}

// stallBody passes left bytes, then blocks until its request is canceled.
type stallBody struct {
	io.ReadCloser
	ctx  context.Context
	left int
}

func (b *stallBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		<-b.ctx.Done()
		return 0, b.ctx.Err()
	}
	n, err := b.ReadCloser.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}

func TestUpload(t *testing.T) {
	bucket := newBucket(t)
	cnt := newCounter()
	cfg := testConfig(t)
	cfg.PartSize = 5 << 20
	cfg.WrapTransport = cnt.wrap
	st := newStore(t, cfg)
	ctx := context.Background()
	dir := t.TempDir()

	big := randomBytes(t, 12<<20)
	writeFile(t, filepath.Join(dir, "big.parquet"), big)
	if err := st.Upload(ctx, filepath.Join(dir, "big.parquet"), bucket, "out/big.parquet"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(get(t, bucket, "out/big.parquet"), big) {
		t.Error("multipart upload: content differs")
	}
	if cnt.method("POST ?uploads") != 1 || cnt.method("PUT ?uploadId") != 3 {
		t.Errorf("requests %v, want one multipart upload of 3 parts", cnt.methods)
	}

	smallData := []byte("hello")
	writeFile(t, filepath.Join(dir, "small.txt"), smallData)
	if err := st.Upload(ctx, filepath.Join(dir, "small.txt"), bucket, "out/small.txt"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(get(t, bucket, "out/small.txt"), smallData) {
		t.Error("small upload: content differs")
	}

	err := st.Upload(ctx, filepath.Join(dir, "missing"), bucket, "x")
	if pgerr.Code(err) != "58030" {
		t.Errorf("missing file: %v", err)
	}
}

func TestUploadRetries(t *testing.T) {
	bucket := newBucket(t)
	cnt := newCounter()
	var failures atomic.Int32
	cnt.hook = func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		if req.Method == http.MethodPut && failures.Add(1) <= 2 {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}
		}
		return next(req)
	}
	cfg := testConfig(t)
	cfg.PartSize = 5 << 20
	cfg.WrapTransport = cnt.wrap
	st := newStore(t, cfg)
	data := randomBytes(t, 11<<20)
	p := filepath.Join(t.TempDir(), "f.bin")
	writeFile(t, p, data)
	if err := st.Upload(context.Background(), p, bucket, "retried.bin"); err != nil {
		t.Fatalf("upload with 2 transient failures: %v", err)
	}
	if !bytes.Equal(get(t, bucket, "retried.bin"), data) {
		t.Error("content differs")
	}
	if failures.Load() < 3 {
		t.Errorf("only %d PUTs", failures.Load())
	}
}

func TestUploadDirAndDownloadPrefix(t *testing.T) {
	bucket := newBucket(t)
	cfg := testConfig(t)
	cfg.PartSize = 5 << 20
	st := newStore(t, cfg)
	ctx := context.Background()
	dir := t.TempDir()
	files := map[string][]byte{
		"day=2024-01-01/part-0.parquet": randomBytes(t, 100<<10),
		"day=2024-01-01/part-1.parquet": randomBytes(t, 7<<20),
		"day=2024-01-02/part-0.parquet": randomBytes(t, 10),
		"_meta.json":                    []byte("{}"),
	}
	for rel, b := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(rel)), b)
	}
	got, err := st.UploadDir(ctx, dir, bucket, "views/v1/version-3")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"views/v1/version-3/_meta.json", "views/v1/version-3/day=2024-01-01/part-0.parquet", "views/v1/version-3/day=2024-01-01/part-1.parquet", "views/v1/version-3/day=2024-01-02/part-0.parquet"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("keys %q, want %q", got, want)
	}
	if listed := keys(list(t, st, bucket, "views/**")); !reflect.DeepEqual(listed, want) {
		t.Errorf("listed %q", listed)
	}

	if lp, err := st.ListPrefix(ctx, bucket, "views/v1/version-3/day=2024-01-0"); err != nil || len(lp) != 3 {
		t.Errorf("ListPrefix: %q, %v", keys(lp), err)
	}

	// Restore on "a new machine".
	put(t, bucket, "views/v1/version-30/other", []byte("not below the prefix"))
	restore := filepath.Join(t.TempDir(), "restore")
	if err := st.DownloadPrefix(ctx, bucket, "views/v1/version-3", restore); err != nil {
		t.Fatal(err)
	}
	for rel, b := range files {
		if fileSum(t, filepath.Join(restore, filepath.FromSlash(rel))) != sum(b) {
			t.Errorf("restored %s differs", rel)
		}
	}
	var n int
	filepath.WalkDir(restore, func(_ string, d os.DirEntry, _ error) error {
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if n != len(files) {
		t.Errorf("restored %d files, want %d", n, len(files))
	}

	// DeletePrefix is by directory: version-30 survives version-3.
	if err := st.DeletePrefix(ctx, bucket, "views/v1/version-3"); err != nil {
		t.Fatal(err)
	}
	if left := keys(list(t, st, bucket, "views/**")); !reflect.DeepEqual(left, []string{"views/v1/version-30/other"}) {
		t.Errorf("after DeletePrefix: %q", left)
	}
	if err := st.DeletePrefix(ctx, bucket, ""); pgerr.Code(err) != "22023" {
		t.Errorf("DeletePrefix of the whole bucket: %v", err)
	}
	if err := st.Delete(ctx, bucket, []string{"views/v1/version-30/other", "never-existed"}); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if left := list(t, st, bucket, "**"); len(left) != 0 {
		t.Errorf("after Delete: %q", keys(left))
	}
}

func TestUploadDirFailureCleansUp(t *testing.T) {
	bucket := newBucket(t)
	cnt := newCounter()
	cnt.hook = func(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		if req.Method == http.MethodPut && strings.HasSuffix(req.URL.Path, "/bad.bin") {
			time.Sleep(200 * time.Millisecond) // let the others get stored first
			return &http.Response{
				StatusCode: http.StatusForbidden,
				Header:     http.Header{"Content-Type": {"application/xml"}},
				Body:       io.NopCloser(strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)),
				Request:    req,
			}, nil
		}
		return next(req)
	}
	cfg := testConfig(t)
	cfg.WrapTransport = cnt.wrap
	st := newStore(t, cfg)
	dir := t.TempDir()
	for i, name := range []string{"a.bin", "b.bin", "c.bin", "bad.bin", "d/e.bin"} {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), bytes.Repeat([]byte{byte(i)}, 1000))
	}
	_, err := st.UploadDir(context.Background(), dir, bucket, "out")
	if err == nil || pgerr.Code(err) != "58030" || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("UploadDir: %v (%s)", err, pgerr.Code(err))
	}
	if left := list(t, st, bucket, "**"); len(left) != 0 {
		t.Errorf("objects left after the failed upload: %q", keys(left))
	}
}

func TestUnreachable(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	// A server that accepts connections and never answers.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()

	for _, tc := range []struct{ name, endpoint string }{
		{"refused", closed},
		{"mute", mute.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := s3.New(s3.Config{Endpoint: tc.endpoint, Region: "us-east-1", AccessKey: "k", SecretKey: "never-shown", CacheDir: t.TempDir(), Timeout: time.Second}, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			_, err = st.List(context.Background(), "bucket", "**")
			d := time.Since(t0)
			t.Logf("%s after %s", err, d)
			if pgerr.Code(err) != "08001" || !strings.Contains(err.Error(), tc.endpoint) {
				t.Errorf("List: %v (%s), want 08001 naming the endpoint", err, pgerr.Code(err))
			}
			if d > 3*time.Second {
				t.Errorf("List took %s with timeout 1s", d)
			}
			if strings.Contains(err.Error(), "never-shown") {
				t.Error("error shows the secret")
			}
		})
	}
}

func TestWrongCredentials(t *testing.T) {
	bucket := newBucket(t)
	cfg := testConfig(t)
	cfg.SecretKey = "wrong-secret-value"
	st := newStore(t, cfg)
	t0 := time.Now()
	_, err := st.List(context.Background(), bucket, "**")
	if err == nil || !strings.Contains(err.Error(), "credentials") || !strings.Contains(err.Error(), "object_storage.secret_key") {
		t.Fatalf("List with a wrong secret: %v", err)
	}
	t.Log(err)
	if pgerr.Code(err) != "58030" {
		t.Errorf("code %s", pgerr.Code(err))
	}
	if strings.Contains(err.Error(), "wrong-secret-value") {
		t.Error("error shows the secret")
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("took %s", d)
	}

	cfg.AccessKey = "unknown-key"
	st = newStore(t, cfg)
	_, err = st.List(context.Background(), bucket, "**")
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("List with an unknown access key: %v", err)
	}
}

func TestCacheRecoversFromCrash(t *testing.T) {
	bucket := newBucket(t)
	put(t, bucket, "k/a.bin", []byte("aaaa"))
	put(t, bucket, "k/b.bin", []byte("bbbb"))
	cfg := testConfig(t)
	st := newStore(t, cfg)
	objs := list(t, st, bucket, "k/*")
	paths, release, err := st.Fetch(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	release()
	// Simulate a crash in the middle of replacing b: a truncated file, and
	// an unrelated file in the cache directory, and a stray temporary file.
	if err := os.WriteFile(paths[1], []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(cfg.CacheDir, "not-ours.txt"), []byte("x"))
	writeFile(t, filepath.Join(cfg.CacheDir, ".sluice-cache", "tmp", "dl-123"), []byte("partial"))

	cnt := newCounter()
	cfg.WrapTransport = cnt.wrap
	st2 := newStore(t, cfg)
	if s := st2.CacheStats(); s.Objects != 1 || s.Bytes != 4 {
		t.Errorf("stats after restart: %+v (want only a)", s)
	}
	paths, release, err = st2.Fetch(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if b, _ := os.ReadFile(paths[1]); string(b) != "bbbb" {
		t.Errorf("b = %q", b)
	}
	if cnt.getsOf("k/a.bin") != 0 || cnt.getsOf("k/b.bin") != 1 {
		t.Errorf("GETs %v, want only b", cnt.gets)
	}
	if _, err := os.Stat(filepath.Join(cfg.CacheDir, "not-ours.txt")); err != nil {
		t.Error("a file the cache does not own was removed")
	}
	if entries, _ := os.ReadDir(filepath.Join(cfg.CacheDir, ".sluice-cache", "tmp")); len(entries) != 0 {
		t.Errorf("stray temporary files kept: %v", entries)
	}
}

func TestFetchRejectsUnsafeKeys(t *testing.T) {
	st := newStore(t, testConfig(t))
	for _, key := range []string{"../escape", "a/../../b", "a//b", "./a"} {
		_, _, err := st.Fetch(context.Background(), []s3.Object{{Bucket: "bucket", Key: key, Size: 1}})
		if err == nil || !strings.Contains(err.Error(), "cannot be stored as a local file") {
			t.Errorf("key %q: %v", key, err)
		}
	}
}

// TestFetchEvictionStress: concurrent Fetches of random objects through a
// cache that holds a fraction of them; a pinned file is never evicted nor
// changed under its reader.
func TestFetchEvictionStress(t *testing.T) {
	bucket := newBucket(t)
	const n, size = 10, 256 << 10
	want := map[string][32]byte{}
	for i := range n {
		b := randomBytes(t, size)
		k := "s/" + string(rune('a'+i)) + ".bin"
		put(t, bucket, k, b)
		want[k] = sum(b)
	}
	cfg := testConfig(t)
	cfg.CacheSize = 6 * size // 3 workers x 2 pinned objects fit exactly
	st := newStore(t, cfg)
	objs := list(t, st, bucket, "s/*")

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				pick := []s3.Object{objs[(w*7+i*3)%n], objs[(w*5+i*7+1)%n]}
				if pick[0].Key == pick[1].Key {
					pick = pick[:1]
				}
				paths, release, err := st.Fetch(context.Background(), pick)
				if err != nil {
					errs <- err
					return
				}
				for j, p := range paths {
					if fileSum(t, p) != want[pick[j].Key] {
						errs <- errors.New("content of " + pick[j].Key + " changed while pinned")
					}
				}
				release()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := st.CacheStats(); s.Bytes > cfg.CacheSize || s.Pinned != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestFetchRedownloadsRemovedFile(t *testing.T) {
	bucket := newBucket(t)
	put(t, bucket, "f.bin", []byte("content"))
	cnt := newCounter()
	cfg := testConfig(t)
	cfg.WrapTransport = cnt.wrap
	st := newStore(t, cfg)
	objs := list(t, st, bucket, "f.bin")
	paths, release, err := st.Fetch(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	release()
	os.Remove(paths[0]) // someone cleaned the directory
	paths, release, err = st.Fetch(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if b, _ := os.ReadFile(paths[0]); string(b) != "content" || cnt.getsOf("f.bin") != 2 {
		t.Errorf("content %q after %d GETs", b, cnt.getsOf("f.bin"))
	}
}
