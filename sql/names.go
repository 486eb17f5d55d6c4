package sql

// The names and file references a statement mentions, read from its tokens
// alone (Names, MayNameFiles), for the privilege checks of statements DuckDB's
// parser does not serialise.

// NameRef is a name a statement mentions (Names).
type NameRef struct {
	Parts []string // a dotted name: [catalog.][schema.]name
	// Call is set when the name is followed by "(": a function; Arg is its
	// first argument when that is a string literal, ArgConstant says so.
	Call        bool
	Arg         string
	ArgConstant bool
	// Literal is set for a string literal where a relation may stand
	// (after FROM, JOIN, USING, INTO or a comma in a FROM list): DuckDB
	// reads a file so named.
	Literal bool
}

// Names returns every name a statement mentions, with the string literals
// that stand where DuckDB takes a relation: a conservative superset of
// what it reads, for statements DuckDB's parser does not serialise
// (UPDATE, DELETE, MERGE, ...). Keywords are not names.
func Names(stmt string) []NameRef {
	toks, err := lexAll(stmt)
	if err != nil {
		return nil
	}
	var out []NameRef
	inFrom := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokString:
			prev := token{}
			if i > 0 {
				prev = toks[i-1]
			}
			if isWord(prev, "from") || isWord(prev, "join") || isWord(prev, "using") || isWord(prev, "into") ||
				inFrom && isOp(prev, ",") {
				out = append(out, NameRef{Parts: []string{t.val}, Literal: true})
			}
		case tokIdent, tokQuotedIdent:
			call := i+1 < len(toks) && isOp(toks[i+1], "(")
			if t.kind == tokIdent && i == 0 {
				continue // the verb
			}
			if t.kind == tokIdent {
				switch t.val {
				case "from", "join", "using":
					inFrom = true
				case "where", "group", "order", "having", "limit", "set", "returning", "on", "when", "select", "values":
					inFrom = false
				}
				// A reserved word is never a name; a type or function
				// name keyword names only a function.
				switch k := keywordOf(t.val); {
				case k == reservedKeyword, k == typeFuncNameKeyword && !call:
					continue
				}
			}
			ref := NameRef{Parts: []string{t.val}}
			for i+2 < len(toks) && isOp(toks[i+1], ".") && (toks[i+2].kind == tokIdent || toks[i+2].kind == tokQuotedIdent) {
				ref.Parts = append(ref.Parts, toks[i+2].val)
				i += 2
			}
			if i+1 < len(toks) && isOp(toks[i+1], "(") {
				ref.Call = true
				if i+2 < len(toks) && toks[i+2].kind == tokString && i+3 < len(toks) && (isOp(toks[i+3], ")") || isOp(toks[i+3], ",")) {
					ref.Arg, ref.ArgConstant = toks[i+2].val, true
				}
			}
			out = append(out, ref)
		}
	}
	return out
}

// MayNameFiles reports whether a statement may name a file or one of the
// functions in funcs: it holds a string literal, a quoted identifier (a
// relation named by a path), or a word in funcs. It is the cheap test that
// spares a statement of a role that holds every privilege its analysis.
func MayNameFiles(stmt string, funcs map[string]bool) bool {
	l := lexer{src: stmt}
	for {
		t, err := l.next()
		if err != nil {
			return true
		}
		switch t.kind {
		case tokEOF:
			return false
		case tokString, tokQuotedIdent:
			return true
		case tokIdent:
			if funcs[t.val] {
				return true
			}
		}
	}
}
