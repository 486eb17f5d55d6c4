package ddl

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// CREATE OR REPLACE MATERIALIZED VIEW of an existing view: the new
// definition is checked as CREATE checks it, its first version is built
// beside the current one and published with the definition in one catalog
// transaction (materialize.Replace), then the views that read it are
// refreshed in dependency order, each as its owner. Readers never see the
// view missing or empty.

// replaceView replaces the existing materialized view st names. Only its
// owner (or a member of the owning role, or a superuser) may, with CREATE
// on its schema, as PostgreSQL's CREATE OR REPLACE VIEW asks; the view
// keeps its owner, its grants and its id.
func (x *Executor) replaceView(ctx context.Context, st *sql.CreateMaterializedView, progress func(string)) (Result, error) {
	ref := resolve(st.Name)
	if err := x.requireOwner(ref, catalog.KindMaterializedView); err != nil {
		return Result{}, err
	}
	sched, err := schedule(st.Refresh)
	if err != nil {
		return Result{}, err
	}
	opts, err := validateViewOptions(optionMap(st.Options))
	if err != nil {
		return Result{}, err
	}
	if err := x.checkLocation(ctx, ref, opts); err != nil {
		return Result{}, err
	}
	if err := x.checkDefinition(ctx, ref.Schema, st.Query, st.Constraints); err != nil {
		return Result{}, err
	}
	if err := x.checkEncryptionKey(opts); err != nil {
		return Result{}, err
	}
	cols, err := x.mat.Describe(ctx, st.Query)
	if err != nil {
		return Result{}, queryError(err, st)
	}
	if _, err := sqlplan.PlanRefresh(sqlplan.Refresh{Query: st.Query, Columns: cols, PartitionBy: st.PartitionBy, Options: opts}); err != nil {
		return Result{}, err
	}
	constraints, err := x.viewConstraints(ctx, st.Query, st.Constraints) // quality.go
	if err != nil {
		return Result{}, err
	}
	deps, err := x.dependencies(ctx, ref, st.Query)
	if err != nil {
		return Result{}, err
	}
	if err := x.checkReplaceCycle(ctx, ref, deps); err != nil {
		return Result{}, err
	}
	v := catalog.View{Ref: ref, Query: st.Query, PartitionBy: st.PartitionBy, Options: opts, Refresh: sched.Text, Constraints: constraints}
	if v.PartitionBy == nil {
		v.PartitionBy = []string{}
	}
	defer x.sched.Wake()
	run, err := x.mat.Replace(ctx, v, catalog.Redefinition{Deps: deps, Schedule: sched, NextRun: materialize.NextRun(sched, time.Now())}, progress)
	if err != nil {
		err = engine.Translate(err)
		return Result{}, queryError(err, st)
	}
	notices := x.refreshDependants(ctx, ref, progress)
	return done(fmt.Sprintf("SELECT %d", run.RowsOut), notices...), nil
}

// checkReplaceCycle refuses (42P17) a new definition of ref that reads,
// directly or through what it reads, an object that reads ref: replacing
// is the one way a cycle between Sluice's objects could form.
func (x *Executor) checkReplaceCycle(ctx context.Context, ref catalog.Ref, deps []catalog.Dependency) error {
	lineage, err := x.cat.Lineage(ctx)
	if err != nil {
		return err
	}
	reads := map[catalog.Ref][]catalog.Ref{}
	for _, e := range lineage {
		if e.Object != ref { // ref's own edges are the ones being replaced
			reads[e.Object] = append(reads[e.Object], e.DependsOn)
		}
	}
	seen := map[catalog.Ref]bool{}
	var path []catalog.Ref
	var walk func(r catalog.Ref) bool
	walk = func(r catalog.Ref) bool {
		if r == ref {
			return true
		}
		if seen[r] {
			return false
		}
		seen[r] = true
		path = append(path, r)
		for _, d := range reads[r] {
			if walk(d) {
				return true
			}
		}
		path = path[:len(path)-1]
		return false
	}
	for _, d := range deps {
		if walk(d.DependsOn) {
			via := d.DependsOn.Name
			if len(path) > 0 {
				via = path[0].Name
			}
			return pgerr.New(pgerrcode.InvalidObjectDefinition, "materialized view %q would read %q, which reads %q: a dependency cycle", ref.Name, via, ref.Name)
		}
	}
	return nil
}

// refreshDependants refreshes every materialized view that reads ref,
// directly or not, in dependency order (an object after everything it
// reads), each as its owner. A refresh that fails (its query no longer
// binds, a constraint fails, ...) keeps that view's data and status
// "failed" and is reported as a WARNING with its SQLSTATE; the views that
// read it are then not refreshed (their input did not change).
func (x *Executor) refreshDependants(ctx context.Context, ref catalog.Ref, progress func(string)) []*pgerr.Error {
	order, err := x.dependantOrder(ctx, ref)
	if err != nil {
		return []*pgerr.Error{warning(err, "could not list the views that read %s: %v", ref.Name, err)}
	}
	lineage, err := x.cat.Lineage(ctx)
	if err != nil {
		return []*pgerr.Error{warning(err, "could not list the views that read %s: %v", ref.Name, err)}
	}
	failed := map[catalog.Ref]bool{}
	var notices []*pgerr.Error
	for _, d := range order {
		skip := false
		for _, e := range lineage {
			if e.Object == d && failed[e.DependsOn] {
				skip = true
			}
		}
		if skip {
			failed[d] = true
			continue
		}
		v, err := x.cat.GetView(ctx, d)
		if err != nil {
			failed[d] = true
			notices = append(notices, warning(err, "materialized view %s was not refreshed: %v", d.Name, err))
			continue
		}
		_ = x.cat.MarkAttempt(ctx, v.ID, time.Now())
		if _, err := x.mat.Refresh(ctx, v, "dependency", progress); err != nil {
			failed[d] = true
			err = engine.Translate(err)
			notices = append(notices, warning(err, "materialized view %s, which reads %s, failed to refresh and keeps its data: %s", d.Name, ref.Name, pgerr.As(err).Message))
		}
	}
	return notices
}

