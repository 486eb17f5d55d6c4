package s3

// Listing objects: by pattern, by literal prefix, and the directory form
// of a prefix.

import (
	"context"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
)

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
