package ddl

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// createPipeline is CREATE PIPELINE: it records the pipeline with its
// schedule and quality gates, and runs its first run at once, reading every
// file its sources match. A pipeline whose first run fails is not created.
func (x *Executor) createPipeline(ctx context.Context, st *sql.CreatePipeline, progress func(string)) (Result, error) {
	const tag = "CREATE PIPELINE"
	ref := resolve(st.Name)
	if st.OrReplace {
		switch kind, ok, err := x.cat.Lookup(ctx, ref); {
		case err != nil:
			return Result{}, err
		case ok && kind == catalog.KindPipeline:
			return x.replacePipeline(ctx, st, progress) // replace.go
		case ok:
			e := pgerr.New(pgerrcode.WrongObjectType, "%q is not a pipeline", ref.Name)
			e.Hint = fmt.Sprintf("%q is a %s.", ref.Name, kind)
			return Result{}, e
		}
	}
	sched, err := schedule(st.Refresh)
	if err != nil {
		return Result{}, err
	}
	if res, taken, err := x.claimName(ctx, ref, st.IfNotExists, tag); taken || err != nil {
		return res, err
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
	sources, deps, err := x.pipelineSources(ctx, ref, st.Query)
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
	id, err := x.cat.NextID(ctx)
	if err != nil {
		return Result{}, err
	}
	pcols := make([]catalog.Column, len(cols))
	for i, c := range cols {
		pcols[i] = catalog.Column{Name: c.Name, Type: c.Type}
	}
	p := catalog.Pipeline{
		ID: id, Ref: ref, Query: st.Query, PartitionBy: st.PartitionBy, Options: opts, Refresh: sched.Text,
		Status: "empty", Constraints: constraints, Columns: pcols, Sources: sources, Path: x.mat.PipelinePath(id),
	}
	if p.PartitionBy == nil {
		p.PartitionBy = []string{}
	}
	p.Owner, p.ACL = x.owned(ref, catalog.KindPipeline)
	if err := x.cat.CreatePipeline(ctx, p, deps, sqlplan.EmptyViewSQL(cols)); err != nil {
		return Result{}, err
	}
	if err := x.cat.SetSchedule(ctx, ref, sched, materialize.NextRun(sched, time.Now())); err != nil {
		return Result{}, err
	}
	defer x.sched.Wake()
	_ = x.cat.MarkAttempt(ctx, id, time.Now()) // its inputs are read now: no ON CHANGE run owed
	if _, err := x.mat.RefreshPipeline(ctx, ref, "create", progress); err != nil {
		err = engine.Translate(err)
		// Creation is all or nothing, as for materialized views.
		retired, derr := x.cat.Drop(context.WithoutCancel(ctx), []catalog.Dependency{{Object: ref, ObjectKind: catalog.KindPipeline}})
		if derr != nil {
			x.log.Error("undoing failed CREATE PIPELINE", "pipeline", ref.String(), "err", derr)
		}
		x.mat.Drop(retired)
		return Result{}, pgerr.As(err).WithPosition(0)
	}
	return done(tag), nil
}

// pipelineSources checks what a pipeline's query reads: sources only,
// named unqualified (a run shadows each with a temporary view of the same
// name over the new files), at least one. It returns the sources' names and
// the lineage edges.
func (x *Executor) pipelineSources(ctx context.Context, ref catalog.Ref, query string) ([]string, []catalog.Dependency, error) {
	tables, err := x.mat.TableRefs(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	var deps []catalog.Dependency
	for _, t := range tables {
		qualified := t.Catalog != "" || t.Schema != ""
		dep := catalog.Ref{Schema: t.Schema, Name: t.Name}
		if dep.Schema == "" {
			dep.Schema = materialize.PipelineSourceSchema
		}
		if t.Catalog != "" && t.Catalog != catalog.DatabaseName {
			return nil, nil, pgerr.Unsupported("a pipeline reads sources only; %q is in another database", t.Name)
		}
		kind, ok, err := x.cat.Lookup(ctx, dep)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue // a system relation (pg_catalog, duckdb_*): not tracked
		}
		switch {
		case kind != catalog.KindSource:
			return nil, nil, pgerr.Unsupported("pipeline %s reads %s %q: pipelines read only sources (read materialized views, pipelines and tables from a materialized view instead)", ref.Name, kind, t.Name)
		case qualified:
			return nil, nil, pgerr.Unsupported("pipeline %s names source %q with a schema: pipelines read sources of schema %s by their unqualified name", ref.Name, t.Name, materialize.PipelineSourceSchema)
		}
		names = append(names, t.Name)
		deps = append(deps, catalog.Dependency{Object: ref, ObjectKind: catalog.KindPipeline, DependsOn: dep, DependsOnKind: kind})
	}
	if len(names) == 0 {
		return nil, nil, pgerr.Unsupported("a pipeline must read at least one source (it appends the rows its sources' new files produce)")
	}
	return names, deps, nil
}

// refreshPipeline is REFRESH PIPELINE: one run, reading the files that
// arrived since the last committed run.
func (x *Executor) refreshPipeline(ctx context.Context, st *sql.Refresh, progress func(string)) (Result, error) {
	if len(st.Partition) > 0 {
		return Result{}, pgerr.Unsupported("REFRESH PIPELINE ... PARTITION is not supported: a pipeline appends, it does not recompute")
	}
	ref := resolve(st.Name)
	if err := x.expectKind(ctx, ref, catalog.KindPipeline); err != nil {
		return Result{}, err
	}
	if err := x.require(ref, catalog.KindPipeline, access.Refresh); err != nil {
		return Result{}, err
	}
	if p, err := x.cat.GetPipeline(ctx, ref); err == nil {
		_ = x.cat.MarkAttempt(ctx, p.ID, time.Now())
	}
	if _, err := x.mat.RefreshPipeline(ctx, ref, "manual", progress); err != nil {
		return Result{}, err
	}
	return done("REFRESH PIPELINE"), nil
}

// pipelineQueryError points an error DuckDB found in a pipeline's query at
// the query inside the statement (see queryError).
func pipelineQueryError(err error, st *sql.CreatePipeline) error {
	const prefix = "DESCRIBE "
	pe := pgerr.As(engine.TranslateQuery(err, prefix+st.Query))
	if pe.Position > int32(len(prefix)) {
		before := st.Text()[:st.QueryOffset-st.Start()]
		return pe.WithPosition(int(pe.Position) - len(prefix) + runeCount(before))
	}
	return pe.WithPosition(0)
}

// validatePipelineOptions checks a pipeline's WITH options, including the
// scheduler's.
func validatePipelineOptions(raw map[string]string) (map[string]string, error) {
	opts, err := sqlplan.ValidatePipelineOptions(raw)
	if err != nil {
		return nil, err
	}
	return opts, checkMinInterval(opts)
}
