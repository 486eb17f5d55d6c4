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

// containsFold reports whether s contains sub, ignoring ASCII case. It
// looks at every byte once (statements can be large INSERTs), comparing
// further only where the first byte matches.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	first := lowerASCII(sub[0])
	for i := 0; i+len(sub) <= len(s); i++ {
		if lowerASCII(s[i]) == first && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// TranslateSyntax returns stmt with PostgreSQL syntax that DuckDB lacks
// rewritten, token by token, whoever wrote the query:
//
//   - OPERATOR(pg_catalog.op) becomes the plain operator op;
//   - COLLATE pg_catalog.default (the default collation) is dropped;
//   - a cast to a pg_catalog-qualified type, ::pg_catalog.t or
//     CAST(x AS pg_catalog.t), becomes one to t;
//   - a cast to a type in funcs, operand::t, becomes a call funcs[t](operand),
//     for types DuckDB cannot define (regclass and the other OID aliases);
//   - the regular expression operators ~, ~*, !~ and !~* with a string
//     literal pattern become DuckDB's ~ and !~ with the pattern wrapped so
//     that it may match anywhere, and (?i) for the case-insensitive ones:
//     PostgreSQL's ~ searches the string, DuckDB's matches all of it;
//   - a function of one scalar result column in FROM (a set-returning one
//     such as generate_series, or a scalar one such as string_to_array) with
//     a table alias but no column aliases, generate_series(1, 3) s, gets
//     the alias as its column's name too, s(s): PostgreSQL names the column
//     of such a function after the alias, so s is the number, while DuckDB
//     would read the bare alias as the whole row.
//
// The operand of a cast is the primary expression before "::": a literal, a
// parameter, a (qualified) name, or a parenthesized expression with the
// function name that may precede it. Unbalanced input is returned unchanged.
func TranslateSyntax(stmt string, funcs map[string]string) string {
	if !mayTranslate(stmt) {
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
	aliases := scalarSRFAliases(toks)
	changed := len(aliases) > 0
	regex := "" // the regular expression operator just written, when the pattern follows
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if regex != "" && t.kind == tokString {
			out = append(out, piece{t.start, t.end, QuoteLiteral(searchPattern(t.val, strings.HasSuffix(regex, "*")))})
			regex = ""
			changed = true
			continue
		}
		regex = ""
		switch {
		case t.kind == tokOp && regexOps[t.val] && i+1 < len(toks) && toks[i+1].kind == tokString:
			out = append(out, piece{t.start, t.end, strings.TrimSuffix(t.val, "*")})
			regex = t.val
			changed = true
		case aliases[i]:
			a := stmt[t.start:t.end]
			out = append(out, piece{t.start, t.end, a + "(" + a + ")"})
		case isKw(i, "json_build_object") && isO(i+1, "(") && !isO(i-1, "."):
			// PostgreSQL's variadic json_build_object is DuckDB's json_object.
			out = append(out, piece{t.start, t.end, "json_object"})
			changed = true
		case isKw(i, "operator") && isO(i+1, "(") && isKw(i+2, "pg_catalog") && isO(i+3, ".") &&
			i+5 < len(toks) && toks[i+4].kind == tokOp && isO(i+5, ")"):
			op := toks[i+4].val
			if regexOps[op] && i+6 < len(toks) && toks[i+6].kind == tokString {
				regex, op = op, strings.TrimSuffix(op, "*")
			}
			out = append(out, piece{t.start, toks[i+5].end, op})
			i += 5
			changed = true
		case isKw(i, "as") && isKw(i+1, "pg_catalog") && isO(i+2, ".") && i+3 < len(toks) && isName(toks[i+3]) &&
			!isO(i+4, "("):
			// Only a type follows AS qualified: aliases are bare names.
			out = append(out, src(t), piece{toks[i+1].start, toks[i+3].start, ""})
			i += 2
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
			// A piece that ends inside the operand (an earlier rewritten
			// cast whose type name the operand starts with, as in
			// 0::regclass ::regclass) joins it.
			start, p := toks[k].start, len(out)
			for p > 0 && (out[p-1].start >= start || out[p-1].end > start) {
				p--
				start = min(start, out[p].start)
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
			out = append(out[:p], piece{start, toks[j].end, b.String()})
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

// regexOps are PostgreSQL's regular expression match operators.
var regexOps = map[string]bool{"~": true, "~*": true, "!~": true, "!~*": true}

// searchPattern returns a pattern that matches a whole string (DuckDB's ~)
// where pattern matches part of it (PostgreSQL's ~).
func searchPattern(pattern string, insensitive bool) string {
	p := "(?s:.*)(?:" + pattern + ")(?s:.*)"
	if insensitive {
		p = "(?i)" + p
	}
	return p
}

// scalarSRFs are the functions that, in FROM, give one column of a scalar
// type, so that in PostgreSQL a table alias names that column: set-returning
// ones, and string_to_array, a scalar function that Grafana calls in FROM
// (the gateway defines a table function of that name). Functions returning
// rows, such as json_each, are not listed: their columns keep their names.
var scalarSRFs = map[string]bool{
	"generate_series": true, "generate_subscripts": true, "unnest": true,
	"regexp_split_to_table": true, "string_to_table": true, "string_to_array": true,
}

// mayTranslate reports whether stmt holds something TranslateSyntax
// rewrites, cheaply: most statements hold nothing of the sort.
func mayTranslate(stmt string) bool {
	if strings.Contains(stmt, "::") || strings.Contains(stmt, "~") {
		return true
	}
	lower := strings.ToLower(stmt)
	for _, w := range []string{"operator", "collate", "pg_catalog", "json_build_object"} {
		if strings.Contains(lower, w) {
			return true
		}
	}
	for f := range scalarSRFs {
		if strings.Contains(lower, f) {
			return true
		}
	}
	return false
}

// scalarSRFAliases returns the indexes of the table aliases in FROM items
// of the form f(...) [AS] alias, with f in scalarSRFs (optionally
// qualified) and no column alias list. A FROM item starts after FROM, JOIN
// or LATERAL, or after a comma of a FROM list.
func scalarSRFAliases(toks []token) map[int]bool {
	var found map[int]bool
	// inFrom[d] tells whether parentheses depth d is in a FROM clause.
	inFrom := []bool{false}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		d := len(inFrom) - 1
		itemStart := false
		switch {
		case isOp(t, "("), isOp(t, "["):
			inFrom = append(inFrom, false)
		case isOp(t, ")"), isOp(t, "]"):
			if d > 0 {
				inFrom = inFrom[:d]
			}
		case isOp(t, ","):
			itemStart = inFrom[d]
		case isOp(t, ";"):
			inFrom[d] = false
		case t.kind == tokIdent:
			switch t.val {
			case "from":
				if i > 0 && toks[i-1].kind == tokIdent && toks[i-1].val == "distinct" {
					break // IS [NOT] DISTINCT FROM
				}
				inFrom[d], itemStart = true, true
			case "join", "lateral":
				itemStart = inFrom[d]
			case "select", "where", "group", "having", "window", "qualify", "order", "limit", "offset",
				"fetch", "union", "intersect", "except", "returning", "for", "set", "values", "into":
				inFrom[d] = false
			}
		}
		if !itemStart {
			continue
		}
		if a, ok := srfAlias(toks, i+1); ok {
			if found == nil {
				found = map[int]bool{}
			}
			found[a] = true
		}
	}
	return found
}

// srfAlias checks the FROM item starting at toks[k] and returns the index of
// its alias when it is a call of a scalar SRF aliased without columns.
func srfAlias(toks []token, k int) (int, bool) {
	at := func(i int, w string) bool { return i < len(toks) && toks[i].kind == tokIdent && toks[i].val == w }
	if at(k, "lateral") {
		k++
	}
	// [schema .] name (
	for k+2 < len(toks) && isName(toks[k]) && isOp(toks[k+1], ".") {
		k += 2
	}
	if k+1 >= len(toks) || toks[k].kind != tokIdent || !scalarSRFs[toks[k].val] || !isOp(toks[k+1], "(") {
		return 0, false
	}
	name := toks[k].val
	depth, args := 0, 1
	j := k + 1
	for ; j < len(toks); j++ {
		switch {
		case isOp(toks[j], "("), isOp(toks[j], "["):
			depth++
		case isOp(toks[j], ")"), isOp(toks[j], "]"):
			depth--
		case isOp(toks[j], ",") && depth == 1:
			args++
		}
		if depth == 0 {
			break
		}
	}
	if j >= len(toks) || name == "unnest" && args > 1 { // unnest(a, b) returns a row
		return 0, false
	}
	a := j + 1
	if at(a, "as") {
		a++
	}
	if a >= len(toks) || !isAliasName(toks[a]) || a+1 < len(toks) && isOp(toks[a+1], "(") {
		return 0, false
	}
	return a, true
}

// isAliasName reports whether t can be a bare table alias: a quoted name or
// a word that is no keyword that could follow a FROM item (WHERE, JOIN, ON,
// ...).
func isAliasName(t token) bool {
	if t.kind == tokQuotedIdent {
		return true
	}
	if t.kind != tokIdent || keywordOf(t.val) == reservedKeyword || keywordOf(t.val) == typeFuncNameKeyword {
		return false
	}
	switch t.val {
	case "with", "qualify", "window", "using", "natural", "positional", "asof", "anti", "semi", "tablesample":
		return false
	}
	return true
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

// RenameCalls returns stmt with each call of a function named in names,
// bare or qualified with pg_catalog, whose first argument is not a string
// literal alone, renamed to names[f]. The gateway gives such calls of
// current_setting, which resolves a constant name when DuckDB binds the
// query, to a variant that looks a computed name up as the query runs.
func RenameCalls(stmt string, names map[string]string) string {
	found := false
	for n := range names {
		if containsFold(stmt, n) {
			found = true
		}
	}
	if !found {
		return stmt
	}
	toks, err := lexAll(stmt)
	if err != nil {
		return stmt
	}
	var b strings.Builder
	last := 0
	for i, t := range toks {
		to, ok := names[t.val]
		if !ok || t.kind != tokIdent || i+1 >= len(toks) || !isOp(toks[i+1], "(") ||
			i+3 < len(toks) && toks[i+2].kind == tokString && (isOp(toks[i+3], ")") || isOp(toks[i+3], ",")) {
			continue
		}
		start := t.start
		switch {
		case i >= 2 && isOp(toks[i-1], ".") && isName(toks[i-2]) && toks[i-2].val == "pg_catalog" && (i < 3 || !isOp(toks[i-3], ".")):
			start = toks[i-2].start
		case i >= 1 && isOp(toks[i-1], "."):
			continue // another schema's function
		}
		b.WriteString(stmt[last:start])
		b.WriteString(to)
		last = t.end
	}
	if last == 0 {
		return stmt
	}
	b.WriteString(stmt[last:])
	return b.String()
}
