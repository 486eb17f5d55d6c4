package ddl

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
)

// guardDDL refuses plain DDL that would break Sluice's objects: a source or
// a materialized view is a DuckDB view underneath, but DROP VIEW or ALTER
// VIEW must not remove it behind the catalog's back; and a table or view
// that materialized views read is not dropped from under them (2BP01, as
// PostgreSQL does).
func (x *Executor) guardDDL(ctx context.Context, text string) error {
	d := sql.DDLTargets(text)
	if d == nil {
		return nil
	}
	for _, n := range d.Names {
		ref := resolve(n)
		kind, ok, err := x.cat.Lookup(ctx, ref)
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
			if err := x.checkCycle(ctx, ref, d.Query); err != nil {
				return err
			}
		}
		if d.Verb != "DROP" {
			continue
		}
		deps, err := x.cat.Dependents(ctx, ref)
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

// checkCycle refuses (42P17) a plain view redefinition that would make the
// lineage circular: ref is read, directly or not, by Sluice objects, and its
// new query would read one of them (directly, or through what they read).
func (x *Executor) checkCycle(ctx context.Context, ref catalog.Ref, query string) error {
	readers, err := x.dependentClosure(ctx, ref)
	if err != nil || len(readers) == 0 {
		return err
	}
	lineage, err := x.cat.Lineage(ctx)
	if err != nil {
		return err
	}
	tables, err := x.mat.TableRefs(ctx, query)
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
