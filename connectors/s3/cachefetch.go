package s3

// Fetch: pinning the cached files a query reads and downloading those
// missing or changed, each download shared by the Fetches that wait for
// it and reverted when it fails or every waiter gives up.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Fetch makes each object available as a local file in the cache,
// downloading those missing or changed (another ETag or size), and returns
// their paths in the order of objs. The files stay pinned, never evicted,
// until release is called (release may be called more than once). Two
// Fetches needing the same object share one download. When the pinned
// files (this Fetch's and those of Fetches not yet released) would exceed
// object_storage.cache_size, the error is 53100.
func (s *Store) Fetch(ctx context.Context, objs []Object) (paths []string, release func(), err error) {
	c := s.cache
	type want struct {
		obj Object
		e   *entry
		dl  *download // joined and not yet finished
	}
	paths = make([]string, len(objs))
	byID := map[string]*want{}
	var wants []*want
	var total int64
	for i, o := range objs {
		if err := CheckBucket(o.Bucket); err != nil {
			return nil, nil, err
		}
		rel, err := localRel(o.Key)
		if err != nil {
			return nil, nil, err
		}
		if o.Size < 0 {
			return nil, nil, pgerr.New(pgerrcode.InvalidParameterValue, "object %s has a negative size", o.URL())
		}
		paths[i] = filepath.Join(c.dir, o.Bucket, rel)
		id := o.Bucket + "/" + o.Key
		if byID[id] == nil {
			w := &want{obj: o}
			byID[id] = w
			wants = append(wants, w)
			total += o.Size
		}
	}
	if ctx.Err() != nil {
		return nil, nil, s.fail(ctx, "fetching", "", "", ctx.Err())
	}

	c.mu.Lock()
	for _, w := range wants {
		w.e = c.entryLocked(w.obj.Bucket, w.obj.Key)
		c.pinLocked(w.e)
	}
	c.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			c.mu.Lock()
			for _, w := range wants {
				if w.dl != nil {
					c.leaveLocked(w.e, w.dl)
					w.dl = nil
				}
				c.unpinLocked(w.e)
			}
			c.evictLocked()
			c.mu.Unlock()
		})
	}

	start := time.Now()
	var downloaded, nbytes int64
	pending := wants
	for first := true; len(pending) > 0; first = false {
		var launch []*want
		c.mu.Lock()
		var need int64
		var todo []*want
		for _, w := range pending {
			e := w.e
			switch {
			case e.dl != nil:
				e.dl.waiters++
				w.dl = e.dl
			case e.ready && e.etag == w.obj.ETag && e.size == w.obj.Size && c.intactLocked(e):
				if first {
					c.hits++
				}
			default:
				need += max(0, w.obj.Size-e.size)
				todo = append(todo, w)
			}
		}
		if c.pinned+need > c.capacity {
			pinned, capacity := c.pinned, c.capacity
			c.mu.Unlock()
			release()
			return nil, nil, c.fullError(total, pinned+need-total, capacity)
		}
		for _, w := range todo {
			w.dl = c.startLocked(ctx, w.e, w.obj)
			launch = append(launch, w)
			c.misses++
		}
		c.evictLocked()
		c.mu.Unlock()
		for _, w := range launch {
			go s.runDownload(w.e, w.dl)
			downloaded++
			nbytes += w.obj.Size
		}

		var again []*want
		for _, w := range pending {
			dl := w.dl
			if dl == nil {
				continue
			}
			select {
			case <-dl.done:
			case <-ctx.Done():
				release()
				return nil, nil, s.fail(ctx, "fetching", w.obj.Bucket, w.obj.Key, ctx.Err())
			}
			c.mu.Lock()
			w.dl = nil
			c.mu.Unlock()
			switch {
			case errors.Is(dl.err, errAbandoned):
				again = append(again, w)
			case dl.err != nil:
				release()
				return nil, nil, dl.err
			case dl.obj.ETag != w.obj.ETag || dl.obj.Size != w.obj.Size:
				// Another Fetch's version of the object: check again.
				again = append(again, w)
			}
		}
		pending = again
	}
	if downloaded > 0 {
		s.log.Debug("fetched objects", "objects", len(wants), "downloaded", downloaded, "bytes", nbytes, "duration", time.Since(start))
	}
	return paths, release, nil
}

