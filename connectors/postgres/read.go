package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// position is a parsed Position: the start (""), before every non-NULL
// cursor value ({"cursor":null}, what Latest says while the cursor column
// holds only NULLs), or after value ({"cursor":"42"}).
type position struct {
	start bool
	null  bool
	value string
}

type positionJSON struct {
	Cursor *string `json:"cursor"`
}

func parsePosition(p connectors.Position) (position, error) {
	if p == "" {
		return position{start: true}, nil
	}
	var raw map[string]json.RawMessage
	err := json.Unmarshal([]byte(p), &raw)
	v, ok := raw["cursor"]
	if err != nil || !ok || len(raw) != 1 {
		return position{}, pgerr.InvalidParameter("%q is not a POSTGRES source position (want {\"cursor\": \"<value>\"})", string(p))
	}
	if string(v) == "null" {
		return position{null: true}, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil || strings.IndexByte(s, 0) >= 0 {
		return position{}, pgerr.InvalidParameter("%q is not a POSTGRES source position (want {\"cursor\": \"<value>\"})", string(p))
	}
	return position{value: s}, nil
}

func (p position) encode() connectors.Position {
	var j positionJSON
	if !p.null {
		j.Cursor = &p.value
	}
	b, _ := json.Marshal(j)
	return connectors.Position(b)
}

// ref is column i in the read's SELECT.
func ref(i int) string { return "q.c" + strconv.Itoa(i+1) }

// quoteLiteral is s as an SQL string literal (PostgreSQL's quote_literal).
// COPY takes no parameters, so cursor values are inlined.
func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.ContainsRune(s, '\\') {
		q = "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}

func errNoCursor() error {
	return pgerr.Unsupported("incremental reads of a POSTGRES source need option cursor_column")
}

// Latest is the cursor column's maximum now.
func (s *source) Latest(ctx context.Context) (connectors.Position, error) {
	if s.cursor < 0 {
		return "", errNoCursor()
	}
	var v pgtype.Text
	err := s.withMeta(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT max("+ref(s.cursor)+")::text FROM "+s.rel+s.alias).Scan(&v)
	})
	if err != nil {
		return "", s.fail(ctx, "reading the cursor's maximum", err)
	}
	return position{null: !v.Valid, value: v.String}.encode(), nil
}

// Plan splits the read of (from, to]. Without cursor_column only the full
// read ("", "") is possible.
func (s *source) Plan(ctx context.Context, from, to connectors.Position) ([]connectors.Split, error) {
	if s.cursor < 0 {
		if from != "" || to != "" {
			return nil, errNoCursor()
		}
		return s.split(ctx, "", position{start: true})
	}
	lo, err := parsePosition(from)
	if err != nil {
		return nil, err
	}
	if to == "" {
		if to, err = s.Latest(ctx); err != nil {
			return nil, err
		}
	}
	hi, err := parsePosition(to)
	if err != nil {
		return nil, err
	}
	if hi.start {
		return nil, pgerr.InvalidParameter("a read cannot end at the start")
	}
	// NULL cursors sort first: only a read from the start returns them.
	c := ref(s.cursor)
	var conds []string
	switch {
	case lo.null:
		conds = append(conds, c+" IS NOT NULL")
	case !lo.start:
		conds = append(conds, c+" > "+quoteLiteral(lo.value))
	}
	switch {
	case hi.null:
		conds = append(conds, c+" IS NULL")
	case lo.start:
		conds = append(conds, "("+c+" IS NULL OR "+c+" <= "+quoteLiteral(hi.value)+")")
	default:
		conds = append(conds, c+" <= "+quoteLiteral(hi.value))
	}
	return s.split(ctx, strings.Join(conds, " AND "), lo)
}

// split plans the read of the rows matching where: one split, or, for a
// table whose read covers more than splitMinRows rows, s.parallel ranges
// of an indexed integer column, each read on its own connection. The
// splits are separate transactions: they agree on what they read only as
// far as where pins it (the cursor bounds).
func (s *source) split(ctx context.Context, where string, from position) ([]connectors.Split, error) {
	one := []connectors.Split{&split{s: s, where: where}}
	col := -1
	switch {
	case s.table == "" || s.parallel == 1:
	case s.cursor >= 0 && s.cursorIndexed:
		col = s.cursor
	case from.start && s.pk >= 0: // a full read: by the primary key
		col = s.pk
	}
	if col < 0 {
		return one, nil
	}
	c := ref(col)
	w := ""
	if where != "" {
		w = " WHERE " + where
	}
	var (
		reltuples              float64
		tmin, tmax, rmin, rmax pgtype.Int8
	)
	err := s.withMeta(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT (SELECT reltuples::float8 FROM pg_class WHERE oid = $1::regclass),
		(SELECT min(`+c+`) FROM `+s.rel+s.alias+`), (SELECT max(`+c+`) FROM `+s.rel+s.alias+`),
		(SELECT min(`+c+`) FROM `+s.rel+s.alias+w+`), (SELECT max(`+c+`) FROM `+s.rel+s.alias+w+`)`,
			s.table).Scan(&reltuples, &tmin, &tmax, &rmin, &rmax)
	})
	if err != nil {
		return nil, s.fail(ctx, "planning the read", err)
	}
	if !rmin.Valid || reltuples < splitMinRows { // reltuples is -1 before the first ANALYZE
		return one, nil
	}
	span := uint64(rmax.Int64) - uint64(rmin.Int64) // exact: rmax >= rmin
	estimate := reltuples
	if tspan := uint64(tmax.Int64) - uint64(tmin.Int64); tspan > 0 {
		estimate = reltuples * (float64(span) + 1) / (float64(tspan) + 1)
	}
	n := uint64(s.parallel)
	if estimate < splitMinRows || span < n {
		return one, nil
	}
	step := span/n + 1
	splits := make([]connectors.Split, 0, n)
	for i := range n {
		lo := rmin.Int64 + int64(i*step) // wraps exactly like the uint64 offset
		if i*step > span {
			break
		}
		hi := rmax.Int64
		if (i+1)*step-1 < span {
			hi = lo + int64(step-1)
		}
		r := fmt.Sprintf("%s BETWEEN %d AND %d", c, lo, hi)
		if i == 0 && col == s.cursor && from.start {
			r = "(" + c + " IS NULL OR " + r + ")"
		}
		if where != "" {
			r = where + " AND " + r
		}
		splits = append(splits, &split{s: s, where: r})
	}
	s.log.DebugContext(ctx, "postgres: split read", "table", s.table, "splits", len(splits), "estimated_rows", int64(estimate))
	return splits, nil
}

// split is one COPY: the rows of the source matching where.
type split struct {
	s     *source
	where string
}

// selectSQL is the query the split copies: every column by position, cast
// to text where the connector reads the text form.
func (sp *split) selectSQL() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range sp.s.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ref(i) + c.cast)
	}
	b.WriteString(" FROM " + sp.s.rel + sp.s.alias)
	if sp.where != "" {
		b.WriteString(" WHERE " + sp.where)
	}
	return b.String()
}

// Open connects and starts the COPY; batches are decoded as the caller
// asks for them (at most one batch ahead).
func (sp *split) Open(ctx context.Context) (connectors.BatchReader, error) {
	s := sp.s
	conn, err := pgconn.ConnectConfig(ctx, s.connCfg)
	if err != nil {
		return nil, s.fail(ctx, "connecting", err)
	}
	s.noteTLS(conn)
	rctx, cancel := context.WithCancel(ctx)
	r := &reader{ctx: rctx, cancel: cancel, ch: make(chan arrow.RecordBatch, 1)}
	go r.run(s, conn, sp.selectSQL())
	return r, nil
}

// reader hands over the batches its goroutine decodes from the COPY.
type reader struct {
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan arrow.RecordBatch // closed when the COPY is over
	err    error                  // why it is over (io.EOF = the end); set before ch closes
	once   sync.Once
}

// run describes the query (the table may have changed since Open), runs
// the COPY through the decoder, and closes the connection.
func (r *reader) run(s *source, conn *pgconn.PgConn, query string) {
	defer close(r.ch)
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	err := r.copy(s, conn, query)
	switch {
	case err == nil:
		r.err = io.EOF
	case r.ctx.Err() != nil:
		r.err = canceled(r.ctx)
	default:
		r.err = s.fail(r.ctx, "reading", err)
	}
}

func (r *reader) copy(s *source, conn *pgconn.PgConn, query string) error {
	desc, err := conn.Prepare(r.ctx, "", query, nil)
	if err != nil {
		return err
	}
	if err := checkFields(s.cols, desc.Fields); err != nil {
		return err
	}
	rb := array.NewRecordBuilder(s.mem, s.schema)
	defer rb.Release()
	dec := newCopyDecoder(s.cols, rb, s.batchRows, batchBytes, func(rec arrow.RecordBatch) error {
		select {
		case r.ch <- rec:
			return nil
		case <-r.ctx.Done():
			rec.Release()
			return r.ctx.Err()
		}
	})
	if _, err := conn.CopyTo(r.ctx, dec, "COPY ("+query+") TO STDOUT (FORMAT binary)"); err != nil {
		return err
	}
	return dec.finish()
}

// checkFields checks that the query still returns what the decoders
// expect: the types, and numeric's scale.
func checkFields(cols []column, fields []pgconn.FieldDescription) error {
	if len(fields) != len(cols) {
		return pgerr.New(pgerrcode.DatatypeMismatch, "the POSTGRES source now returns %d columns, not %d; recreate the source", len(fields), len(cols))
	}
	for i, c := range cols {
		f := fields[i]
		if f.DataTypeOID != c.wireOID || c.kind == kDecimal && c.cast == "" && f.TypeModifier != c.typmod {
			return pgerr.New(pgerrcode.DatatypeMismatch, "column %q of the POSTGRES source changed type since the source was created; recreate the source", c.name)
		}
	}
	return nil
}

func canceled(ctx context.Context) error {
	return &pgerr.Error{Code: pgerrcode.QueryCanceled, Message: "POSTGRES source: the read was canceled", Cause: ctx.Err()}
}

// Next returns the next batch, or io.EOF after the last.
func (r *reader) Next() (arrow.RecordBatch, error) {
	if r.ctx.Err() != nil {
		return nil, canceled(r.ctx)
	}
	select {
	case rec, ok := <-r.ch:
		if !ok {
			return nil, r.err
		}
		return rec, nil
	case <-r.ctx.Done():
		return nil, canceled(r.ctx)
	}
}

// Close stops the COPY if it is still running and waits for its goroutine.
func (r *reader) Close() error {
	r.once.Do(func() {
		r.cancel()
		for rec := range r.ch {
			rec.Release()
		}
	})
	return nil
}

var (
	_ connectors.Source      = (*source)(nil)
	_ connectors.BatchReader = (*reader)(nil)
)
