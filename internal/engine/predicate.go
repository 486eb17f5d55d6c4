//go:build duckdb_arrow

package engine

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

// Predicate is a Go function DuckDB calls as a scalar function of text
// arguments returning a boolean (privilege checks for pg_catalog's
// has_*_privilege of another role).
type Predicate func(ctx context.Context, args []string) (bool, error)

// RegisterPredicate gives DuckDB the scalar function name(text, ...) with
// nargs arguments, evaluated by fn. A NULL argument gives NULL.
func (db *DB) RegisterPredicate(ctx context.Context, name string, nargs int, fn Predicate) error {
	c, err := db.sqlDB.Conn(ctx)
	if err != nil {
		return Translate(err)
	}
	defer c.Close()
	vt, err := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	if err != nil {
		return err
	}
	bt, err := duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
	if err != nil {
		return err
	}
	in := make([]duckdb.TypeInfo, nargs)
	for i := range in {
		in[i] = vt
	}
	return duckdb.RegisterScalarUDF(c, name, predicateFunc{in: in, out: bt, fn: fn})
}

type predicateFunc struct {
	in  []duckdb.TypeInfo
	out duckdb.TypeInfo
	fn  Predicate
}

func (f predicateFunc) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: f.in, ResultTypeInfo: f.out, Volatile: true}
}

func (f predicateFunc) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowContextExecutor: func(ctx context.Context, values []driver.Value) (any, error) {
		args := make([]string, len(values))
		for i, v := range values {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("argument %d must be text, got %T", i+1, v)
			}
			args[i] = s
		}
		return f.fn(ctx, args)
	}}
}
