package sql

// Lenient token scanning, for reading statements without a full grammar
// (ShapeOf, grant.go): dotted names, object kinds, parenthesized groups and
// top-level words.

// nameParts reads a dotted name of identifiers.
func (p *parser) nameParts() []string {
	var parts []string
	for {
		t := p.peek()
		if t.kind != tokIdent && t.kind != tokQuotedIdent {
			return parts
		}
		parts = append(parts, t.val)
		p.skip(1)
		if !p.acceptOp(".") {
			return parts
		}
	}
}

// objectWord reads the kind of object after CREATE / DROP / ALTER.
func (p *parser) objectWord() string {
	t := p.peek()
	if t.kind != tokIdent {
		return ""
	}
	p.skip(1)
	w := upperASCII(t.val)
	switch w {
	case "MATERIALIZED":
		p.acceptWords("view")
		return "MATERIALIZED VIEW"
	case "FUNCTION":
		return "MACRO"
	case "FOREIGN":
		p.acceptWords("table")
		return "FOREIGN TABLE"
	}
	return w
}

// skipParens skips a parenthesized group starting at the current token.
func (p *parser) skipParens() {
	depth := 0
	for p.i < len(p.toks) {
		t := p.next()
		switch {
		case isOp(t, "("):
			depth++
		case isOp(t, ")"):
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

// parensHoldQuery reports whether the parenthesized group at the current
// token starts with a query keyword (INSERT INTO t (SELECT ...)).
func (p *parser) parensHoldQuery() bool {
	n := p.peekAt(1)
	return isWord(n, "select") || isWord(n, "with") || isWord(n, "values") || isWord(n, "from")
}

// untilWords returns the text from the current token up to the first
// top-level occurrence of one of the words (or the end).
func (p *parser) untilWords(stmt string, words ...string) string {
	start, depth := p.i, 0
	for p.i < len(p.toks) {
		t := p.peek()
		switch {
		case isOp(t, "("):
			depth++
		case isOp(t, ")"):
			depth--
		case depth == 0 && t.kind == tokIdent:
			for _, w := range words {
				if t.val == w {
					if p.i == start {
						return ""
					}
					return stmt[p.toks[start].start:p.toks[p.i-1].end]
				}
			}
		}
		p.skip(1)
	}
	if start >= len(p.toks) {
		return ""
	}
	return stmt[p.toks[start].start:p.toks[len(p.toks)-1].end]
}

// hasWord reports whether a word appears at the top level from the current
// token on.
func (p *parser) hasWord(w string) bool {
	depth := 0
	for k := p.i; k < len(p.toks); k++ {
		t := p.toks[k]
		switch {
		case isOp(t, "("):
			depth++
		case isOp(t, ")"):
			depth--
		case depth == 0 && isWord(t, w):
			return true
		}
	}
	return false
}
