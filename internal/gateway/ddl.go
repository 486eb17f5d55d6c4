package gateway

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
	"github.com/sluice-db/sluice/wire"
)

// defaultSchema is where unqualified names are created and looked up.
const defaultSchema = "public"

func resolve(n sql.Name) catalog.Ref {
	if n.Schema == "" {
		return catalog.Ref{Schema: defaultSchema, Name: n.Name}
	}
	return catalog.Ref{Schema: n.Schema, Name: n.Name}
}

func optionMap(opts []sql.Option) map[string]string {
	m := make(map[string]string, len(opts))
	for _, o := range opts {
		m[o.Key] = o.Value.Text
	}
	return m
}

func notice(code, format string, args ...any) *pgerr.Error {
	e := pgerr.New(code, format, args...)
	e.Severity = "NOTICE"
	return e
}

// claimName checks a name for a CREATE: nil, nil when it is free; a cursor
// that completes the statement with a notice when it is taken and the
// statement says IF NOT EXISTS; 42P07 when it is taken, 3F000 when its schema
// does not exist.
func (s *session) claimName(ctx context.Context, ref catalog.Ref, ifNotExists bool, tag string) (*cursor, error) {
	taken, err := s.checkNewName(ctx, ref)
	switch {
	case err != nil:
		return nil, err
	case taken && ifNotExists:
		return s.done(tag, notice(pgerrcode.DuplicateTable, "relation %q already exists, skipping", ref.Name)), nil
	case taken:
		return nil, pgerr.DuplicateTable(ref.Name)
	}
	return nil, nil
}

// checkNewName reports whether a name is taken; a missing schema is 3F000.
func (s *session) checkNewName(ctx context.Context, ref catalog.Ref) (exists bool, err error) {
	ok, err := s.g.cat.SchemaExists(ctx, ref.Schema)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, pgerr.New(pgerrcode.InvalidSchemaName, "schema %q does not exist", ref.Schema)
	}
	_, taken, err := s.g.cat.Lookup(ctx, ref)
	return taken, err
}

func (s *session) createSource(ctx context.Context, st *sql.CreateSource, w wire.ResultWriter) (*cursor, error) {
	const tag = "CREATE SOURCE"
	ref := resolve(st.Name)
	if c, err := s.claimName(ctx, ref, st.IfNotExists, tag); c != nil || err != nil {
		return c, err
	}
	if st.Connector != "files" {
		return s.createConnectorSource(ctx, st, ref)
	}
	var scan *files.Scan
	var err error
	if files.IsRemote(st.Location) {
		scan, err = files.NewRemote(st.Location, optionMap(st.Options), s.g.remote)
	} else {
		scan, err = files.New(st.Location, s.g.baseDir, optionMap(st.Options))
	}
	if err != nil {
		return nil, err
	}
	// Fail now, not at the first SELECT, when the files cannot be read.
	if _, err := s.g.mat.Describe(ctx, scan.SQL()); err != nil {
		return nil, err
	}
	id, err := s.g.cat.NextID(ctx)
	if err != nil {
		return nil, err
	}
	src := catalog.Source{ID: id, Ref: ref, Connector: "files", Location: scan.Path, Options: scan.Options}
	if err := s.g.cat.CreateSource(ctx, src, scan.SQL()); err != nil {
		return nil, err
	}
	return s.done(tag), nil
}

// createConnectorSource opens a KAFKA, POSTGRES or HTTP source (the
// connector validates its options and reaches the endpoint), fixes its
// schema in the catalog and defines its view over the engine's scan
// function.
func (s *session) createConnectorSource(ctx context.Context, st *sql.CreateSource, ref catalog.Ref) (*cursor, error) {
	const tag = "CREATE SOURCE"
	options := optionMap(st.Options)
	src, schema, err := s.g.sources.Create(ctx, st.Connector, st.Location, options)
	if err != nil {
		return nil, err
	}
	id, err := s.g.cat.NextID(ctx)
	if err != nil {
		src.Close()
		return nil, err
	}
	// The view binds at creation: the source must be open under its id.
	s.g.sources.Put(id, src)
	rec := catalog.Source{ID: id, Ref: ref, Connector: strings.ToLower(st.Connector), Location: st.Location, Options: options, Schema: schema}
	if err := s.g.cat.CreateSource(ctx, rec, materialize.ViewSQL(id, src)); err != nil {
		s.g.sources.Forget(id)
		return nil, err
	}
	return s.done(tag), nil
}

