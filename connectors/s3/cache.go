package s3

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// The cache keeps object s3://b/k as the file CacheDir/b/k, so key=value
// directories stay intact for hive partitioning. Its index lives in memory
// and in one sidecar file per object under CacheDir/.sluice-cache/meta
// (named by a hash of bucket and key, holding the ETag and size), so a
// restart finds what is already downloaded. Downloads go to
// CacheDir/.sluice-cache/tmp and are renamed into place: a reader never
// sees a partial file.
//
// Crash safety: a sidecar is rewritten as "incomplete" before its data
// file is replaced and as complete after; at start, incomplete entries and
// entries whose file is missing or of another size are removed. Files in
// CacheDir without a sidecar are not the cache's and are left alone.
const sidecarDir = ".sluice-cache"

type cache struct {
	s        *Store
	dir      string // CacheDir, absolute
	metaDir  string
	tmpDir   string
	capacity int64

	mu      sync.Mutex
	entries map[string]*entry // by bucket + "/" + key
	lru     list.List         // of *entry, most recently used first
	used    int64             // sum of the entries' sizes
	pinned  int64             // sum of the sizes of pinned entries
}

// entry is one cached object.
type entry struct {
	bucket, key string
	path        string // data file
	meta        string // sidecar file
	etag        string // of the file on disk, when ready
	size        int64  // bytes accounted: the file's, or reserved for a download
	ready       bool   // the file on disk holds etag
	pins        int    // Fetches that returned it and have not released it
	dl          *download
	elem        *list.Element
}

// download is one object being fetched into the cache, shared by every
// Fetch that needs it. It runs on its own context, canceled when the last
// Fetch waiting for it gives up.
type download struct {
	obj     Object
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
	done    chan struct{}
	err     error // set before done is closed
	// prev is the entry as it was before the download, restored if it fails.
	prevETag  string
	prevSize  int64
	prevReady bool
}

// sidecar is the content of a sidecar file.
type sidecar struct {
	Bucket   string    `json:"bucket"`
	Key      string    `json:"key"`
	ETag     string    `json:"etag"`
	Size     int64     `json:"size"`
	Complete bool      `json:"complete"`
	Stored   time.Time `json:"stored"`
}

func openCache(s *Store, dir string, capacity int64) (*cache, error) {
	c := &cache{
		s:        s,
		dir:      dir,
		metaDir:  filepath.Join(dir, sidecarDir, "meta"),
		tmpDir:   filepath.Join(dir, sidecarDir, "tmp"),
		capacity: capacity,
		entries:  map[string]*entry{},
	}
	if err := os.MkdirAll(c.metaDir, 0o755); err != nil {
		return nil, configError("cache_dir", "cannot create %s: %v", c.metaDir, err)
	}
	// Leftovers of downloads interrupted by a crash.
	if err := os.RemoveAll(c.tmpDir); err != nil {
		return nil, configError("cache_dir", "cannot clear %s: %v", c.tmpDir, err)
	}
	if err := os.MkdirAll(c.tmpDir, 0o755); err != nil {
		return nil, configError("cache_dir", "cannot create %s: %v", c.tmpDir, err)
	}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// load rebuilds the index from the sidecars, oldest first in the LRU.
func (c *cache) load() error {
	type found struct {
		sc   sidecar
		meta string
	}
	var all []found
	dropped := 0
	err := filepath.WalkDir(c.metaDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, rerr := os.ReadFile(p)
		var sc sidecar
		if rerr != nil || json.Unmarshal(b, &sc) != nil || CheckBucket(sc.Bucket) != nil || p != c.metaPath(sc.Bucket, sc.Key) {
			os.Remove(p)
			dropped++
			return nil
		}
		rel, kerr := localRel(sc.Key)
		if kerr != nil {
			os.Remove(p)
			dropped++
			return nil
		}
		data := filepath.Join(c.dir, sc.Bucket, rel)
		fi, serr := os.Lstat(data)
		if !sc.Complete || serr != nil || !fi.Mode().IsRegular() || fi.Size() != sc.Size {
			if serr == nil && fi.Mode().IsRegular() {
				os.Remove(data)
			}
			os.Remove(p)
			dropped++
			return nil
		}
		all = append(all, found{sc, p})
		return nil
	})
	if err != nil {
		return configError("cache_dir", "cannot read the cache index in %s: %v", c.metaDir, err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].sc.Stored.Before(all[j].sc.Stored) })
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range all {
		e := c.entryLocked(f.sc.Bucket, f.sc.Key)
		e.etag, e.ready = f.sc.ETag, true
		c.setSizeLocked(e, f.sc.Size)
	}
	c.evictLocked()
	c.s.log.Info("object storage cache opened", "dir", c.dir, "objects", len(c.entries), "bytes", c.used, "capacity", c.capacity, "dropped", dropped)
	return nil
}

