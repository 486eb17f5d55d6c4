package sql

import "strings"

// RequalifySchema returns stmt with every reference schema.name, where
// schema is `from` and name is in names, re-qualified with schema `to`; the
// rest of the text is unchanged. It works on tokens, so strings, comments
// and quoted identifiers are respected, and it does not care which client
// wrote the query: it is name resolution, like a search path. The gateway
// uses it to resolve pg_catalog names that Sluice overlays.
func RequalifySchema(stmt, from, to string, names map[string]bool) string {
	if !containsFold(stmt, from) {
		return stmt
	}
	toks, err := lexAll(stmt)
	if err != nil {
		return stmt
	}
	var out strings.Builder
	last := 0
	for i, t := range toks {
		// schema . name, not catalog . schema . name
		if i < 2 || !isName(t) || !isOp(toks[i-1], ".") || !isName(toks[i-2]) || toks[i-2].val != from ||
			i >= 3 && isOp(toks[i-3], ".") {
			continue
		}
		switch {
		case names[t.val]:
			out.WriteString(stmt[last:toks[i-2].start])
			out.WriteString(to)
			out.WriteString(".")
			last = t.start
		case i+1 < len(toks) && isOp(toks[i+1], "("):
			// A function the overlay does not define: DuckDB's own, whose
			// functions are not bound to a schema.
			out.WriteString(stmt[last:toks[i-2].start])
			last = t.start
		}
	}
	if last == 0 {
		return stmt
	}
	out.WriteString(stmt[last:])
	return out.String()
}

func isName(t token) bool { return t.kind == tokIdent || t.kind == tokQuotedIdent }

func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// TranslateSyntax returns stmt with PostgreSQL syntax that DuckDB lacks
// rewritten, token by token, whoever wrote the query:
//
//   - OPERATOR(pg_catalog.op) becomes the plain operator op;
//   - COLLATE pg_catalog.default (the default collation) is dropped;
//   - a cast to a pg_catalog-qualified type, ::pg_catalog.t, becomes ::t;
//   - a cast to a type in funcs, operand::t, becomes a call funcs[t](operand),
//     for types DuckDB cannot define (regclass and the other OID aliases).
//
// The operand of a cast is the primary expression before "::": a literal, a
// parameter, a (qualified) name, or a parenthesized expression with the
// function name that may precede it. Unbalanced input is returned unchanged.
func TranslateSyntax(stmt string, funcs map[string]string) string {
	if !strings.Contains(stmt, "::") && !containsFold(stmt, "operator") && !containsFold(stmt, "collate") &&
		!containsFold(stmt, "json_build_object") {
		return stmt
	}
	l := &lexer{src: stmt}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return stmt
		}
		if t.kind == tokEOF {
			break
		}
		toks = append(toks, t)
	}
	// edits replace the source text [start, end) with text; they never overlap
	// except casts that wrap earlier edits, handled by rebuilding from pieces.
	type piece struct {
		start, end int
		text       string
	}
	var out []piece // the statement as pieces of source or replacement text
	src := func(t token) piece { return piece{t.start, t.end, stmt[t.start:t.end]} }
	isKw := func(i int, w string) bool { return i < len(toks) && toks[i].kind == tokIdent && toks[i].val == w }
	isO := func(i int, op string) bool { return i >= 0 && i < len(toks) && isOp(toks[i], op) }
	changed := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case isKw(i, "json_build_object") && isO(i+1, "(") && !isO(i-1, "."):
			// PostgreSQL's variadic json_build_object is DuckDB's json_object.
			out = append(out, piece{t.start, t.end, "json_object"})
			changed = true
		case isKw(i, "operator") && isO(i+1, "(") && isKw(i+2, "pg_catalog") && isO(i+3, ".") &&
			i+5 < len(toks) && toks[i+4].kind == tokOp && isO(i+5, ")"):
			out = append(out, piece{t.start, toks[i+5].end, toks[i+4].val})
			i += 5
			changed = true
		case isKw(i, "collate") && isKw(i+1, "pg_catalog") && isO(i+2, ".") && i+3 < len(toks) &&
			isName(toks[i+3]) && toks[i+3].val == "default":
			out = append(out, piece{t.start, toks[i+3].end, ""})
			i += 3
			changed = true
		case isO(i, "::"):
			j := i + 1
			if isKw(j, "pg_catalog") && isO(j+1, ".") {
				j += 2
			}
			if j >= len(toks) || !isName(toks[j]) {
				out = append(out, src(t))
				continue
			}
			fn, ok := funcs[toks[j].val]
			if !ok {
				if j != i+1 { // drop the pg_catalog qualifier
					out = append(out, piece{t.start, toks[j].end, "::" + stmt[toks[j].start:toks[j].end]})
					i = j
					changed = true
				} else {
					out = append(out, src(t))
				}
				continue
			}
			// Find the operand: pieces at the end of out from the start of
			// the primary expression before "::".
			k, ok := operandStart(toks, i)
			if !ok {
				out = append(out, src(t))
				continue
			}
			p := len(out)
			for p > 0 && out[p-1].start >= toks[k].start {
				p--
			}
			var b strings.Builder
			b.WriteString(fn)
			b.WriteString("(")
			for q, pc := range out[p:] {
				if q > 0 && pc.start > out[p+q-1].end {
					b.WriteString(stmt[out[p+q-1].end:pc.start])
				}
				b.WriteString(pc.text)
			}
			b.WriteString(")")
			out = append(out[:p], piece{toks[k].start, toks[j].end, b.String()})
			i = j
			changed = true
		default:
			out = append(out, src(t))
		}
	}
	if !changed {
		return stmt
	}
	var b strings.Builder
	last := 0
	for _, pc := range out {
		b.WriteString(stmt[last:pc.start])
		b.WriteString(pc.text)
		last = pc.end
	}
	b.WriteString(stmt[last:])
	return b.String()
}

// operandStart returns the index of the first token of the primary
// expression that ends just before toks[i] (a "::").
func operandStart(toks []token, i int) (int, bool) {
	k := i - 1
	if k < 0 {
		return 0, false
	}
	switch t := toks[k]; {
	case isOp(t, ")"), isOp(t, "]"):
		open, close := "(", ")"
		if t.val == "]" {
			open, close = "[", "]"
		}
		depth := 0
		for ; k >= 0; k-- {
			if isOp(toks[k], close) {
				depth++
			} else if isOp(toks[k], open) {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if k < 0 {
			return 0, false
		}
		if k > 0 && isOperandName(toks[k-1]) { // a function call
			k--
		} else {
			return k, true
		}
	case t.kind == tokString, t.kind == tokNumber, t.kind == tokParam:
		return k, true
	case isOperandName(t):
	default:
		return 0, false
	}
	// A (qualified) name: walk back over name . name . name
	for k >= 2 && isOp(toks[k-1], ".") && isOperandName(toks[k-2]) {
		k -= 2
	}
	return k, true
}

// isOperandName reports whether t can name a column or function: a quoted
// name, or a word that is not a reserved keyword (SELECT, WHERE, ...).
func isOperandName(t token) bool {
	return t.kind == tokQuotedIdent || t.kind == tokIdent && keywordOf(t.val) != reservedKeyword
}