func (s *session) createView(ctx context.Context, st *sql.CreateMaterializedView, w wire.ResultWriter) (*cursor, error) {
	ref := resolve(st.Name)
	sched, err := schedule(st.Refresh)
	if err != nil {
		return nil, err
	}
	if c, err := s.claimName(ctx, ref, st.IfNotExists, "CREATE MATERIALIZED VIEW"); c != nil || err != nil {
		return c, err
	}
	opts, err := validateViewOptions(optionMap(st.Options))
	if err != nil {
		return nil, err
	}
	if err := s.g.checkLocation(opts); err != nil {
		return nil, err
	}
	cols, err := s.g.mat.Describe(ctx, st.Query)
	if err != nil {
		return nil, queryError(err, st)
	}
	if _, err := sqlplan.PlanRefresh(sqlplan.Refresh{Query: st.Query, Columns: cols, PartitionBy: st.PartitionBy, Options: opts}); err != nil {
		return nil, err
	}
	constraints, err := s.viewConstraints(ctx, st.Query, st.Constraints) // quality.go
	if err != nil {
		return nil, err
	}
	deps, err := s.dependencies(ctx, ref, st.Query)
	if err != nil {
		return nil, err
	}
	id, err := s.g.cat.NextID(ctx)
	if err != nil {
		return nil, err
	}
	v := catalog.View{ID: id, Ref: ref, Query: st.Query, PartitionBy: st.PartitionBy, Options: opts, Refresh: sched.Text, Status: "empty",
		Constraints: constraints}
	if err := s.g.cat.CreateView(ctx, v, deps, sqlplan.EmptyViewSQL(cols)); err != nil {
		return nil, err
	}
	if err := s.g.cat.SetSchedule(ctx, ref, sched, materialize.NextRun(sched, time.Now())); err != nil {
		return nil, err
	}
	defer s.g.sched.Wake()
	if !st.WithData {
		return s.done("CREATE MATERIALIZED VIEW"), nil
	}
	_ = s.g.cat.MarkAttempt(ctx, v.ID, time.Now()) // its inputs are read now: no ON CHANGE refresh owed
	run, err := s.g.mat.Refresh(ctx, v, "create", s.progress(w))
	if err != nil {
		err = engine.Translate(err) // a run-time error: its position is not in the statement
		// Creation is all or nothing: a view that cannot be populated is not created.
		if _, derr := s.g.cat.Drop(context.WithoutCancel(ctx), []catalog.Dependency{{Object: ref, ObjectKind: catalog.KindMaterializedView}}); derr != nil {
			s.g.log.Error("undoing failed CREATE MATERIALIZED VIEW", "view", ref.String(), "err", derr)
		}
		return nil, queryError(err, st)
	}
	return s.done(fmt.Sprintf("SELECT %d", run.RowsOut)), nil
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
func (s *session) dependencies(ctx context.Context, ref catalog.Ref, query string) ([]catalog.Dependency, error) {
	tables, err := s.g.mat.TableRefs(ctx, query)
	if err != nil {
		return nil, err
	}
	var deps []catalog.Dependency
	for _, t := range tables {
		if t.Catalog != "" && t.Catalog != DatabaseName {
			continue // another attached database: not tracked
		}
		dep := catalog.Ref{Schema: t.Schema, Name: t.Name}
		if dep.Schema == "" {
			dep.Schema = defaultSchema
		}
		kind, ok, err := s.g.cat.Lookup(ctx, dep)
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

// progress sends refresh progress to the client as NOTICE messages.
func (s *session) progress(w wire.ResultWriter) func(string) {
	return func(msg string) {
		_ = w.Notice(notice(pgerrcode.SuccessfulCompletion, "%s", msg))
	}
}

// refresh is REFRESH MATERIALIZED VIEW (pipelines go to refreshPipeline).
func (s *session) refresh(ctx context.Context, st *sql.Refresh, w wire.ResultWriter) (*cursor, error) {
	ref := resolve(st.Name)
	if err := s.expectKind(ctx, ref, catalog.KindMaterializedView); err != nil {
		return nil, err
	}
	v, err := s.g.cat.GetView(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(st.Partition) > 0 {
		return s.backfill(ctx, v, st, w) // backfill.go
	}
	_ = s.g.cat.MarkAttempt(ctx, v.ID, time.Now())
	if _, err := s.g.mat.Refresh(ctx, v, "manual", s.progress(w)); err != nil {
		return nil, err
	}
	return s.done("REFRESH MATERIALIZED VIEW"), nil
}

// expectKind checks that ref names an object of the wanted kind: 42P01 when
// nothing has the name, 42809 when something else does.
func (s *session) expectKind(ctx context.Context, ref catalog.Ref, want catalog.Kind) error {
	kind, ok, err := s.g.cat.Lookup(ctx, ref)
	if err != nil {
		return err
	}
	if !ok {
		if want == catalog.KindSource {
			return pgerr.New(pgerrcode.UndefinedObject, "source %q does not exist", ref.Name)
		}
		return pgerr.New(pgerrcode.UndefinedTable, "%s %q does not exist", want, ref.Name)
	}
	if kind != want {
		e := pgerr.New(pgerrcode.WrongObjectType, "%q is not a %s", ref.Name, want)
		e.Hint = fmt.Sprintf("%q is a %s.", ref.Name, kind)
		return e
	}
	return nil
}

func dropKind(k sql.ObjectKind) catalog.Kind {
	if k == sql.KindSource {
		return catalog.KindSource
	}
	if k == sql.KindPipeline {
		return catalog.KindPipeline
	}
	return catalog.KindMaterializedView
}

func (s *session) drop(ctx context.Context, st *sql.Drop, w wire.ResultWriter) (*cursor, error) {
	tag := "DROP " + st.Kind.String()
	want := dropKind(st.Kind)
	var notices []*pgerr.Error
	var objs []catalog.Dependency
	seen := map[catalog.Ref]bool{}
	named := map[catalog.Ref]bool{} // objects this statement drops by name
	for _, n := range st.Names {
		named[resolve(n)] = true
	}
	for _, n := range st.Names {
		ref := resolve(n)
		if err := s.expectKind(ctx, ref, want); err != nil {
			if st.IfExists && (pgerr.Code(err) == pgerrcode.UndefinedTable || pgerr.Code(err) == pgerrcode.UndefinedObject) {
				notices = append(notices, notice(pgerrcode.SuccessfulCompletion, "%s %q does not exist, skipping", strings.ToLower(st.Kind.String()), ref.Name))
				continue
			}
			return nil, err
		}
		closure, err := s.dependentClosure(ctx, ref)
		if err != nil {
			return nil, err
		}
		outside := closure[:0:0] // dependents not themselves dropped by name
		for _, d := range closure {
			if !named[d.Object] {
				outside = append(outside, d)
			}
		}
		if len(outside) > 0 && !st.Cascade {
			var details []string
			for _, d := range outside {
				details = append(details, fmt.Sprintf("%s %s depends on %s %s", d.ObjectKind, d.Object.Name, d.DependsOnKind, d.DependsOn.Name))
			}
			e := pgerr.New(pgerrcode.DependentObjectsStillExist, "cannot drop %s %s because other objects depend on it", want, ref.Name)
			e.Detail = strings.Join(details, "\n")
			e.Hint = "Use DROP ... CASCADE to drop the dependent objects too."
			return nil, e
		}
		// Dependents first, deepest first, each once.
		for i := len(closure) - 1; i >= 0; i-- {
			d := closure[i]
			if !seen[d.Object] {
				seen[d.Object] = true
				if !named[d.Object] {
					notices = append(notices, notice(pgerrcode.SuccessfulCompletion, "drop cascades to %s %s", d.ObjectKind, d.Object.Name))
				}
				objs = append(objs, catalog.Dependency{Object: d.Object, ObjectKind: d.ObjectKind})
			}
		}
		if !seen[ref] {
			seen[ref] = true
			objs = append(objs, catalog.Dependency{Object: ref, ObjectKind: want})
		}
	}
	if len(objs) > 0 {
		var sources []int64 // connector sources to close once dropped
		for _, o := range objs {
			if o.ObjectKind == catalog.KindSource {
				if src, err := s.g.cat.GetSource(ctx, o.Object); err == nil && src.Connector != "files" {
					sources = append(sources, src.ID)
				}
			}
		}
		retired, err := s.g.cat.Drop(ctx, objs)
		if err != nil {
			return nil, err
		}
		s.g.mat.Drop(retired)
		for _, id := range sources {
			s.g.sources.Forget(id)
		}
	}
	return s.done(tag, notices...), nil
}

// dependentClosure returns every object that reads ref, directly or not,
// in breadth-first order.
func (s *session) dependentClosure(ctx context.Context, ref catalog.Ref) ([]catalog.Dependency, error) {
	var out []catalog.Dependency
	seen := map[catalog.Ref]bool{ref: true}
	queue := []catalog.Ref{ref}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		deps, err := s.g.cat.Dependents(ctx, cur)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			if seen[d.Object] {
				continue
			}
			seen[d.Object] = true
			out = append(out, d)
			queue = append(queue, d.Object)
		}
	}
	return out, nil
}

// guardDDL refuses plain DDL that would break Sluice's objects: a source or
// a materialized view is a DuckDB view underneath, but DROP VIEW or ALTER
// VIEW must not remove it behind the catalog's back; and a table or view
// that materialized views read is not dropped from under them (2BP01, as
// PostgreSQL does).
func (s *session) guardDDL(ctx context.Context, text string) error {
	d := sql.DDLTargets(text)
	if d == nil {
		return nil
	}
	for _, n := range d.Names {
		ref := resolve(n)
		kind, ok, err := s.g.cat.Lookup(ctx, ref)
		if err != nil || !ok {
			return err
		}
		switch kind {
		case catalog.KindSource, catalog.KindMaterializedView, catalog.KindPipeline:
			e := pgerr.New(pgerrcode.WrongObjectType, "%q is a %s, not a %s", ref.Name, kind, strings.ToLower(d.Kind))
			if d.Verb == "DROP" {
				e.Hint = fmt.Sprintf("Use DROP %s.", strings.ToUpper(string(kind)))
			}
			return e
		}
		if d.Verb == "REPLACE" && d.Query != "" {
			if err := s.checkCycle(ctx, ref, d.Query); err != nil {
				return err
			}
		}
		if d.Verb != "DROP" {
			continue
		}
		deps, err := s.g.cat.Dependents(ctx, ref)
		if err != nil || len(deps) == 0 {
			return err
		}
		if d.Cascade {
			return pgerr.Unsupported("DROP %s ... CASCADE of a relation that materialized views read is not supported; drop the materialized views first", d.Kind)
		}
		var details []string
		for _, dep := range deps {
			details = append(details, fmt.Sprintf("%s %s depends on %s %s", dep.ObjectKind, dep.Object.Name, kind, ref.Name))
		}
		e := pgerr.New(pgerrcode.DependentObjectsStillExist, "cannot drop %s %s because other objects depend on it", kind, ref.Name)
		e.Detail = strings.Join(details, "\n")
		e.Hint = "Drop the dependent materialized views first."
		return e
	}
	return nil
}

// schedule turns a REFRESH clause into the catalog's schedule (MANUAL when
// absent), validated.
func schedule(p *sql.RefreshPolicy) (catalog.Schedule, error) {
	if p == nil {
		return catalog.Schedule{Kind: catalog.ScheduleManual, Text: "MANUAL"}, nil
	}
	var sc catalog.Schedule
	switch p.Kind {
	case sql.RefreshManual:
		sc = catalog.Schedule{Kind: catalog.ScheduleManual, Text: "MANUAL"}
	case sql.RefreshOnChange:
		sc = catalog.Schedule{Kind: catalog.ScheduleOnChange, Text: "ON CHANGE"}
	case sql.RefreshEvery:
		d, err := sqlplan.ParseInterval(p.Interval)
		if err != nil {
			return sc, pgerr.New(pgerrcode.InvalidParameterValue, "invalid REFRESH EVERY: %v", err)
		}
		sc = catalog.Schedule{Kind: catalog.ScheduleEvery, Interval: d, Text: "EVERY " + sql.QuoteLiteral(p.Interval)}
		if p.AlignedTo != "" {
			t, err := parseTimestamp(p.AlignedTo)
			if err != nil {
				return sc, pgerr.New(pgerrcode.InvalidDatetimeFormat, "invalid ALIGNED TO timestamp %q: use 'YYYY-MM-DD HH:MM:SS[+TZ]'", p.AlignedTo)
			}
			sc.AlignedTo = t
			sc.Text += " ALIGNED TO " + sql.QuoteLiteral(p.AlignedTo)
		}
	case sql.RefreshCron:
		sc = catalog.Schedule{Kind: catalog.ScheduleCron, Cron: p.Cron, TimeZone: p.TimeZone, Text: "CRON " + sql.QuoteLiteral(p.Cron)}
		if p.TimeZone != "" {
			sc.Text += " TIME ZONE " + sql.QuoteLiteral(p.TimeZone)
		}
	}
	return sc, materialize.ValidateSchedule(&sc)
}

func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05Z07", "2006-01-02T15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp")
}

// validateViewOptions checks a materialized view's WITH options, including
// the scheduler's.
func validateViewOptions(raw map[string]string) (map[string]string, error) {
	opts, err := sqlplan.ValidateViewOptions(raw)
	if err != nil {
		return nil, err
	}
	return opts, checkMinInterval(opts)
}

// checkMinInterval checks the ON CHANGE debounce option of a view or
// pipeline.
func checkMinInterval(opts map[string]string) error {
	if v, ok := opts["min_interval"]; ok {
		if _, err := sqlplan.ParseInterval(v); err != nil {
			return pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option \"min_interval\": %v", err)
		}
	}
	return nil
}