// dependantOrder returns the materialized views that read ref, directly or
// not, each after every view of the set it reads.
func (x *Executor) dependantOrder(ctx context.Context, ref catalog.Ref) ([]catalog.Ref, error) {
	closure, err := x.dependentClosure(ctx, ref) // drop.go
	if err != nil {
		return nil, err
	}
	in := map[catalog.Ref]bool{}
	var nodes []catalog.Ref
	for _, d := range closure {
		if d.ObjectKind == catalog.KindMaterializedView && !in[d.Object] {
			in[d.Object] = true
			nodes = append(nodes, d.Object)
		}
	}
	lineage, err := x.cat.Lineage(ctx)
	if err != nil {
		return nil, err
	}
	// Depth-first, inputs first; the lineage has no cycle (checkReplaceCycle).
	done := map[catalog.Ref]bool{}
	var out []catalog.Ref
	var visit func(r catalog.Ref)
	visit = func(r catalog.Ref) {
		if done[r] {
			return
		}
		done[r] = true
		for _, e := range lineage {
			if e.Object == r && in[e.DependsOn] {
				visit(e.DependsOn)
			}
		}
		out = append(out, r)
	}
	for _, n := range nodes {
		visit(n)
	}
	return out, nil
}

// warning is a WARNING notice carrying err's SQLSTATE.
func warning(err error, format string, args ...any) *pgerr.Error {
	code := pgerr.Code(err)
	if code == "" {
		code = pgerrcode.InternalError
	}
	e := pgerr.New(code, format, args...)
	e.Severity = "WARNING"
	return e
}

// replacePipeline replaces the existing pipeline st names (CREATE OR
// REPLACE PIPELINE): the new definition is checked as CREATE checks it,
// its first run reads everything its sources hold into a directory of its
// own while the old output keeps serving, and one catalog transaction
// swaps definition and output (materialize.ReplacePipeline); then the
// materialized views that read it are refreshed, as their owners. Who may:
// as for replaceView.
func (x *Executor) replacePipeline(ctx context.Context, st *sql.CreatePipeline, progress func(string)) (Result, error) {
	const tag = "CREATE PIPELINE"
	ref := resolve(st.Name)
	if err := x.requireOwner(ref, catalog.KindPipeline); err != nil {
		return Result{}, err
	}
	sched, err := schedule(st.Refresh)
	if err != nil {
		return Result{}, err
	}
	opts, err := validatePipelineOptions(optionMap(st.Options))
	if err != nil {
		return Result{}, err
	}
	if err := x.checkLocation(ctx, ref, opts); err != nil {
		return Result{}, err
	}
	if err := x.checkDefinition(ctx, ref.Schema, st.Query, st.Constraints); err != nil {
		return Result{}, err
	}
	if err := x.checkEncryptionKey(opts); err != nil {
		return Result{}, err
	}
	cols, err := x.mat.Describe(ctx, st.Query)
	if err != nil {
		return Result{}, pipelineQueryError(err, st)
	}
	sources, deps, err := x.pipelineSources(ctx, ref, st.Query) // pipeline.go: sources only, so no cycle can form
	if err != nil {
		return Result{}, err
	}
	if _, err := sqlplan.PlanPipelineRun(sqlplan.PipelineRun{Query: st.Query, Columns: cols, PartitionBy: st.PartitionBy, Options: opts}); err != nil {
		return Result{}, err
	}
	constraints, err := x.viewConstraints(ctx, st.Query, st.Constraints) // quality.go
	if err != nil {
		return Result{}, err
	}
	dir, err := x.cat.NextID(ctx) // the new output's directory: a number no object or directory has
	if err != nil {
		return Result{}, err
	}
	pcols := make([]catalog.Column, len(cols))
	for i, c := range cols {
		pcols[i] = catalog.Column{Name: c.Name, Type: c.Type}
	}
	p := catalog.Pipeline{Ref: ref, Query: st.Query, PartitionBy: st.PartitionBy, Options: opts, Refresh: sched.Text,
		Constraints: constraints, Columns: pcols, Sources: sources, Path: x.mat.PipelinePath(dir)}
	if p.PartitionBy == nil {
		p.PartitionBy = []string{}
	}
	defer x.sched.Wake()
	if _, err := x.mat.ReplacePipeline(ctx, p, catalog.Redefinition{Deps: deps, Schedule: sched, NextRun: materialize.NextRun(sched, time.Now())}, progress); err != nil {
		return Result{}, pgerr.As(engine.Translate(err)).WithPosition(0)
	}
	return done(tag, x.refreshDependants(ctx, ref, progress)...), nil
}
