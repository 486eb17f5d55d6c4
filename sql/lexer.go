package sql

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// tokenKind classifies a token.
type tokenKind int

const (
	tokEOF         tokenKind = iota
	tokIdent                 // unquoted word; val is folded to lower case
	tokQuotedIdent           // "word"; val is unescaped, case kept
	tokString                // '...', E'...', $$...$$; val is the unescaped contents
	tokNumber                // 42, 3.5, 1e10 (unsigned); val is the text
	tokParam                 // $1 or $name
	tokOp                    // operator or punctuation; val is the text
)

// token is one lexical token. start and end are byte offsets into the lexed
// string; src[start:end] is the token as written.
type token struct {
	kind       tokenKind
	val        string
	start, end int
}

// lexer splits SQL text into tokens by PostgreSQL's lexical rules. Comments
// and whitespace are skipped.
type lexer struct {
	src string
	pos int
}

// next returns the next token, a tokEOF token at the end of input, or a
// 42601 error for a malformed token (unterminated quote or comment). Error
// positions are relative to src.
func (l *lexer) next() (token, error) {
	if err := l.skipSpaceAndComments(); err != nil {
		return token{}, err
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, start: start, end: start}, nil
	}
	c := l.src[start]
	switch {
	case (c == 'e' || c == 'E') && l.peek(1) == '\'':
		l.pos++
		return l.quoted(start, '\'', true)
	case c == '\'':
		return l.quoted(start, '\'', false)
	case c == '"':
		return l.quoted(start, '"', false)
	case c == '$':
		return l.dollar(start)
	case isIdentStart(c):
		return l.ident(start), nil
	case isDigit(c) || c == '.' && isDigit(l.peek(1)):
		return l.number(start), nil
	case isOpChar(c):
		return l.operator(start), nil
	case c == ':' && l.peek(1) == ':':
		l.pos += 2
		return l.tok(tokOp, start), nil
	default:
		// Punctuation and anything unexpected: one character, left to the
		// grammar (ours or DuckDB's) to judge.
		_, size := utf8.DecodeRuneInString(l.src[start:])
		l.pos += size
		return l.tok(tokOp, start), nil
	}
}

func (l *lexer) peek(ahead int) byte {
	if l.pos+ahead < len(l.src) {
		return l.src[l.pos+ahead]
	}
	return 0
}

func (l *lexer) tok(kind tokenKind, start int) token {
	return token{kind: kind, val: l.src[start:l.pos], start: start, end: l.pos}
}

// skipSpaceAndComments skips whitespace, -- line comments and nested /* */
// block comments.
func (l *lexer) skipSpaceAndComments() error {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case isSpace(c):
			l.pos++
		case c == '-' && l.peek(1) == '-':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
				l.pos++
			}
		case c == '/' && l.peek(1) == '*':
			if err := l.blockComment(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) blockComment() error {
	start := l.pos
	depth := 0
	for l.pos < len(l.src) {
		switch {
		case l.src[l.pos] == '/' && l.peek(1) == '*':
			depth++
			l.pos += 2
		case l.src[l.pos] == '*' && l.peek(1) == '/':
			depth--
			l.pos += 2
			if depth == 0 {
				return nil
			}
		default:
			l.pos++
		}
	}
	return l.unterminated("unterminated /* comment", start)
}

// quoted lexes a '...' string (escapes says whether backslash escapes apply,
// as in E'...') or a "..." identifier, starting at the quote at l.pos. A
// doubled quote stands for one.
func (l *lexer) quoted(start int, quote byte, escapes bool) (token, error) {
	l.pos++ // opening quote
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == quote && l.peek(1) == quote:
			b.WriteByte(quote)
			l.pos += 2
		case c == quote:
			l.pos++
			return l.quotedToken(start, quote, b.String())
		case c == '\\' && escapes:
			if err := l.escape(&b); err != nil {
				return token{}, err
			}
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	if quote == '"' {
		return token{}, l.unterminated("unterminated quoted identifier", start)
	}
	return token{}, l.unterminated("unterminated quoted string", start)
}

