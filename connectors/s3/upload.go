package s3

// Uploading: one file (multipart above the part size) or a directory's
// files in parallel.

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/minio/minio-go/v7"

	"github.com/sluice-db/sluice/internal/pgerr"
)

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
