package s3

import (
	"context"
	"crypto/tls"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Object is one stored object as a listing reports it.
type Object struct {
	Bucket  string
	Key     string
	Size    int64
	ETag    string // without quotes; "" if the server gave none
	ModTime time.Time
}

// URL is the object's s3:// URL.
func (o Object) URL() string { return Scheme + o.Bucket + "/" + o.Key }

// Store reads and writes one object storage endpoint and keeps the local
// cache of downloaded objects. It is safe for concurrent use.
type Store struct {
	cfg    Config
	host   string // endpoint host:port, for messages
	log    *slog.Logger
	client *minio.Client
	core   minio.Core
	slots  *slots        // range GETs and upload parts in flight
	files  chan struct{} // object downloads with an open file
	cache  *cache
	bufs   sync.Pool // *[]byte copy buffers
	// lastNetErr is the latest failure to connect, to explain a timeout.
	lastNetErr atomic.Pointer[netErr]
}

type netErr struct {
	err error
	at  time.Time
}

// errRecorder remembers the last connection failure of the transport.
type errRecorder struct {
	base http.RoundTripper
	last *atomic.Pointer[netErr]
}

func (r *errRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil && unreachable(err) {
		r.last.Store(&netErr{err: err, at: time.Now()})
	}
	return resp, err
}

// recentNetErr is the connection failure of the last timeout, if any.
func (s *Store) recentNetErr() error {
	if ne := s.lastNetErr.Load(); ne != nil && time.Since(ne.at) <= 2*s.cfg.Timeout {
		return ne.err
	}
	return nil
}

// copyBufSize is the buffer a range read copies through.
const copyBufSize = 256 << 10

// New validates cfg, fills its defaults, and opens the cache in
// cfg.CacheDir, rebuilding its index from the sidecar files there. It does
// not contact the endpoint: the first request does.
func New(cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, secure, _ := cfg.endpoint()
	roots, err := cfg.rootCAs() // validated: only the file may have changed since
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.CacheDir)
	if err != nil {
		return nil, configError("cache_dir", "%v", err)
	}
	cfg.CacheDir = dir

	var transport http.RoundTripper = &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   cfg.Timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          4 * cfg.Parallel,
		MaxIdleConnsPerHost:   4 * cfg.Parallel,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ReadBufferSize:        128 << 10,
		WriteBufferSize:       128 << 10,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
	}
	s := &Store{}
	transport = &errRecorder{base: transport, last: &s.lastNetErr}
	if cfg.WrapTransport != nil {
		transport = cfg.WrapTransport(transport)
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	} else {
		creds = credentials.New(&credentials.Static{Value: credentials.Value{SignerType: credentials.SignatureAnonymous}})
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Transport:    transport,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupAuto,
		MaxRetries:   cfg.Retries + 1,
	})
	if err != nil {
		return nil, configError("endpoint", "%v", err)
	}
	s.cfg = cfg
	s.host = host
	s.log = logger
	s.client = client
	s.core = minio.Core{Client: client}
	s.slots = newSlots(cfg.Parallel)
	s.files = make(chan struct{}, 2*cfg.Parallel)
	s.bufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	s.cache, err = openCache(s, dir, cfg.CacheSize)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Config is the store's configuration with its defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// List returns the objects of bucket whose keys match pattern (see Match),
