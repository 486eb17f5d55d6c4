package materialize

import (
	"context"
	"os"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// Replace gives the materialized view v.Ref a new definition, v's query,
// partitioning, options and constraints with r's lineage and schedule
// (CREATE OR REPLACE MATERIALIZED VIEW). The new definition's first
// version is built in staging while the current version keeps serving
// readers; then one catalog transaction records the definition, publishes
// the version, retires the old one and redefines the DuckDB view, so a
// reader sees the old definition's data or the new one's, never neither.
//
// The build is a run of trigger "replace" under the new definition's retry
// policy, holding the view's refresh lock (a refresh of the old definition
// waits, then runs the new one). When it fails, the view keeps its
// definition, its version and its status; the failed run is in
// sluice.runs. Dependants are not refreshed here (ddl does it, as their
// owners).
func (m *Materializer) Replace(ctx context.Context, v catalog.View, r catalog.Redefinition, progress Progress) (*catalog.Run, error) {
	cur, err := m.opts.Catalog.GetView(ctx, v.Ref)
	if err != nil {
		return nil, err
	}
	unlock := m.lock(cur.ID)
	defer unlock()
	if progress == nil {
		progress = func(string) {}
	}
	// Dropped, or dropped and created again, while we waited.
	again, err := m.opts.Catalog.GetView(ctx, v.Ref)
	if err != nil {
		return nil, err
	}
	if again.ID != cur.ID {
		return nil, pgerr.New(pgerrcode.SerializationFailure, "materialized view %q was dropped and created again while it was being replaced", v.Ref.Name)
	}
	v.ID, v.Version, v.VersionPath, v.VersionKey, v.Status, v.CreatedAt = again.ID, again.Version, again.VersionPath, again.VersionKey, again.Status, again.CreatedAt
	v.Owner, v.ACL = again.Owner, again.ACL
	m.mu.Lock()
	starts := append([]func(context.Context, catalog.Ref){}, m.onStart...)
	m.mu.Unlock()
	for _, fn := range starts {
		fn(ctx, v.Ref)
	}
	return m.attempts(ctx, attempt{ref: v.Ref, id: v.ID, options: v.Options, what: "refresh", keepStatus: true,
		do: func(ctx context.Context, run *catalog.Run) (bool, error) {
			retired, err := m.refresh(ctx, v, run, progress, nil, &r)
			if err != nil {
				return false, err
			}
			m.Readers.Retire(retired...)
			return true, nil
		}}, "replace", progress)
}

// ReplacePipeline gives the pipeline p.Ref a new definition (CREATE OR
// REPLACE PIPELINE): p's query, partitioning, options, constraints,
// columns and sources, written to p.Path, a directory of its own, with r's
// lineage and schedule. The new definition's first run reads everything
// its sources hold now (every file; each connector source from its start)
// while the old pipeline keeps serving readers; its commit then replaces
// the old definition, output, consumed inputs and positions and redefines
// the view in one catalog transaction (catalog.ReplacePipeline). The old
// directory goes once no reader needs it. A failed run (trigger
// "replace") leaves the pipeline as it was and removes p.Path.
func (m *Materializer) ReplacePipeline(ctx context.Context, p catalog.Pipeline, r catalog.Redefinition, progress Progress) (*catalog.Run, error) {
	cur, err := m.opts.Catalog.GetPipeline(ctx, p.Ref)
	if err != nil {
		return nil, err
	}
	unlock := m.lock(cur.ID)
	defer unlock()
	if progress == nil {
		progress = func(string) {}
	}
	again, err := m.opts.Catalog.GetPipeline(ctx, p.Ref)
	if err != nil {
		return nil, err
	}
	if again.ID != cur.ID {
		return nil, pgerr.New(pgerrcode.SerializationFailure, "pipeline %q was dropped and created again while it was being replaced", p.Ref.Name)
	}
	p.ID, p.CreatedAt, p.Owner, p.ACL = again.ID, again.CreatedAt, again.Owner, again.ACL
	run, err := m.attempts(ctx, attempt{ref: p.Ref, id: p.ID, options: p.Options, what: "pipeline run", keepStatus: true,
		do: func(ctx context.Context, run *catalog.Run) (bool, error) {
			if err := m.runPipeline(ctx, p, run, progress, &r); err != nil {
				return false, err
			}
			return true, nil
		}}, "replace", progress)
	if err != nil {
		_ = os.RemoveAll(p.Path)
	}
	return run, err
}
