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

func (x *Executor) drop(ctx context.Context, st *sql.Drop) (Result, error) {
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
		if err := x.expectKind(ctx, ref, want); err != nil {
			if st.IfExists && (pgerr.Code(err) == pgerrcode.UndefinedTable || pgerr.Code(err) == pgerrcode.UndefinedObject) {
				notices = append(notices, notice(pgerrcode.SuccessfulCompletion, "%s %q does not exist, skipping", strings.ToLower(st.Kind.String()), ref.Name))
				continue
			}
			return Result{}, err
		}
		if err := x.requireOwner(ref, want); err != nil {
			return Result{}, err
		}
		closure, err := x.dependentClosure(ctx, ref)
		if err != nil {
			return Result{}, err
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
			return Result{}, e
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
				if src, err := x.cat.GetSource(ctx, o.Object); err == nil && src.Connector != "files" {
					sources = append(sources, src.ID)
				}
			}
		}
		retired, err := x.cat.Drop(ctx, objs)
		if err != nil {
			return Result{}, err
		}
		x.mat.Drop(retired)
		for _, id := range sources {
			x.sources.Forget(id)
		}
	}
	return done(tag, notices...), nil
}

// dependentClosure returns every object that reads ref, directly or not,
// in breadth-first order.
func (x *Executor) dependentClosure(ctx context.Context, ref catalog.Ref) ([]catalog.Dependency, error) {
	var out []catalog.Dependency
	seen := map[catalog.Ref]bool{ref: true}
	queue := []catalog.Ref{ref}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		deps, err := x.cat.Dependents(ctx, cur)
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
