//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/duckdb/duckdb-go/v2/arrowmapping"
	"github.com/duckdb/duckdb-go/v2/mapping"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// Stmt is a prepared statement on a Conn.
type Stmt struct {
	c         *Conn
	ps        mapping.PreparedStatement
	query     string
	kind      mapping.StatementType
	described bool
	params    []uint32
	cols      []pgcodec.Column
	rows      *Rows // the last rows Run returned
	closed    bool
}

// Prepare prepares one statement (the last, if query holds several; the
// ones before it run now).
func (c *Conn) Prepare(ctx context.Context, query string) (*Stmt, error) {
	ps, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return &Stmt{c: c, ps: ps, query: query, kind: mapping.PreparedStatementType(ps)}, nil
}

// describe maps parameter and result types through the same Arrow schema
// conversion execution uses, so Describe agrees with the executed result.
// It runs when they are first asked for: a statement that is only run
// never needs them.
func (s *Stmt) describe() {
	if s.described || s.closed {
		return
	}
	s.described = true
	var opts arrowmapping.ArrowOptions
	arrowmapping.ConnectionGetArrowOptions(s.c.conn, &opts)
	defer arrowmapping.DestroyArrowOptions(&opts)

	n := int(mapping.NParams(s.ps))
	s.params = make([]uint32, n)
	for i := range n {
		lt := mapping.ParamLogicalType(s.ps, mapping.IdxT(i+1))
		s.params[i] = describeType(opts, lt, "").OID
		mapping.DestroyLogicalType(&lt)
	}
	if !returnsRows(s.ps) {
		return
	}
	nc := mapping.PreparedStatementColumnCount(s.ps)
	s.cols = make([]pgcodec.Column, nc)
	for i := range nc {
		lt := mapping.PreparedStatementColumnLogicalType(s.ps, i)
		s.cols[i] = describeType(opts, lt, mapping.PreparedStatementColumnName(s.ps, i))
		mapping.DestroyLogicalType(&lt)
	}
}

// describeType maps a DuckDB logical type to a column; unresolved types
// (a parameter DuckDB could not infer) are text.
func describeType(opts arrowmapping.ArrowOptions, lt mapping.LogicalType, name string) pgcodec.Column {
	text := pgcodec.Column{Name: pgcodec.ColumnName(name), OID: pgcodec.TextOID, TypeSize: -1, TypeMod: -1}
	if lt.Ptr == nil {
		return text
	}
	switch mapping.GetTypeId(lt) {
	case mapping.TypeInvalid, mapping.TypeAny, mapping.TypeSQLNull:
		return text
	}
	schema, ed := arrowmapping.NewArrowSchema(opts, []mapping.LogicalType{lt}, []string{name})
	if errorData(ed) != nil {
		return text
	}
	col := pgcodec.ColumnsFromSchema(schema)[0]
	col.Type = nil
	return col
}

// returnsRows reports whether executing ps yields rows rather than a
// changed-row count or nothing. DuckDB's C API does not expose the
// prepared statement's return type, so DML is judged by its columns: a
// single BIGINT "Count" is the changed-row count, anything else RETURNING.
func returnsRows(ps mapping.PreparedStatement) bool {
	nc := mapping.PreparedStatementColumnCount(ps)
	switch mapping.PreparedStatementType(ps) {
	case mapping.StatementTypeSelect, mapping.StatementTypeExplain, mapping.StatementTypePragma,
		mapping.StatementTypeCall, mapping.StatementTypeRelation, mapping.StatementTypeLogicalPlan,
		mapping.StatementTypeExecute:
		return nc > 0
	case mapping.StatementTypeInsert, mapping.StatementTypeUpdate, mapping.StatementTypeDelete:
		if nc == 1 && mapping.PreparedStatementColumnName(ps, 0) == "Count" &&
			mapping.PreparedStatementColumnType(ps, 0) == mapping.TypeBigInt {
			return false
		}
		return nc > 0
	}
	return false
}

// NumParams returns the number of parameters.
func (s *Stmt) NumParams() int {
	s.describe()
	return len(s.params)
}

// ParamOIDs returns the parameter types DuckDB inferred; unknown ones are
// text (25).
func (s *Stmt) ParamOIDs() []uint32 {
	s.describe()
	return s.params
}

// Columns describes the result columns (Type nil), nil when the statement
// returns no rows.
func (s *Stmt) Columns() []pgcodec.Column {
	s.describe()
	return s.cols
}

// ReturnsRows reports whether the statement returns rows.
func (s *Stmt) ReturnsRows() bool { return s.Columns() != nil }