// sorted by key. Keys ending in a slash (folder markers) are left out. An
// endpoint that does not answer is a 08001 error after the timeout.
func (s *Store) List(ctx context.Context, bucket, pattern string) ([]Object, error) {
	if err := CheckBucket(bucket); err != nil {
		return nil, err
	}
	if err := CheckPattern(pattern); err != nil {
		return nil, err
	}
	segs := strings.Split(pattern, "/")
	var out []Object
	err := s.listPrefix(ctx, bucket, LiteralPrefix(pattern), func(o Object) {
		if matchSegs(segs, strings.Split(o.Key, "/")) {
			out = append(out, o)
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// ListPrefix returns every object whose key starts with prefix, taken
// literally (no pattern characters; "a/b" also lists "a/b2/x": end it with
// a slash for a directory), sorted by key.
func (s *Store) ListPrefix(ctx context.Context, bucket, prefix string) ([]Object, error) {
	if err := CheckBucket(bucket); err != nil {
		return nil, err
	}
	var out []Object
	if err := s.listPrefix(ctx, bucket, prefix, func(o Object) { out = append(out, o) }); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// listPrefix calls fn with every object under prefix. A page that does not
// arrive within the timeout ends the listing.
func (s *Store) listPrefix(ctx context.Context, bucket, prefix string, fn func(Object)) error {
	lctx, wd, stop := s.watch(ctx, true)
	defer stop()
	for info := range s.client.ListObjects(lctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return s.fail(ctx, "listing", bucket, prefix, wd.check(info.Err))
		}
		wd.kick()
		if strings.HasSuffix(info.Key, "/") {
			continue
		}
		fn(Object{Bucket: bucket, Key: info.Key, Size: info.Size, ETag: strings.Trim(info.ETag, `"`), ModTime: info.LastModified})
	}
	if wd.fired.Load() {
		return s.fail(ctx, "listing", bucket, prefix, wd.check(context.Canceled))
	}
	if ctx.Err() != nil {
		return s.fail(ctx, "listing", bucket, prefix, ctx.Err())
	}
	return nil
}

// dirPrefix makes prefix name a directory: "a/b" and "a/b/" both become
// "a/b/", so a/b10/ is not under a/b.
func dirPrefix(prefix string) string {
	prefix = strings.TrimLeft(prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return prefix
}

// Delete removes keys from bucket. Keys that do not exist are not an error.
func (s *Store) Delete(ctx context.Context, bucket string, keys []string) error {
	if err := CheckBucket(bucket); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	dctx, wd, stop := s.watch(ctx, true)
	defer stop()
	in := make(chan minio.ObjectInfo)
	go func() {
		defer close(in)
		for _, k := range keys {
			select {
			case in <- minio.ObjectInfo{Key: k}:
				wd.kick()
			case <-dctx.Done():
				return
			}
		}
	}()
	var first error
	for e := range s.client.RemoveObjects(dctx, bucket, in, minio.RemoveObjectsOptions{}) {
		if e.Err == nil || minio.ToErrorResponse(e.Err).Code == "NoSuchKey" {
			continue
		}
		if first == nil {
			first = s.fail(ctx, "deleting", bucket, e.ObjectName, wd.check(e.Err))
		}
	}
	if first == nil && (wd.fired.Load() || ctx.Err() != nil) {
		first = s.fail(ctx, "deleting", bucket, "", wd.check(context.Canceled))
	}
	return first
}

// DeletePrefix removes every object below the directory prefix ("a/b"
// means a/b/..., never a/b2/...). An empty prefix, the whole bucket, is
// refused.
func (s *Store) DeletePrefix(ctx context.Context, bucket, prefix string) error {
	prefix = dirPrefix(prefix)
	if prefix == "" {
		return pgerr.New(pgerrcode.InvalidParameterValue, "refusing to delete every object of bucket %q: give a prefix", bucket)
	}
	if err := CheckBucket(bucket); err != nil {
		return err
	}
	var keys []string
	if err := s.listPrefix(ctx, bucket, prefix, func(o Object) { keys = append(keys, o.Key) }); err != nil {
		return err
	}
	return s.Delete(ctx, bucket, keys)
}

// partSize is the part size used for an object of size bytes: the
// configured one, raised when S3's 10,000 parts would not hold the object.
func (s *Store) partSize(size int64) int64 {
	ps := s.cfg.PartSize
	if min := (size + maxParts - 1) / maxParts; min > ps {
		ps = (min + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return ps
}

// Upload stores the local file at s3://bucket/key. Files larger than the
// part size go up as a multipart upload with up to Parallel parts in
// flight; each request is retried with backoff on transient failures.
func (s *Store) Upload(ctx context.Context, localPath, bucket, key string) error {
	if err := CheckBucket(bucket); err != nil {
		return err
	}
	if key == "" || len(key) > 1024 {
		return pgerr.New(pgerrcode.InvalidParameterValue, "invalid object key %q: must be 1 to 1024 bytes", key)
	}
	f, err := os.Open(localPath)
	if err != nil {
		return s.fail(ctx, "uploading", bucket, key, &localError{err})
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return s.fail(ctx, "uploading", bucket, key, &localError{err})
	}
	if !fi.Mode().IsRegular() {
		return pgerr.New(pgerrcode.IOError, "uploading %s to s3://%s/%s: not a regular file", localPath, bucket, key)
	}
	size := fi.Size()
	opts := minio.PutObjectOptions{ContentType: contentType(key)}
	weight := 1
	if ps := s.partSize(size); size > ps {
		parts := int((size + ps - 1) / ps)
		weight = min(parts, s.cfg.Parallel)
		opts.PartSize = uint64(ps)
		opts.NumThreads = uint(weight)
	} else {
		opts.DisableMultipart = true
	}
	if err := s.slots.acquire(ctx, weight); err != nil {
		return s.fail(ctx, "uploading", bucket, key, err)
	}
	defer s.slots.release(weight)
	start := time.Now()
	if _, err := s.client.PutObject(ctx, bucket, key, f, size, opts); err != nil {
		return s.fail(ctx, "uploading", bucket, key, err)
	}
	s.log.Debug("uploaded object", "object", "s3://"+bucket+"/"+key, "bytes", size, "multipart", opts.PartSize > 0, "duration", time.Since(start))
	return nil
}

func contentType(key string) string {
	switch strings.ToLower(filepath.Ext(key)) {
	case ".parquet":
		return "application/vnd.apache.parquet"
	case ".json", ".ndjson", ".jsonl":
		return "application/json"
	case ".csv":
		return "text/csv"
	}
	return "application/octet-stream"
}

// UploadDir uploads every regular file below localDir to
// s3://bucket/prefix/<relative path>, files in parallel (bounded by
// Parallel over the store), and returns the keys, sorted, once all are
// stored. On an error it deletes what it uploaded, best effort, and
// returns the first error.
func (s *Store) UploadDir(ctx context.Context, localDir, bucket, prefix string) ([]string, error) {
	if err := CheckBucket(bucket); err != nil {
		return nil, err
	}
	prefix = dirPrefix(prefix)
	type file struct{ path, key string }
	var files []file
	err := filepath.WalkDir(localDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := os.Stat(p) // follows a symbolic link
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(localDir, p)
		if err != nil {
			return err
		}
		files = append(files, file{p, prefix + filepath.ToSlash(rel)})
		return nil
	})
	if err != nil {
		return nil, s.fail(ctx, "uploading directory to", bucket, prefix, &localError{err})
	}

	uctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		first    error
		uploaded []string
		wg       sync.WaitGroup
		next     = make(chan file)
	)
	for range min(len(files), s.cfg.Parallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				err := s.Upload(uctx, f.path, bucket, f.key)
				mu.Lock()
				if err == nil {
					uploaded = append(uploaded, f.key)
				} else if first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, f := range files {
		select {
		case next <- f:
		case <-uctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = s.fail(ctx, "uploading directory to", bucket, prefix, ctx.Err())
	}
	if first != nil {
		if len(uploaded) > 0 {
			dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*s.cfg.Timeout)
			if err := s.Delete(dctx, bucket, uploaded); err != nil {
				s.log.Warn("could not delete the objects of a failed directory upload", "bucket", bucket, "prefix", prefix, "objects", len(uploaded), "err", err)
			}
			dcancel()
		}
		return nil, first
	}
	sort.Strings(uploaded)
	return uploaded, nil
}

// DownloadPrefix restores every object below the directory prefix into
// localDir, keeping the key's path below the prefix, with parallel ranged
// GETs. Each file appears complete (written under a temporary name, then
// renamed). Existing files of the same name are replaced.
func (s *Store) DownloadPrefix(ctx context.Context, bucket, prefix, localDir string) error {
	if err := CheckBucket(bucket); err != nil {
		return err
	}
	prefix = dirPrefix(prefix)
	var objs []Object
	if err := s.listPrefix(ctx, bucket, prefix, func(o Object) { objs = append(objs, o) }); err != nil {
		return err
	}
	rels := make([]string, len(objs))
	for i, o := range objs {
		rel, err := localRel(strings.TrimPrefix(o.Key, prefix))
		if err != nil {
			return err
		}
		rels[i] = rel
	}
	if err := os.MkdirAll(localDir, 0o755); err != nil {
		return s.fail(ctx, "downloading", bucket, prefix, &localError{err})
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	for i, o := range objs {
		rel := rels[i]
		acquired := false
		select {
		case s.files <- struct{}{}:
			acquired = true
		case <-dctx.Done():
		}
		if !acquired {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.files }()
			if err := s.downloadFile(dctx, o, filepath.Join(localDir, rel)); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return s.fail(ctx, "downloading", bucket, prefix, first)
}

// downloadFile writes o to dest through a temporary file beside it.
func (s *Store) downloadFile(ctx context.Context, o Object, dest string) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return s.fail(ctx, "downloading", o.Bucket, o.Key, &localError{err})
	}
	f, err := os.CreateTemp(filepath.Dir(dest), ".sluice-download-*")
	if err != nil {
		return s.fail(ctx, "downloading", o.Bucket, o.Key, &localError{err})
	}
	tmp := f.Name()
	err = s.downloadTo(ctx, o, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = &localError{cerr}
	}
	if err == nil {
		if rerr := os.Rename(tmp, dest); rerr != nil {
			err = &localError{rerr}
		}
	}
	if err != nil {
		os.Remove(tmp)
		return s.fail(ctx, "downloading", o.Bucket, o.Key, err)
	}
	return nil
}

// errorf is a 58030 error.
func errorf(format string, args ...any) error {
	return pgerr.New(pgerrcode.IOError, format, args...)
}