func (c *cache) metaPath(bucket, key string) string {
	h := sha256.Sum256([]byte(bucket + "/" + key))
	x := hex.EncodeToString(h[:])
	return filepath.Join(c.metaDir, x[:2], x+".json")
}

// entryLocked returns the entry of bucket/key, creating an empty one.
func (c *cache) entryLocked(bucket, key string) *entry {
	id := bucket + "/" + key
	if e := c.entries[id]; e != nil {
		return e
	}
	e := &entry{bucket: bucket, key: key, meta: c.metaPath(bucket, key)}
	rel, _ := localRel(key) // checked by the caller
	e.path = filepath.Join(c.dir, bucket, rel)
	e.elem = c.lru.PushFront(e)
	c.entries[id] = e
	return e
}

func (c *cache) setSizeLocked(e *entry, n int64) {
	d := n - e.size
	e.size = n
	c.used += d
	if e.pins > 0 {
		c.pinned += d
	}
}

func (c *cache) pinLocked(e *entry) {
	if e.pins == 0 {
		c.pinned += e.size
	}
	e.pins++
	c.lru.MoveToFront(e.elem)
}

func (c *cache) unpinLocked(e *entry) {
	e.pins--
	if e.pins == 0 {
		c.pinned -= e.size
		if !e.ready && e.dl == nil {
			c.removeLocked(e)
		}
	}
}

// evictLocked removes least recently used entries that are neither pinned
// nor downloading until the cache fits its capacity.
func (c *cache) evictLocked() {
	for el := c.lru.Back(); el != nil && c.used > c.capacity; {
		prev := el.Prev()
		if e := el.Value.(*entry); e.pins == 0 && e.dl == nil {
			c.s.log.Debug("evicting cached object", "object", "s3://"+e.bucket+"/"+e.key, "bytes", e.size)
			c.removeLocked(e)
		}
		el = prev
	}
}

// removeLocked deletes an entry, its file, its sidecar and the directories
// its removal left empty.
func (c *cache) removeLocked(e *entry) {
	if e.ready {
		if err := os.Remove(e.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.s.log.Warn("cannot remove cached object", "path", e.path, "err", err)
		}
		removeEmptyDirs(filepath.Dir(e.path), c.dir)
	}
	os.Remove(e.meta)
	c.setSizeLocked(e, 0)
	c.lru.Remove(e.elem)
	delete(c.entries, e.bucket+"/"+e.key)
}

// removeEmptyDirs removes dir and its empty parents, stopping below root.
func removeEmptyDirs(dir, root string) {
	for dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

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
	for len(pending) > 0 {
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
	e.dl = nil
}

// installLocked renames the downloaded tmp file into place, bracketed by
// sidecar writes (see the crash-safety note above).
func (c *cache) installLocked(e *entry, obj Object, tmp string) error {
	sc := sidecar{Bucket: obj.Bucket, Key: obj.Key, ETag: obj.ETag, Size: obj.Size, Stored: time.Now().UTC()}
	if err := writeSidecar(e.meta, sc); err != nil {
		return &localError{err}
	}
	if err := os.MkdirAll(filepath.Dir(e.path), 0o755); err != nil {
		return c.conflict(e, err)
	}
	if err := os.Rename(tmp, e.path); err != nil {
		return c.conflict(e, err)
	}
	sc.Complete = true
	if err := writeSidecar(e.meta, sc); err != nil {
		return &localError{err}
	}
	e.etag, e.ready = obj.ETag, true
	c.setSizeLocked(e, obj.Size)
	return nil
}

// conflict explains a key that cannot be a file because another key uses
// its name as a directory, or the reverse (S3 allows both "a" and "a/b").
func (c *cache) conflict(e *entry, err error) error {
	if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrNotExist) || isNotDir(err) || isDir(e.path) {
		return errorf("cannot cache s3://%s/%s as %s: another object's key uses it as a directory or a file (S3 allows both \"a\" and \"a/b\", a file system does not)", e.bucket, e.key, e.path)
	}
	return &localError{err}
}

func isNotDir(err error) bool {
	return errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

func writeSidecar(path string, sc sidecar) error {
	b, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// CacheStats describes the cache.
type CacheStats struct {
	Objects  int
	Bytes    int64 // used, including reservations of running downloads
	Pinned   int64
	Capacity int64
}

// CacheStats returns the cache's current use.
func (s *Store) CacheStats() CacheStats {
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Objects: len(c.entries), Bytes: c.used, Pinned: c.pinned, Capacity: c.capacity}
}
