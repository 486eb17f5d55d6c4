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

func (x *Executor) createView(ctx context.Context, st *sql.CreateMaterializedView, progress func(string)) (Result, error) {
	ref := resolve(st.Name)
	if st.OrReplace {
		switch kind, ok, err := x.cat.Lookup(ctx, ref); {
		case err != nil:
			return Result{}, err
		case ok && kind == catalog.KindMaterializedView:
			return x.replaceView(ctx, st, progress) // replace.go
		case ok:
			e := pgerr.New(pgerrcode.WrongObjectType, "%q is not a materialized view", ref.Name)
			e.Hint = fmt.Sprintf("%q is a %s.", ref.Name, kind)
			return Result{}, e
		}
	}
	sched, err := schedule(st.Refresh)
	if err != nil {
		return Result{}, err
	}
	if res, taken, err := x.claimName(ctx, ref, st.IfNotExists, "CREATE MATERIALIZED VIEW"); taken || err != nil {
		return res, err
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
	id, err := x.cat.NextID(ctx)
	if err != nil {
		return Result{}, err
	}
	v := catalog.View{ID: id, Ref: ref, Query: st.Query, PartitionBy: st.PartitionBy, Options: opts, Refresh: sched.Text, Status: "empty",
		Constraints: constraints}
	v.Owner, v.ACL = x.owned(ref, catalog.KindMaterializedView)
	if err := x.cat.CreateView(ctx, v, deps, sqlplan.EmptyViewSQL(cols)); err != nil {
		return Result{}, err
	}
	if err := x.cat.SetSchedule(ctx, ref, sched, materialize.NextRun(sched, time.Now())); err != nil {
		return Result{}, err
	}
	defer x.sched.Wake()
	if !st.WithData {
		return done("CREATE MATERIALIZED VIEW"), nil
	}
	_ = x.cat.MarkAttempt(ctx, v.ID, time.Now()) // its inputs are read now: no ON CHANGE refresh owed
	run, err := x.mat.Refresh(ctx, v, "create", progress)
	if err != nil {
		err = engine.Translate(err) // a run-time error: its position is not in the statement
		// Creation is all or nothing: a view that cannot be populated is not created.
		if _, derr := x.cat.Drop(context.WithoutCancel(ctx), []catalog.Dependency{{Object: ref, ObjectKind: catalog.KindMaterializedView}}); derr != nil {
			x.log.Error("undoing failed CREATE MATERIALIZED VIEW", "view", ref.String(), "err", derr)
		}
		return Result{}, queryError(err, st)
	}
	return done(fmt.Sprintf("SELECT %d", run.RowsOut)), nil
}

// queryError points an error DuckDB found in a view's query (which it saw
// as "DESCRIBE query") at the query inside the statement; the session then
// adds the statement's own offset in the query string.
func queryError(err error, st *sql.CreateMaterializedView) error {
	const prefix = "DESCRIBE "
	pe := pgerr.As(engine.TranslateQuery(err, prefix+st.Query))
	if pe.Position > int32(len(prefix)) {
		before := st.Text()[:st.QueryOffset-st.Start()]
		pe = pe.WithPosition(int(pe.Position) - len(prefix) + runeCount(before))
	} else {
		pe = pe.WithPosition(0)
	}
	return pe
}

// dependencies resolves the relations a query reads into lineage edges.
func (x *Executor) dependencies(ctx context.Context, ref catalog.Ref, query string) ([]catalog.Dependency, error) {
	tables, err := x.mat.TableRefs(ctx, query)
	if err != nil {
		return nil, err
	}
	var deps []catalog.Dependency
	for _, t := range tables {
		if t.Catalog != "" && t.Catalog != catalog.DatabaseName {
			continue // another attached database: not tracked
		}
		dep := catalog.Ref{Schema: t.Schema, Name: t.Name}
		if dep.Schema == "" {
			dep.Schema = defaultSchema
		}
		kind, ok, err := x.cat.Lookup(ctx, dep)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // a system relation (pg_catalog, duckdb_*): not tracked
		}
		deps = append(deps, catalog.Dependency{Object: ref, ObjectKind: catalog.KindMaterializedView, DependsOn: dep, DependsOnKind: kind})
	}
	return deps, nil
}

// refresh is REFRESH MATERIALIZED VIEW (pipelines go to refreshPipeline).
func (x *Executor) refresh(ctx context.Context, st *sql.Refresh, progress func(string)) (Result, error) {
	ref := resolve(st.Name)
	// One read when ref is a materialized view; only otherwise is the
	// catalog asked what it is, for the error.
	v, err := x.cat.GetView(ctx, ref)
	if err != nil {
		if kerr := x.expectKind(ctx, ref, catalog.KindMaterializedView); kerr != nil {
			return Result{}, kerr
		}
		return Result{}, err
	}
	if err := x.require(ref, catalog.KindMaterializedView, access.Refresh); err != nil {
		return Result{}, err
	}
	if len(st.Partition) > 0 {
		return x.backfill(ctx, v, st, progress) // backfill.go
	}
	_ = x.cat.MarkAttempt(ctx, v.ID, time.Now())
	if _, err := x.mat.Refresh(ctx, v, "manual", progress); err != nil {
		return Result{}, err
	}
	return done("REFRESH MATERIALIZED VIEW"), nil
}
