package gateway

import (
	"context"
	"path"
	"strings"
	"time"

	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/connectors/s3"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// openObjects connects the configured object storage (s3_* config keys) and
// gives DuckDB the function s3:// FILES sources' views call to read the
// local cache; without object storage the function fails with 0A000.
func (g *Gateway) openObjects(ctx context.Context) error {
	if g.opts.ObjectStorage != nil {
		st, err := s3.New(*g.opts.ObjectStorage, g.log)
		if err != nil {
			return err
		}
		g.objects = &objectStore{st}
		g.remote = s3Remote{st}
	}
	return g.db.RegisterListFunction(ctx, files.ObjectFilesFunction, func(ctx context.Context, url string) ([]string, error) {
		if g.remote == nil {
			return nil, pgerr.Unsupported("%s: object storage is not configured", url)
		}
		listed, err := g.remote.List(ctx, url)
		if err != nil {
			return nil, err
		}
		return g.remote.Local(ctx, listed)
	})
}

// checkLocation refuses a location option when no object storage is
// configured.
func (g *Gateway) checkLocation(opts map[string]string) error {
	if loc := opts["location"]; loc != "" && g.objects == nil {
		return pgerr.Unsupported("location %s: object storage is not configured (set s3_endpoint and its credentials; see docs/storage.md)", loc)
	}
	return nil
}

// objectStore is the store of outputs with a location.
type objectStore struct{ *s3.Store }

// Keys lists every key below prefix.
func (o *objectStore) Keys(ctx context.Context, bucket, prefix string) ([]string, error) {
	objs, err := o.ListPrefix(ctx, bucket, strings.TrimSuffix(prefix, "/")+"/")
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(objs))
	for i, obj := range objs {
		keys[i] = obj.Key
	}
	return keys, nil
}

// s3Remote adapts the object store to the FILES connector.
type s3Remote struct{ st *s3.Store }

func (r s3Remote) List(ctx context.Context, url string) ([]files.File, error) {
	bucket, pattern, err := s3.ParseURL(url)
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
func (r s3Remote) Local(ctx context.Context, fs []files.File) ([]string, error) {
	objs := make([]s3.Object, len(fs))
	for i, f := range fs {
		bucket, key, err := s3.ParseURL(f.Path)
		if err != nil {
			return nil, err
		}
		objs[i] = s3.Object{Bucket: bucket, Key: path.Clean(key), Size: f.Size, ETag: f.Version, ModTime: f.MTime}
	}
	paths, release, err := r.st.Fetch(ctx, objs)
	if err != nil {
		return nil, err
	}
	time.AfterFunc(pinLease, release)
	return paths, nil
}
