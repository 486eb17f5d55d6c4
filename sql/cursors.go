package sql

import (
	"strconv"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Parsing of SQL cursors: DECLARE, FETCH, MOVE and CLOSE, as psql's
// FETCH_COUNT and the server-side cursors of psycopg and other drivers send
// them. Cursors scan forward only (NO SCROLL) and end with their
// transaction (WITHOUT HOLD); the other forms are refused with 0A000.

// DeclareCursor is DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE]
// [NO SCROLL] CURSOR [WITHOUT HOLD] FOR query.
type DeclareCursor struct {
	Span
	Name  string
	Query Span // the query's text, passed through like any query
}

// FetchAll is Fetch.Count for FETCH ALL / FORWARD ALL.
const FetchAll = -1

// Fetch is FETCH or MOVE [NEXT | FORWARD [count | ALL] | count | ALL |
// ...] [FROM | IN] name; backward and absolute directions are refused.
type Fetch struct {
	Span
	Move   bool  // MOVE: position the cursor, return no rows
	Count  int64 // rows to fetch or skip; FetchAll for all that remain
	Cursor string
}

// CloseCursor is CLOSE name or CLOSE ALL.
type CloseCursor struct {
	Span
	Name string // "" with All
	All  bool
}

// atCursorStatement reports whether the statement is one of the cursor
// statements. FETCH FIRST and the like are a query's clause, never at
// the start of a statement.
func (p *parser) atCursorStatement() bool {
	return p.atWords("declare") || p.atWords("fetch") || p.atWords("move") || p.atWords("close")
}

func (p *parser) cursorStatement() (Statement, error) {
	switch {
	case p.atWords("declare"):
		return p.declareCursor()
	case p.atWords("close"):
		p.skip(1)
		st := &CloseCursor{Span: p.span()}
		if p.acceptWords("all") {
			st.All = true
			return st, p.expectEnd()
		}
		var err error
		if st.Name, err = p.colID(); err != nil {
			return nil, err
		}
		return st, p.expectEnd()
	}
	return p.fetch()
}

func (p *parser) declareCursor() (Statement, error) {
	p.skip(1)
	st := &DeclareCursor{Span: p.span()}
	var err error
	if st.Name, err = p.colID(); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case p.acceptWords("binary"):
			return nil, p.unsupported(t, "DECLARE ... BINARY CURSOR is not supported; fetch in text, or use the extended protocol's binary results")
		case p.acceptWords("asensitive"), p.acceptWords("insensitive"):
			continue
		case p.acceptWords("no", "scroll"):
			continue
		case p.acceptWords("scroll"):
			return nil, p.unsupported(t, "DECLARE ... SCROLL CURSOR is not supported: Sluice's cursors scan forward only")
		}
		break
	}
	if err := p.expectWords("cursor"); err != nil {
		return nil, err
	}
	if t := p.peek(); p.acceptWords("with", "hold") {
		return nil, p.unsupported(t, "DECLARE ... CURSOR WITH HOLD is not supported: a cursor ends with its transaction")
	}
	p.acceptWords("without", "hold")
	if err := p.expectWords("for"); err != nil {
		return nil, err
	}
	if p.i >= len(p.toks) {
		return nil, p.syntaxError(p.peek())
	}
	q, last := p.toks[p.i], p.toks[len(p.toks)-1]
	st.Query = Span{SQL: p.src[q.start:last.end], Offset: q.start}
	return st, nil
}

// fetch parses FETCH and MOVE with the forward directions.
func (p *parser) fetch() (Statement, error) {
	move := p.atWords("move")
	p.skip(1)
	st := &Fetch{Span: p.span(), Move: move, Count: 1}
	count := func() (int64, bool, error) {
		t := p.peek()
		neg := false
		if isOp(t, "-") || isOp(t, "+") {
			neg = isOp(t, "-")
			t = p.peekAt(1)
			if t.kind != tokNumber {
				return 0, false, p.syntaxError(t)
			}
			p.skip(1)
		}
		if t.kind != tokNumber {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			return 0, false, p.syntaxError(t)
		}
		p.skip(1)
		if neg {
			n = -n
		}
		return n, true, nil
	}
	backward := func(t token) error {
		e := pgerr.New(pgerrcode.ObjectNotInPrerequisiteState, "cursor can only scan forward").WithPosition(charPos(p.src, t.start))
		e.Hint = "Sluice's cursors are NO SCROLL: fetch forward only."
		return e
	}
	current := func(t token) error {
		return p.unsupported(t, "fetching the current row again (FETCH 0, RELATIVE 0) is not supported")
	}
	t := p.peek()
	switch {
	case p.acceptWords("next"):
	case p.acceptWords("all"):
		st.Count = FetchAll
	case p.acceptWords("forward"):
		if p.acceptWords("all") {
			st.Count = FetchAll
		} else if n, ok, err := count(); err != nil {
			return nil, err
		} else if ok {
			if n < 0 {
				return nil, backward(t)
			}
			if n == 0 {
				return nil, current(t)
			}
			st.Count = n
		}
	case p.acceptWords("relative"):
		n, ok, err := count()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.syntaxError(p.peek())
		}
		if n < 0 {
			return nil, backward(t)
		}
		if n == 0 {
			return nil, current(t)
		}
		return nil, p.unsupported(t, "FETCH RELATIVE is not supported; use FORWARD")
	case p.atWords("prior"), p.atWords("first"), p.atWords("last"), p.atWords("absolute"), p.atWords("backward"):
		return nil, backward(t)
	default:
		n, ok, err := count()
		if err != nil {
			return nil, err
		}
		if ok {
			if n < 0 {
				return nil, backward(t)
			}
			if n == 0 {
				return nil, current(t)
			}
			st.Count = n
		}
	}
	if !p.acceptWords("from") {
		p.acceptWords("in")
	}
	var err error
	if st.Cursor, err = p.colID(); err != nil {
		return nil, err
	}
	return st, p.expectEnd()
}

// unsupported is a 0A000 error positioned at t.
func (p *parser) unsupported(t token, msg string) *pgerr.Error {
	return pgerr.Unsupported("%s", msg).WithPosition(charPos(p.src, t.start))
}