// intactLocked reports whether a ready entry's file is still there with
// its size; if not (removed behind the cache's back) the entry is marked
// missing so that it is downloaded again.
func (c *cache) intactLocked(e *entry) bool {
	fi, err := os.Lstat(e.path)
	if err == nil && fi.Mode().IsRegular() && fi.Size() == e.size {
		return true
	}
	c.s.log.Warn("cached object file missing or changed; downloading it again", "path", e.path)
	os.Remove(e.meta)
	e.ready = false
	return false
}

// fullError is the 53100 error of a Fetch that does not fit.
func (c *cache) fullError(need, others, capacity int64) error {
	if need > capacity {
		return pgerr.New(pgerrcode.DiskFull,
			"the object storage cache cannot hold the files this query reads: it needs %s, object_storage.cache_size is %s; raise object_storage.cache_size or read fewer files",
			humanize.IBytes(uint64(need)), humanize.IBytes(uint64(capacity)))
	}
	return pgerr.New(pgerrcode.DiskFull,
		"the object storage cache cannot hold the files this query reads: it needs %s while running queries hold %s of object_storage.cache_size %s; retry later or raise object_storage.cache_size",
		humanize.IBytes(uint64(need)), humanize.IBytes(uint64(max(0, others))), humanize.IBytes(uint64(capacity)))
}

// startLocked begins downloading obj into e, reserving its size.
func (c *cache) startLocked(ctx context.Context, e *entry, obj Object) *download {
	dl := &download{
		obj:       obj,
		waiters:   1,
		done:      make(chan struct{}),
		prevETag:  e.etag,
		prevSize:  e.size,
		prevReady: e.ready,
	}
	// The download outlives the Fetch that started it if others wait for it.
	dl.ctx, dl.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c.setSizeLocked(e, max(e.size, obj.Size))
	e.dl = dl
	return dl
}

// leaveLocked is a waiter giving up on dl; the last one cancels it.
func (c *cache) leaveLocked(e *entry, dl *download) {
	select {
	case <-dl.done:
		return
	default:
	}
	dl.waiters--
	if dl.waiters == 0 && e.dl == dl {
		dl.cancel()
		c.revertLocked(e, dl)
	}
}

// revertLocked restores the entry as it was before dl.
func (c *cache) revertLocked(e *entry, dl *download) {
	e.dl = nil
	e.etag, e.ready = dl.prevETag, dl.prevReady
	c.setSizeLocked(e, dl.prevSize)
	if !e.ready && e.pins == 0 {
		c.removeLocked(e)
	}
}

// runDownload fetches dl.obj into a temporary file and installs it.
func (s *Store) runDownload(e *entry, dl *download) {
	c := s.cache
	var tmp string
	err := func() error {
		select {
		case s.files <- struct{}{}:
		case <-dl.ctx.Done():
			return dl.ctx.Err()
		}
		defer func() { <-s.files }()
		f, err := os.CreateTemp(c.tmpDir, "dl-*")
		if err != nil {
			return &localError{err}
		}
		tmp = f.Name()
		err = s.downloadTo(dl.ctx, dl.obj, f)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = &localError{cerr}
		}
		if err == nil {
			if fi, serr := os.Stat(tmp); serr != nil || fi.Size() != dl.obj.Size {
				err = errorf("downloading %s: got a file of another size than listed (%d bytes)", dl.obj.URL(), dl.obj.Size)
			}
		}
		return err
	}()

	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(dl.done)
	if e.dl != dl {
		// Abandoned by every waiter; the entry was already reverted.
		if tmp != "" {
			os.Remove(tmp)
		}
		dl.err = errAbandoned
		return
	}
	if err == nil {
		err = c.installLocked(e, dl.obj, tmp)
	}
	if err != nil {
		if tmp != "" {
			os.Remove(tmp)
		}
		dl.err = s.fail(dl.ctx, "downloading", dl.obj.Bucket, dl.obj.Key, err)
		c.revertLocked(e, dl)
		return
	}
	c.downloaded += dl.obj.Size
	e.dl = nil
}
