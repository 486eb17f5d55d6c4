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

	// Counters since the start, for metrics (guarded by mu).
	hits, misses, downloaded int64
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
	// Since the start: objects a Fetch found in the cache (Hits) or had
	// to download (Misses), and the bytes downloaded.
	Hits, Misses, DownloadedBytes int64
}

// CacheStats returns the cache's current use.
func (s *Store) CacheStats() CacheStats {
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Objects: len(c.entries), Bytes: c.used, Pinned: c.pinned, Capacity: c.capacity,
		Hits: c.hits, Misses: c.misses, DownloadedBytes: c.downloaded}
}
