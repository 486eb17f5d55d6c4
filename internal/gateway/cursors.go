package gateway

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/wire"
)

// SQL cursors (DECLARE, FETCH, MOVE, CLOSE), as psql's FETCH_COUNT and the
// server-side cursors of drivers use them: the query's rows stream from
// DuckDB as FETCH asks for them, so the first rows of a large result reach
// the client before the last are computed, and the gateway holds one
// batch at a time. A cursor lives in its transaction block (WITHOUT HOLD)
// and scans forward (NO SCROLL). As with a suspended portal, another
// statement that runs SQL on the session while a cursor is open ends the
// cursor's stream (DuckDB streams one result per connection): its next
// FETCH fails with 0A000.

// sqlCursor is a DECLAREd cursor.
type sqlCursor struct {
	name string
	cur  *cursor
	cols []pgcodec.Column
	// The rows outlive the DECLARE that started them, so they run under
	// a context of their own; each FETCH's context (cancel,
	// statement_timeout) cancels it while the FETCH runs.
	cancel context.CancelFunc
	ended  bool // every row was fetched
}

func (sc *sqlCursor) close() {
	sc.cur.close()
	sc.cancel()
}

// declareCursor starts the cursor's query, checked and run as the query
// itself would be.
func (s *session) declareCursor(ctx context.Context, st *sql.DeclareCursor, w wire.ResultWriter) (*cursor, error) {
	if s.tx == txIdle {
		return nil, pgerr.New(pgerrcode.NoActiveSQLTransaction, "DECLARE CURSOR can only be used in transaction blocks")
	}
	if _, ok := s.cursors[st.Name]; ok {
		return nil, pgerr.New(pgerrcode.DuplicateCursor, "cursor %q already exists", st.Name)
	}
	// Positions of errors in the query count from the DECLARE.
	shift := func(err error) error {
		pe := pgerr.As(err)
		if pe.Position > 0 {
			pe = pe.WithPosition(int(pe.Position) + runeCount(st.Text()[:st.Query.Offset-st.Offset]))
		}
		return pe
	}
	inner, err := sql.Parse(st.Query.Text())
	if err != nil {
		return nil, shift(err)
	}
	q, ok := inner[0].(*sql.Passthrough)
	if len(inner) != 1 || !ok {
		return nil, pgerr.New(pgerrcode.InvalidCursorDefinition, "DECLARE CURSOR must be a SELECT, VALUES or TABLE query")
	}
	switch kw := sql.LeadingKeywords(q.Text(), 1); {
	case len(kw) == 0, kw[0] != "SELECT" && kw[0] != "WITH" && kw[0] != "VALUES" && kw[0] != "TABLE" && kw[0] != "FROM" && kw[0] != "(":
		return nil, pgerr.New(pgerrcode.InvalidCursorDefinition, "DECLARE CURSOR must be a SELECT, VALUES or TABLE query")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel) // the DECLARE's cancel stops the start
	c, err := s.start(runCtx, q, nil, nil, w, nil)
	stop()
	if err != nil {
		cancel()
		return nil, shift(err)
	}
	if c.rows == nil {
		c.close()
		cancel()
		return nil, pgerr.New(pgerrcode.InvalidCursorDefinition, "DECLARE CURSOR must be a query that returns rows")
	}
	if s.cursors == nil {
		s.cursors = map[string]*sqlCursor{}
	}
	s.cursors[st.Name] = &sqlCursor{name: st.Name, cur: c, cols: c.rows.Columns(), cancel: cancel}
	return s.done("DECLARE CURSOR", c.notices...), nil
}

// cursorColumns is what Describe says of a FETCH: the cursor's columns
// when it is open (nil for MOVE or an unknown cursor).
func (s *session) cursorColumns(st *sql.Fetch) []pgcodec.Column {
	if sc, ok := s.cursors[st.Cursor]; ok && !st.Move {
		return sc.cols
	}
	return nil
}

// fetch sends (or, for MOVE, skips) up to st.Count rows of the cursor.
func (s *session) fetch(ctx context.Context, st *sql.Fetch, w wire.ResultWriter) (*cursor, error) {
	sc, ok := s.cursors[st.Cursor]
	if !ok {
		return nil, pgerr.New(pgerrcode.InvalidCursorName, "cursor %q does not exist", st.Cursor)
	}
	verb := "FETCH"
	if st.Move {
		verb = "MOVE"
	}
	var emit func(arrow.RecordBatch) error
	if !st.Move {
		if err := w.Columns(sc.cols); err != nil {
			return nil, err
		}
		emit = w.Rows
	}
	var n int64
	if !sc.ended {
		defer context.AfterFunc(ctx, sc.cancel)()
		sent, more, err := sc.cur.sendRows(emit, st.Count)
		if err != nil {
			// The cursor cannot go on: PostgreSQL's cursors fail with
			// their transaction; this one is closed now.
			sc.close()
			delete(s.cursors, st.Cursor)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		n, sc.ended = sent, !more
	}
	return s.done(fmt.Sprintf("%s %d", verb, n)), nil
}

// closeCursor is CLOSE name and CLOSE ALL.
func (s *session) closeCursor(st *sql.CloseCursor) (*cursor, error) {
	if st.All {
		s.closeCursors()
		return s.done("CLOSE CURSOR ALL"), nil
	}
	sc, ok := s.cursors[st.Name]
	if !ok {
		return nil, pgerr.New(pgerrcode.InvalidCursorName, "cursor %q does not exist", st.Name)
	}
	sc.close()
	delete(s.cursors, st.Name)
	return s.done("CLOSE CURSOR"), nil
}

// closeCursors closes every cursor: at the end of their transaction and of
// the session.
func (s *session) closeCursors() {
	for name, sc := range s.cursors {
		sc.close()
		delete(s.cursors, name)
	}
}