func (l *lexer) quotedToken(start int, quote byte, val string) (token, error) {
	t := token{kind: tokString, val: val, start: start, end: l.pos}
	if quote == '"' {
		if val == "" {
			return token{}, l.errAt(start, `zero-length delimited identifier at or near "%s"`, l.src[start:l.pos])
		}
		t.kind = tokQuotedIdent
	}
	return t, nil
}

// escape decodes one backslash escape of an E'...' string at l.pos.
func (l *lexer) escape(b *strings.Builder) error {
	start := l.pos
	l.pos++ // backslash
	if l.pos >= len(l.src) {
		return nil // the caller reports the unterminated string
	}
	c := l.src[l.pos]
	l.pos++
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'x':
		if n := l.hexDigits(2); n > 0 {
			v, _ := strconv.ParseUint(l.src[l.pos-n:l.pos], 16, 8)
			b.WriteByte(byte(v))
		} else {
			b.WriteByte('x')
		}
	case 'u', 'U':
		want := 4
		if c == 'U' {
			want = 8
		}
		if l.hexDigits(want) != want {
			return l.errCode(pgerrcode.InvalidEscapeSequence, start, "invalid Unicode escape")
		}
		r := l.hexRune(want)
		if utf16.IsSurrogate(r) {
			r = l.lowSurrogate(r)
		}
		if r == 0 || r > utf8.MaxRune || utf16.IsSurrogate(r) {
			return l.errCode(pgerrcode.SyntaxError, start, "invalid Unicode escape value")
		}
		b.WriteRune(r)
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v := int(c - '0')
		for i := 0; i < 2 && l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '7'; i++ {
			v = v*8 + int(l.src[l.pos]-'0')
			l.pos++
		}
		b.WriteByte(byte(v))
	default:
		// Any other character, including a quote or backslash, stands for
		// itself. Copy a whole UTF-8 sequence, not just its first byte.
		l.pos--
		_, size := utf8.DecodeRuneInString(l.src[l.pos:])
		b.WriteString(l.src[l.pos : l.pos+size])
		l.pos += size
	}
	return nil
}

// hexRune returns the value of the n hex digits just consumed.
func (l *lexer) hexRune(n int) rune {
	v, _ := strconv.ParseUint(l.src[l.pos-n:l.pos], 16, 32)
	return rune(v)
}

// lowSurrogate completes a UTF-16 surrogate pair written as two escapes
// (E'\uD83D\uDE00'). It returns the combined rune, or high unchanged (and
// consumes nothing) when no low surrogate escape follows.
func (l *lexer) lowSurrogate(high rune) rune {
	if l.peek(0) != '\\' || l.peek(1) != 'u' {
		return high
	}
	save := l.pos
	l.pos += 2
	if l.hexDigits(4) == 4 {
		if r := utf16.DecodeRune(high, l.hexRune(4)); r != utf8.RuneError {
			return r
		}
	}
	l.pos = save
	return high
}

// hexDigits consumes up to max hex digits and returns how many it consumed.
func (l *lexer) hexDigits(max int) int {
	n := 0
	for n < max && l.pos < len(l.src) && isHexDigit(l.src[l.pos]) {
		l.pos++
		n++
	}
	return n
}

// dollar lexes what starts with '$': a dollar-quoted string ($$...$$ or
// $tag$...$tag$), a parameter ($1, or DuckDB's $name), or a lone '$'.
func (l *lexer) dollar(start int) (token, error) {
	i := start + 1
	if i < len(l.src) && isDigit(l.src[i]) {
		for i < len(l.src) && isDigit(l.src[i]) {
			i++
		}
		l.pos = i
		return l.tok(tokParam, start), nil
	}
	for i < len(l.src) && isIdentCont(l.src[i]) && l.src[i] != '$' {
		i++
	}
	if i < len(l.src) && l.src[i] == '$' {
		delim := l.src[start : i+1]
		body := i + 1
		end := strings.Index(l.src[body:], delim)
		if end < 0 {
			return token{}, l.unterminated("unterminated dollar-quoted string", start)
		}
		l.pos = body + end + len(delim)
		return token{kind: tokString, val: l.src[body : body+end], start: start, end: l.pos}, nil
	}
	l.pos = i
	if i == start+1 {
		return l.tok(tokOp, start), nil
	}
	return l.tok(tokParam, start), nil
}

