package files

import (
	"context"
	"strings"
	"time"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// ObjectFilesFunction is the engine function that turns an object-storage
// URL glob into the local paths of its objects in the cache, downloading
// what is missing, when a statement is bound: the view of an s3:// FILES
// source is read_parquet(sluice_object_files('s3://...')).
const ObjectFilesFunction = "sluice_object_files"

// Remote is object storage for s3:// locations (connectors/s3, adapted by
// the gateway).
type Remote interface {
	// List returns the objects the URL glob matches, sorted, as Files whose
	// Path is the object's s3:// URL and Version its ETag.
	List(ctx context.Context, url string) ([]File, error)
	// Local makes files local (in the cache) and returns their local
	// paths, in order.
	Local(ctx context.Context, files []File) ([]string, error)
}

// IsRemote reports whether location is in object storage.
func IsRemote(location string) bool { return strings.HasPrefix(location, "s3://") }

// NewRemote validates an s3:// FILES source; r is nil when object storage
// is not configured.
func NewRemote(location string, raw map[string]string, r Remote) (*Scan, error) {
	if r == nil {
		return nil, pgerr.Unsupported("FILES %q: object storage is not configured (set s3_endpoint and its credentials; see docs/storage.md)", location)
	}
	opts, err := validate(location, location, raw)
	if err != nil {
		return nil, err
	}
	return &Scan{Path: location, Options: opts, Remote: r}, nil
}

// listRemote lists an s3:// scan's objects.
func (s *Scan) listRemote() ([]File, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return s.Remote.List(ctx, s.Path)
}

// LocalFilesSQL is FilesSQL over files, made local first when they are
// in object storage.
func (s *Scan) LocalFilesSQL(ctx context.Context, files []File) (string, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	if s.Remote != nil && IsRemote(s.Path) {
		var err error
		if paths, err = s.Remote.Local(ctx, files); err != nil {
			return "", err
		}
	}
	return s.FilesSQL(paths), nil
}
