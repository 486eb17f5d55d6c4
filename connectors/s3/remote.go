package s3

import (
	"context"
	"path"
	"strings"
	"time"

	"github.com/sluice-db/sluice/connectors/files"
)

// Keys lists every key below prefix (the store of outputs with a location:
// materialize.ObjectStore).
func (s *Store) Keys(ctx context.Context, bucket, prefix string) ([]string, error) {
	objs, err := s.ListPrefix(ctx, bucket, strings.TrimSuffix(prefix, "/")+"/")
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(objs))
	for i, obj := range objs {
		keys[i] = obj.Key
	}
	return keys, nil
}

// CacheDir is the local cache's directory.
func (s *Store) CacheDir() string { return s.cfg.CacheDir }

// Files returns the store as the FILES connector reads s3:// sources.
func (s *Store) Files() files.Remote { return remote{s} }

// remote adapts the store to the FILES connector.
type remote struct{ st *Store }

func (r remote) List(ctx context.Context, url string) ([]files.File, error) {
	bucket, pattern, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	objs, err := r.st.List(ctx, bucket, pattern)
	if err != nil {
		return nil, err
	}
	out := make([]files.File, len(objs))
	for i, o := range objs {
		out[i] = files.File{Path: o.URL(), Size: o.Size, MTime: o.ModTime, Version: o.ETag}
	}
	return out, nil
}

// pinLease is how long the files a statement binds stay pinned in the
// cache: DuckDB gives no signal when a statement that read them ends, so
// the pin is a lease long enough for the scan to open its files.
const pinLease = 5 * time.Minute

// Local downloads what the cache lacks and returns the cached paths, pinned
// for pinLease.
func (r remote) Local(ctx context.Context, fs []files.File) ([]string, error) {
	objs := make([]Object, len(fs))
	for i, f := range fs {
		bucket, key, err := ParseURL(f.Path)
		if err != nil {
			return nil, err
		}
		objs[i] = Object{Bucket: bucket, Key: path.Clean(key), Size: f.Size, ETag: f.Version, ModTime: f.MTime}
	}
	paths, release, err := r.st.Fetch(ctx, objs)
	if err != nil {
		return nil, err
	}
	time.AfterFunc(pinLease, release)
	return paths, nil
}