// ident lexes an unquoted identifier or keyword, folding ASCII letters to
// lower case as PostgreSQL does.
func (l *lexer) ident(start int) token {
	for l.pos < len(l.src) && isIdentCont(l.src[l.pos]) {
		l.pos++
	}
	t := l.tok(tokIdent, start)
	t.val = foldIdent(t.val)
	return t
}

// number lexes a numeric literal. Like PostgreSQL 15+, it takes trailing
// letters and underscores into the token (hex 0x1F, 1_000, or junk that the
// grammar then rejects as one token).
func (l *lexer) number(start int) token {
	l.digits()
	if l.peek(0) == '.' && l.peek(1) != '.' {
		l.pos++
		l.digits()
	}
	if c := l.peek(0); c == 'e' || c == 'E' {
		sign := 0
		if s := l.peek(1); s == '+' || s == '-' {
			sign = 1
		}
		if isDigit(l.peek(1 + sign)) {
			l.pos += 1 + sign
			l.digits()
		}
	}
	for l.pos < len(l.src) && isIdentCont(l.src[l.pos]) && l.src[l.pos] != '$' {
		l.pos++
	}
	return l.tok(tokNumber, start)
}

func (l *lexer) digits() {
	for l.pos < len(l.src) && (isDigit(l.src[l.pos]) || l.src[l.pos] == '_') {
		l.pos++
	}
}

// operator lexes a run of operator characters by PostgreSQL's rules: the run
// stops before "--" or "/*", and a multi-character operator may not end in
// '+' or '-' unless it also holds one of ~!@#%^&|`? (so "=-1" is "=", "-",
// "1").
func (l *lexer) operator(start int) token {
	for l.pos < len(l.src) && isOpChar(l.src[l.pos]) {
		if l.pos > start && (l.src[l.pos] == '-' && l.peek(1) == '-' || l.src[l.pos] == '/' && l.peek(1) == '*') {
			break
		}
		l.pos++
	}
	op := l.src[start:l.pos]
	if len(op) > 1 && !strings.ContainsAny(op, "~!@#%^&|`?") {
		for len(op) > 1 && (op[len(op)-1] == '+' || op[len(op)-1] == '-') {
			op = op[:len(op)-1]
		}
		l.pos = start + len(op)
	}
	return l.tok(tokOp, start)
}

func (l *lexer) unterminated(what string, start int) error {
	return l.errAt(start, `%s at or near "%s"`, what, l.src[start:])
}

func (l *lexer) errAt(start int, format string, args ...any) error {
	return l.errCode(pgerrcode.SyntaxError, start, format, args...)
}

func (l *lexer) errCode(code string, start int, format string, args ...any) error {
	e := pgerr.New(code, format, args...)
	return e.WithPosition(charPos(l.src, start))
}

// charPos converts a 0-based byte offset into src to the 1-based character
// position PostgreSQL reports. Invalid UTF-8 bytes count as one character
// each.
func charPos(src string, offset int) int {
	return utf8.RuneCountInString(src[:offset]) + 1
}

// foldIdent lower-cases the ASCII letters of s, byte by byte, leaving
// everything else (non-ASCII characters, invalid UTF-8) untouched.
func foldIdent(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			if b == nil {
				b = []byte(s)
			}
			b[i] = c + 'a' - 'A'
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isIdentStart reports whether c may start an identifier. Bytes >= 0x80
// (parts of non-ASCII characters) are identifier characters, as in
// PostgreSQL.
func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

func isOpChar(c byte) bool { return strings.IndexByte("+-*/<>=~!@#%^&|`?", c) >= 0 }
