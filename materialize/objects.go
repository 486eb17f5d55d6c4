package materialize

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/sqlplan"
)

// ObjectStore keeps copies of outputs WITH (location = 's3://bucket/prefix')
// (connectors/s3.Store). Readers in Sluice read the local copy; the object
// store holds every published version whole before the catalog publishes it.
type ObjectStore interface {
	// UploadDir stores every file under dir below prefix and returns only
	// when all are stored (or fails, having removed what it stored).
	UploadDir(ctx context.Context, dir, bucket, prefix string) ([]string, error)
	// Upload stores one file.
	Upload(ctx context.Context, localPath, bucket, key string) error
	// Delete removes keys; DeletePrefix everything below prefix.
	Delete(ctx context.Context, bucket string, keys []string) error
	DeletePrefix(ctx context.Context, bucket, prefix string) error
	// Keys lists the keys below prefix.
	Keys(ctx context.Context, bucket, prefix string) ([]string, error)
}

// recoverStored deletes from object storage the files of pipeline runs
// that were stored but never committed (a crash between the upload and the
// commit), so that the location holds exactly the committed runs' files.
func (m *Materializer) recoverStored(ctx context.Context) error {
	if m.opts.Objects == nil {
		return nil
	}
	objs, err := m.opts.Catalog.ScheduledViews(ctx)
	if err != nil {
		return err
	}
	committed, err := m.opts.Catalog.PipelineFiles(ctx)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.Kind != catalog.KindPipeline {
			continue
		}
		p, err := m.opts.Catalog.GetPipeline(ctx, o.Ref)
		if err != nil {
			return err
		}
		loc := p.Options["location"]
		if loc == "" {
			continue
		}
		bucket, prefix, err := sqlplan.SplitLocation(loc)
		if err != nil {
			continue
		}
		data := filepath.Join(p.Path, "data")
		known := map[string]bool{}
		for _, f := range committed[p.Path] {
			if rel, err := filepath.Rel(data, f); err == nil {
				known[path.Join(prefix, "data", filepath.ToSlash(rel))] = true
			}
		}
		keys, err := m.opts.Objects.Keys(ctx, bucket, path.Join(prefix, "data")+"/")
		if err != nil {
			m.log.Warn("object storage: listing a pipeline's location", "pipeline", p.Ref.String(), "location", loc, "err", err)
			continue
		}
		var orphans []string
		for _, k := range keys {
			if !known[k] {
				orphans = append(orphans, k)
			}
		}
		if len(orphans) > 0 {
			m.log.Info("removing uncommitted pipeline files from object storage", "pipeline", p.Ref.String(), "files", len(orphans))
			if err := m.opts.Objects.Delete(ctx, bucket, orphans); err != nil {
				return err
			}
		}
	}
	return nil
}

// storeVersion uploads a view's new version (staging holds its files) to
// location/v<version>/ before it is published, then points
// location/_current at it and removes the version before the previous
// one: readers of the bucket that follow _current never see a partial
// version, and one older version stays for those still reading it.
func (m *Materializer) storeVersion(ctx context.Context, location, staging string, version int64) error {
	if location == "" {
		return nil
	}
	if m.opts.Objects == nil {
		return fmt.Errorf("location %s: object storage is not configured", location)
	}
	bucket, prefix, err := sqlplan.SplitLocation(location)
	if err != nil {
		return err
	}
	vdir := path.Join(prefix, "v"+strconv.FormatInt(version, 10))
	// A failed attempt numbers its version as this one does, and one whose
	// object storage went away (or whose gateway died) mid-upload could not
	// remove what it stored: clear those files first, or the published
	// version would hold them beside its own.
	if err := m.opts.Objects.DeletePrefix(ctx, bucket, vdir); err != nil {
		return fmt.Errorf("clearing %s/%s/ in %s: %w", bucket, vdir, location, err)
	}
	if _, err := m.opts.Objects.UploadDir(ctx, staging, bucket, vdir); err != nil {
		return fmt.Errorf("storing version %d in %s: %w", version, location, err)
	}
	return nil
}

// pointCurrent records in location/_current which version is published, and
// removes the one before the previous (best effort).
func (m *Materializer) pointCurrent(ctx context.Context, log *slog.Logger, location, dataDir string, version int64) {
	bucket, prefix, err := sqlplan.SplitLocation(location)
	if err != nil || m.opts.Objects == nil {
		return
	}
	marker, err := writeTemp(dataDir, "v"+strconv.FormatInt(version, 10)+"\n")
	if err != nil {
		log.Warn("object storage: writing the _current marker", "location", location, "err", err)
		return
	}
	defer removeFile(marker)
	if err := m.opts.Objects.Upload(ctx, marker, bucket, path.Join(prefix, "_current")); err != nil {
		log.Warn("object storage: storing the _current marker", "location", location, "err", err)
	}
	if version > 2 {
		old := path.Join(prefix, "v"+strconv.FormatInt(version-2, 10)) + "/"
		if err := m.opts.Objects.DeletePrefix(ctx, bucket, old); err != nil {
			log.Warn("object storage: removing an old version", "location", location, "err", err)
		}
	}
}

// storePipelineFiles uploads a pipeline run's files (paths relative to
// local root) below location/data/ before the run commits, and returns the
// keys, for removal if the commit fails.
func (m *Materializer) storePipelineFiles(ctx context.Context, log *slog.Logger, location, root string, rels []string) ([]string, error) {
	if location == "" {
		return nil, nil
	}
	if m.opts.Objects == nil {
		return nil, fmt.Errorf("location %s: object storage is not configured", location)
	}
	bucket, prefix, err := sqlplan.SplitLocation(location)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, rel := range rels {
		key := path.Join(prefix, "data", rel)
		if err := m.opts.Objects.Upload(ctx, path.Join(root, rel), bucket, key); err != nil {
			m.unstore(log, location, keys)
			return nil, fmt.Errorf("storing %s in %s: %w", rel, location, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// unstore removes keys stored for a run that did not commit (best effort).
func (m *Materializer) unstore(log *slog.Logger, location string, keys []string) {
	if len(keys) == 0 || m.opts.Objects == nil {
		return
	}
	bucket, _, err := sqlplan.SplitLocation(location)
	if err != nil {
		return
	}
	if err := m.opts.Objects.Delete(context.Background(), bucket, keys); err != nil {
		log.Warn("object storage: removing the files of a failed run", "location", location, "err", err)
	}
}

func writeTemp(dir, content string) (string, error) {
	f, err := os.CreateTemp(dir, "marker-*")
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}

func removeFile(p string) { _ = os.Remove(p) }