// alterObject is ALTER {MATERIALIZED VIEW | PIPELINE} name {SET REFRESH ...
// | SET (...) | SUSPEND | RESUME}.
func (s *session) alterObject(ctx context.Context, st *sql.AlterObject) (*cursor, error) {
	tag := "ALTER " + st.Kind.String()
	ref := resolve(st.Name)
	kind := dropKind(st.Kind)
	if err := s.expectKind(ctx, ref, kind); err != nil {
		return nil, err
	}
	var current map[string]string
	validate := validateViewOptions
	if kind == catalog.KindPipeline {
		p, err := s.g.cat.GetPipeline(ctx, ref)
		if err != nil {
			return nil, err
		}
		current, validate = p.Options, validatePipelineOptions
	} else {
		v, err := s.g.cat.GetView(ctx, ref)
		if err != nil {
			return nil, err
		}
		current = v.Options
	}
	defer s.g.sched.Wake()
	switch st.Action {
	case sql.AlterSetRefresh:
		sc, err := schedule(st.Refresh)
		if err != nil {
			return nil, err
		}
		return s.done(tag), s.g.cat.SetSchedule(ctx, ref, sc, materialize.NextRun(sc, time.Now()))
	case sql.AlterSetOptions:
		opts := map[string]string{}
		for k, val := range current {
			opts[k] = val
		}
		for k, val := range optionMap(st.Options) {
			opts[k] = val
		}
		opts, err := validate(opts)
		if err == nil {
			err = s.g.checkLocation(opts)
		}
		if err != nil {
			return nil, err
		}
		return s.done(tag), s.g.cat.SetOptions(ctx, ref, opts)
	case sql.AlterSuspend, sql.AlterResume:
		views, err := s.g.cat.ScheduledViews(ctx)
		if err != nil {
			return nil, err
		}
		for _, sv := range views {
			if sv.Ref == ref {
				next := time.Time{}
				if st.Action == sql.AlterResume {
					next = materialize.NextRun(sv.Schedule, time.Now())
				}
				return s.done(tag), s.g.cat.SetSuspended(ctx, ref, st.Action == sql.AlterSuspend, next)
			}
		}
	}
	return nil, pgerr.Unsupported("ALTER action %v is not supported", st.Action)
}

