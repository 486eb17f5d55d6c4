package ddl

import (
	"context"
	"fmt"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
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

// claimName checks a name for a CREATE: taken is false when it is free;
// when it is taken and the statement says IF NOT EXISTS, taken is true and
// the result completes the statement with a notice; 42P07 when it is taken,
// 3F000 when its schema does not exist.
func (x *Executor) claimName(ctx context.Context, ref catalog.Ref, ifNotExists bool, tag string) (res Result, taken bool, err error) {
	taken, err = x.checkNewName(ctx, ref)
	switch {
	case err != nil:
		return Result{}, false, err
	case taken && ifNotExists:
		return done(tag, notice(pgerrcode.DuplicateTable, "relation %q already exists, skipping", ref.Name)), true, nil
	case taken:
		return Result{}, true, pgerr.DuplicateTable(ref.Name)
	}
	return Result{}, false, nil
}

// checkNewName reports whether a name is taken; a missing schema is 3F000.
func (x *Executor) checkNewName(ctx context.Context, ref catalog.Ref) (exists bool, err error) {
	ok, err := x.cat.SchemaExists(ctx, ref.Schema)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, pgerr.New(pgerrcode.InvalidSchemaName, "schema %q does not exist", ref.Schema)
	}
	_, taken, err := x.cat.Lookup(ctx, ref)
	return taken, err
}

// expectKind checks that ref names an object of the wanted kind: 42P01 when
// nothing has the name, 42809 when something else does.
func (x *Executor) expectKind(ctx context.Context, ref catalog.Ref, want catalog.Kind) error {
	kind, ok, err := x.cat.Lookup(ctx, ref)
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
