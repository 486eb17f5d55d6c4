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
	l := &lexer{src: stmt}
	var out strings.Builder
	last := 0
	var prev [3]token // the three tokens before the current one
	for {
		t, err := l.next()
		if err != nil || t.kind == tokEOF {
			break
		}
		if isName(t) && names[t.val] &&
			isOp(prev[2], ".") && isName(prev[1]) && prev[1].val == from && !isOp(prev[0], ".") {
			// schema . name, not catalog . schema . name
			out.WriteString(stmt[last:prev[1].start])
			out.WriteString(to)
			out.WriteString(".")
			last = t.start
		}
		prev[0], prev[1], prev[2] = prev[1], prev[2], t
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
