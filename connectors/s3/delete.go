package s3

// Deleting objects: a list of keys, or everything below a directory
// prefix.

import (
	"context"

	"github.com/jackc/pgerrcode"
	"github.com/minio/minio-go/v7"

	"github.com/sluice-db/sluice/internal/pgerr"
)

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
