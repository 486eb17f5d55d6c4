package sql

import (
	"strings"
	"unicode/utf8"
)

// MaxIdentifierLength is PostgreSQL's NAMEDATALEN - 1: the bytes of an
// identifier that count (max_identifier_length).
const MaxIdentifierLength = 63

// Truncation is one identifier TruncateIdentifiers shortened.
type Truncation struct {
	From, To string // the identifier's name before and after
}

// Notice is PostgreSQL's message for the truncation (NOTICE 42622).
func (t Truncation) Notice() string {
	return `identifier "` + t.From + `" will be truncated to "` + t.To + `"`
}

// TruncateIdentifiers returns stmt with every identifier, quoted or not,
// longer than MaxIdentifierLength bytes cut to that length (at a character
// boundary), as PostgreSQL's scanner does, and the truncations made in
// order. Strings, comments and everything else are left as they are; text
// the lexer refuses is returned unchanged (the parser reports it).
func TruncateIdentifiers(stmt string) (string, []Truncation) {
	if !mayHaveLongIdentifier(stmt) {
		return stmt, nil
	}
	toks, err := lexAll(stmt)
	if err != nil {
		return stmt, nil
	}
	var out strings.Builder
	var cuts []Truncation
	last := 0
	for _, t := range toks {
		if (t.kind != tokIdent && t.kind != tokQuotedIdent) || len(t.val) <= MaxIdentifierLength {
			continue
		}
		to := clipIdentifier(t.val)
		cuts = append(cuts, Truncation{From: t.val, To: to})
		out.WriteString(stmt[last:t.start])
		if t.kind == tokIdent {
			// Folding keeps lengths: cut the text as written.
			out.WriteString(stmt[t.start : t.start+len(to)])
		} else {
			out.WriteString(`"` + strings.ReplaceAll(to, `"`, `""`) + `"`)
		}
		last = t.end
	}
	if cuts == nil {
		return stmt, nil
	}
	out.WriteString(stmt[last:])
	return out.String(), cuts
}

// clipIdentifier cuts s to at most MaxIdentifierLength bytes without
// splitting a character (PostgreSQL's pg_mbcliplen). It walks forward, so a
// byte that starts no valid UTF-8 sequence counts as a character of its own
// and the cut never falls before the characters that fit.
func clipIdentifier(s string) string {
	n := 0
	for n < len(s) {
		_, size := utf8.DecodeRuneInString(s[n:])
		if n+size > MaxIdentifierLength {
			break
		}
		n += size
	}
	return s[:n]
}

// mayHaveLongIdentifier is a cheap test that stmt may hold an identifier
// over MaxIdentifierLength bytes: a run of more than that many word bytes,
// or a double quote (a quoted identifier may hold anything).
func mayHaveLongIdentifier(stmt string) bool {
	if strings.IndexByte(stmt, '"') >= 0 {
		return true
	}
	run := 0
	for i := 0; i < len(stmt); i++ {
		if isIdentCont(stmt[i]) {
			if run++; run > MaxIdentifierLength {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