// checkCycle refuses (42P17) a plain view redefinition that would make the
// lineage circular: ref is read, directly or not, by Sluice objects, and its
// new query would read one of them (directly, or through what they read).
func (s *session) checkCycle(ctx context.Context, ref catalog.Ref, query string) error {
	readers, err := s.dependentClosure(ctx, ref)
	if err != nil || len(readers) == 0 {
		return err
	}
	lineage, err := s.g.cat.Lineage(ctx)
	if err != nil {
		return err
	}
	tables, err := s.g.mat.TableRefs(ctx, query)
	if err != nil {
		return nil // not a query DuckDB can serialise; DuckDB will judge it
	}
	reads := map[catalog.Ref]bool{}
	var walk func(r catalog.Ref)
	walk = func(r catalog.Ref) {
		if reads[r] {
			return
		}
		reads[r] = true
		for _, e := range lineage {
			if e.Object == r {
				walk(e.DependsOn)
			}
		}
	}
	for _, t := range tables {
		r := catalog.Ref{Schema: t.Schema, Name: t.Name}
		if r.Schema == "" {
			r.Schema = defaultSchema
		}
		walk(r)
	}
	for _, d := range readers {
		if reads[d.Object] {
			return pgerr.New(pgerrcode.InvalidObjectDefinition, "view %q would read %s %q, which reads %q: a dependency cycle", ref.Name, d.ObjectKind, d.Object.Name, ref.Name)
		}
	}
	return nil
}
