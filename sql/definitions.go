package sql

import "strings"

// Helpers over definitions as text, for pipelines as code (package deploy):
// comparing a query with the one the catalog holds, reading plain view
// definitions (passed through to DuckDB, so not parsed into types), and
// turning a CREATE into a CREATE OR REPLACE.

// Normalize returns text as a canonical string of its tokens: comments and
// the amount of whitespace do not count, unquoted words are folded to lower
// case, and quotes are written one way (strings as '...'). Two statements
// that differ only in formatting normalize alike. Text that does not lex
// is returned trimmed, as written.
func Normalize(text string) string {
	toks, err := lexAll(text)
	if err != nil {
		return strings.TrimSpace(text)
	}
	var b strings.Builder
	for i, t := range toks {
		if t.kind == tokEOF {
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		switch t.kind {
		case tokIdent, tokNumber, tokOp, tokParam:
			b.WriteString(t.val)
		case tokQuotedIdent:
			b.WriteString(QuoteIdent(t.val))
		case tokString:
			b.WriteString(QuoteLiteral(t.val))
		}
	}
	return b.String()
}

// ViewDefinition reads CREATE [OR REPLACE] VIEW name [(columns)] AS query:
// the view's name, its column list as written ("" when none) and its
// query. ok is false for any other statement (TEMP views included).
func ViewDefinition(stmt string) (name Name, columns, query string, ok bool) {
	toks, err := lexAll(stmt)
	if err != nil || len(toks) < 4 {
		return Name{}, "", "", false
	}
	p := &parser{src: stmt, toks: toks[:len(toks)-1], end: toks[len(toks)-1]}
	if !p.acceptWords("create") {
		return Name{}, "", "", false
	}
	p.acceptWords("or", "replace")
	if !p.acceptWords("view") {
		return Name{}, "", "", false
	}
	p.acceptWords("if", "not", "exists")
	if name, err = p.name(); err != nil {
		return Name{}, "", "", false
	}
	if isOp(p.peek(), "(") {
		from := p.i
		if _, err := p.parenthesized(); err != nil {
			return Name{}, "", "", false
		}
		columns = stmt[p.toks[from].start:p.toks[p.i-1].end]
	}
	if !p.acceptWords("as") || p.i >= len(p.toks) {
		return Name{}, "", "", false
	}
	query = stmt[p.toks[p.i].start:p.toks[len(p.toks)-1].end]
	query = strings.TrimSuffix(strings.TrimSpace(query), ";")
	return name, columns, query, true
}

// OrReplace returns a CREATE statement as CREATE OR REPLACE, without IF NOT
// EXISTS (which OR REPLACE does not take), and otherwise as written. A
// statement that is not a CREATE, or already says OR REPLACE, is returned
// unchanged.
func OrReplace(stmt string) string {
	toks, err := lexAll(stmt)
	if err != nil || len(toks) < 2 || !isWord(toks[0], "create") || isWord(toks[1], "or") {
		return stmt
	}
	out := stmt[:toks[0].end] + " OR REPLACE" + stmt[toks[0].end:]
	shift := len(" OR REPLACE")
	for i := 1; i+2 < len(toks) && i < 6; i++ {
		if isWord(toks[i], "if") && isWord(toks[i+1], "not") && isWord(toks[i+2], "exists") {
			from, to := toks[i].start+shift, toks[i+2].end+shift
			for to < len(out) && (out[to] == ' ' || out[to] == '\t' || out[to] == '\n') {
				to++
			}
			out = out[:from] + out[to:]
			break
		}
	}
	return out
}
