package s3

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// downloadTo writes o's bytes into w, fetching ranges of the part size
// concurrently; each range holds one of the store's slots while it reads.
// Every range asks for o.ETag, so an object replaced meanwhile fails
// (PreconditionFailed) instead of mixing two versions. Errors are raw; the
// caller translates them.
func (s *Store) downloadTo(ctx context.Context, o Object, w io.WriterAt) error {
	if o.Size == 0 {
		return nil
	}
	ps := s.partSize(o.Size)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	for off := int64(0); off < o.Size; off += ps {
		n := min(ps, o.Size-off)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.getRange(ctx, o, w, off, n); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

// getRange reads bytes [off, off+n) of o into w, resuming where a broken
// response stopped, at most Retries more times.
func (s *Store) getRange(ctx context.Context, o Object, w io.WriterAt, off, n int64) error {
	for attempt := 0; ; attempt++ {
		if err := s.slots.acquire(ctx, 1); err != nil {
			return err
		}
		got, requested, err := s.readRange(ctx, o, w, off, n)
		s.slots.release(1)
		if err == nil {
			return nil
		}
		off, n = off+got, n-got
		// A failed request was already retried by the client; a response
		// that broke off (or stalled) is retried here.
		if !requested || ctx.Err() != nil || !retryable(err) || attempt >= s.cfg.Retries {
			return err
		}
		s.log.Debug("retrying range read", "object", o.URL(), "offset", off, "bytes", n, "attempt", attempt+1, "err", err)
		backoff := time.Duration(100<<attempt) * time.Millisecond
		backoff = min(backoff, 2*time.Second)
		backoff = backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readRange issues one GET for [off, off+n) and copies the body into w. It
// returns the bytes written and whether a response arrived at all.
func (s *Store) readRange(ctx context.Context, o Object, w io.WriterAt, off, n int64) (int64, bool, error) {
	rctx, wd, stop := s.watch(ctx, false)
	defer stop()
	var opts minio.GetObjectOptions
	if o.ETag != "" {
		if err := opts.SetMatchETag(o.ETag); err != nil {
			return 0, false, err
		}
	}
	whole := off == 0 && n == o.Size
	if !whole {
		if err := opts.SetRange(off, off+n-1); err != nil {
			return 0, false, err
		}
	}
	body, _, hdr, err := s.core.GetObject(rctx, o.Bucket, o.Key, opts)
	if err != nil {
		return 0, false, err
	}
	defer body.Close()
	if !whole && hdr.Get("Content-Range") == "" {
		return 0, true, errorf("reading %s: object storage at %s ignored the Range header", o.URL(), s.host)
	}
	wd.kick()
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	var got int64
	for got < n {
		m, rerr := body.Read(buf[:min(int64(len(buf)), n-got)])
		if m > 0 {
			if _, werr := w.WriteAt(buf[:m], off+got); werr != nil {
				return got, true, &localError{werr}
			}
			got += int64(m)
			wd.kick()
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return got, true, wd.check(rerr)
		}
	}
	if got < n {
		return got, true, errShortBody
	}
	return got, true, nil
}

// errAbandoned ends a download every waiter gave up on.
var errAbandoned = errors.New("download abandoned")

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
