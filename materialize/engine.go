package materialize

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// Storage is object storage as Sluice uses it (connectors/s3.Store): the
// store of outputs with a location, and s3:// FILES sources' files.
type Storage interface {
	ObjectStore
	Files() files.Remote
	// CacheDir is where downloaded objects are kept (DuckDB reads them
	// there; user SQL may not).
	CacheDir() string
}

// RegisterScan gives DuckDB the table function connector sources' views
// call (ScanFunction), bound to the open sources; parallelism bounds the
// splits of one read that are read at once.
func RegisterScan(ctx context.Context, db *engine.DB, sources *Sources, parallelism int) error {
	return db.RegisterScan(ctx, ScanFunction, 3, parallelism, func(ctx context.Context, args []string) (engine.ScanSource, error) {
		src, from, to, err := sources.Bind(ctx, args)
		if err != nil {
			return nil, err
		}
		return scanSource{src: src, from: from, to: to}, nil
	})
}

// RegisterObjectFiles gives DuckDB the function s3:// FILES sources' views
// call to read the local cache (files.ObjectFilesFunction); with storage
// nil (no object storage) it fails with 0A000.
func RegisterObjectFiles(ctx context.Context, db *engine.DB, storage Storage) error {
	var remote files.Remote
	if storage != nil {
		remote = storage.Files()
	}
	return db.RegisterListFunction(ctx, files.ObjectFilesFunction, func(ctx context.Context, url string) ([]string, error) {
		if remote == nil {
			return nil, pgerr.Unsupported("%s: object storage is not configured", url)
		}
		listed, err := remote.List(ctx, url)
		if err != nil {
			return nil, err
		}
		return remote.Local(ctx, listed)
	})
}

// scanSource adapts a connector source's read of (from, to] to the engine.
type scanSource struct {
	src      connectors.Source
	from, to connectors.Position
}

func (s scanSource) Schema() *arrow.Schema { return s.src.Schema() }

func (s scanSource) Plan(ctx context.Context) (engine.ScanPlan, error) {
	splits, err := s.src.Plan(ctx, s.from, s.to)
	return splitPlan(splits), err
}

type splitPlan []connectors.Split

func (p splitPlan) Parts() int { return len(p) }

func (p splitPlan) OpenPart(ctx context.Context, i int) (engine.BatchReader, error) {
	return p[i].Open(ctx)
}