// IsQuery reports whether DuckDB prepared a query (its SELECT type: SELECT,
// VALUES, WITH ... SELECT, FROM ..., SHOW, DESCRIBE, SUMMARIZE) that
// returns rows. Preparing one changed nothing (unless the prepared text
// held several statements: the ones before the last ran), so the statement
// can be kept and run again in place of preparing its text anew.
func (s *Stmt) IsQuery() bool {
	return !s.closed && s.kind == mapping.StatementTypeSelect && mapping.PreparedStatementColumnCount(s.ps) > 0
}

// Run executes the statement with args. Rows it returns must be closed
// before the next statement runs on the Conn (running one closes them).
func (s *Stmt) Run(ctx context.Context, args ...any) (*Result, error) {
	if s.closed {
		return nil, pgerr.New(pgerrcode.InvalidSQLStatementName, "engine: prepared statement is closed")
	}
	if s.c.closed {
		return nil, errClosed
	}
	s.c.closeActive()
	res, err := s.c.execute(ctx, &s.ps, s.query, args, true, false)
	if err == nil {
		s.rows = res.Rows
	}
	return res, err
}

// Close releases the statement.
func (s *Stmt) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if a := s.c.active; a != nil && a == s.rows {
		// Rows of this statement may still stream; they need the statement.
		// Other statements' rows do not: they stay open.
		s.c.closeActive()
	}
	s.rows = nil
	mapping.DestroyPrepare(&s.ps)
	return nil
}

// bind binds args to ps's parameters ($1 is args[0]).
func bind(ps mapping.PreparedStatement, args []any) error {
	n := int(mapping.NParams(ps))
	if len(args) != n {
		return pgerr.New(pgerrcode.ProtocolViolation,
			"bind message supplies %d parameters, but prepared statement requires %d", len(args), n)
	}
	if n == 0 {
		return nil
	}
	mapping.ClearBindings(ps)
	for i, arg := range args {
		idx := mapping.IdxT(i + 1)
		var st mapping.State
		switch v := arg.(type) {
		case nil:
			st = mapping.BindNull(ps, idx)
		case bool:
			st = mapping.BindBoolean(ps, idx, v)
		case int:
			st = mapping.BindInt64(ps, idx, int64(v))
		case int8:
			st = mapping.BindInt8(ps, idx, v)
		case int16:
			st = mapping.BindInt16(ps, idx, v)
		case int32:
			st = mapping.BindInt32(ps, idx, v)
		case int64:
			st = mapping.BindInt64(ps, idx, v)
		case uint8:
			st = mapping.BindUInt8(ps, idx, v)
		case uint16:
			st = mapping.BindUInt16(ps, idx, v)
		case uint32:
			st = mapping.BindUInt32(ps, idx, v)
		case uint64:
			st = mapping.BindUInt64(ps, idx, v)
		case float32:
			st = mapping.BindFloat(ps, idx, v)
		case float64:
			st = mapping.BindDouble(ps, idx, v)
		case string:
			st = mapping.BindVarchar(ps, idx, v)
		case []byte:
			st = mapping.BindBlob(ps, idx, v)
		case time.Time:
			st = bindTime(ps, idx, v)
		case pgcodec.Interval:
			st = mapping.BindInterval(ps, idx, mapping.NewInterval(v.Months, v.Days, v.Micros))
		case fmt.Stringer:
			st = mapping.BindVarchar(ps, idx, v.String())
		default:
			return pgerr.New(pgerrcode.FeatureNotSupported, "engine: cannot bind parameter $%d of Go type %T", i+1, arg)
		}
		if st == mapping.StateError {
			return pgerr.New(pgerrcode.InvalidParameterValue, "engine: cannot bind parameter $%d: %s", i+1, mapping.PrepareError(ps))
		}
	}
	return nil
}

// bindTime binds t as the parameter's date/time type (TIMESTAMP if unknown).
func bindTime(ps mapping.PreparedStatement, idx mapping.IdxT, t time.Time) mapping.State {
	t = t.UTC()
	switch mapping.ParamType(ps, idx) {
	case mapping.TypeDate:
		days := t.Unix() / 86400
		if t.Unix() < 0 && t.Unix()%86400 != 0 {
			days--
		}
		return mapping.BindDate(ps, idx, mapping.NewDate(int32(days)))
	case mapping.TypeTime:
		h, m, s := t.Clock()
		us := int64(h)*3600e6 + int64(m)*60e6 + int64(s)*1e6 + int64(t.Nanosecond()/1000)
		return mapping.BindTime(ps, idx, mapping.NewTime(us))
	case mapping.TypeTimestampTZ:
		return mapping.BindTimestampTZ(ps, idx, mapping.NewTimestamp(t.UnixMicro()))
	}
	return mapping.BindTimestamp(ps, idx, mapping.NewTimestamp(t.UnixMicro()))
}
