package sql

import (
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Copy is COPY ... FROM STDIN or COPY ... TO STDOUT: the data travels over
// the client connection. COPY to or from a file is passed through to DuckDB.
type Copy struct {
	Span
	Table   *Name    // the table; nil when Query is set
	Columns []string // the column list, nil for all columns
	Query   string   // COPY (query) TO STDOUT: the query's text
	From    bool     // FROM STDIN; false is TO STDOUT
	// Options are the options in their modern form: format (text, csv or
	// binary), header, delimiter, null, quote, escape, encoding. The legacy
	// forms (CSV, BINARY, HEADER, DELIMITER [AS] 'x', ...) are normalized.
	Options []Option
}

// atCopy reports whether the statement is a COPY over the client
// connection (FROM STDIN / TO STDOUT), which the gateway serves itself.
func (p *parser) atCopy() bool {
	if !p.atWords("copy") {
		return false
	}
	depth := 0
	for k := 1; p.i+k < len(p.toks); k++ {
		t := p.toks[p.i+k]
		switch {
		case isOp(t, "("):
			depth++
		case isOp(t, ")"):
			depth--
		case depth == 0 && (isWord(t, "from") || isWord(t, "to")):
			n := p.peekAt(k + 1)
			return isWord(n, "stdin") || isWord(n, "stdout")
		}
	}
	return false
}

// COPY name [(cols)] FROM STDIN [[WITH] options] |
// COPY {name [(cols)] | (query)} TO STDOUT [[WITH] options]
func (p *parser) copyStmt() (Statement, error) {
	p.skip(1)
	st := &Copy{Span: p.span()}
	var err error
	if isOp(p.peek(), "(") {
		if st.Query, err = p.parenthesized(); err != nil {
			return nil, err
		}
	} else {
		n, err := p.name()
		if err != nil {
			return nil, err
		}
		st.Table = &n
		if isOp(p.peek(), "(") {
			if st.Columns, err = p.columnList(); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case p.acceptWords("from", "stdin"):
		st.From = true
		if st.Query != "" {
			return nil, pgerr.Syntax(charPos(p.src, p.toks[0].start), "COPY (query) FROM is not supported")
		}
	case p.acceptWords("to", "stdout"):
	default:
		return nil, p.syntaxError(p.peek())
	}
	p.acceptWords("with")
	if isOp(p.peek(), "(") {
		if st.Options, err = p.copyOptionList(); err != nil {
			return nil, err
		}
	} else if st.Options, err = p.legacyCopyOptions(); err != nil {
		return nil, err
	}
	return st, p.expectEnd()
}

// legacyCopyOptions parses the options of COPY before PostgreSQL 9.0:
// BINARY, CSV, HEADER, DELIMITER [AS] 'c', NULL [AS] 'x', QUOTE [AS] 'c',
// ESCAPE [AS] 'c', ENCODING 'name'.
func (p *parser) legacyCopyOptions() ([]Option, error) {
	var opts []Option
	for p.i < len(p.toks) {
		t := p.next()
		pos := charPos(p.src, t.start)
		switch {
		case isWord(t, "binary"), isWord(t, "csv"):
			opts = append(opts, Option{Key: "format", Value: Value{Kind: ValueIdent, Text: t.val}, Pos: pos})
		case isWord(t, "header"):
			opts = append(opts, Option{Key: "header", Value: Value{Kind: ValueBool, Text: "true"}, Pos: pos})
		case isWord(t, "delimiter"), isWord(t, "null"), isWord(t, "quote"), isWord(t, "escape"), isWord(t, "encoding"):
			p.acceptWords("as")
			s, err := p.stringLit()
			if err != nil {
				return nil, err
			}
			opts = append(opts, Option{Key: t.val, Value: Value{Kind: ValueString, Text: s}, Pos: pos})
		case isWord(t, "force"):
			return nil, pgerr.New(pgerrcode.FeatureNotSupported, "COPY FORCE options are not supported").WithPosition(pos)
		default:
			return nil, p.syntaxError(t)
		}
	}
	return opts, nil
}

// copyOptionList parses ( name [value] [, ...] ); a name alone is true.
func (p *parser) copyOptionList() ([]Option, error) {
	var opts []Option
	err := p.commaList(func() error {
		t := p.peek()
		key, err := p.label()
		if err != nil {
			return err
		}
		opt := Option{Key: key, Value: Value{Kind: ValueBool, Text: "true"}, Pos: charPos(p.src, t.start)}
		if n := p.peek(); !isOp(n, ",") && !isOp(n, ")") {
			if opt.Value, err = p.value(); err != nil {
				return err
			}
		}
		opts = append(opts, opt)
		return nil
	})
	return opts, err
}
