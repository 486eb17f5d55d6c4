package sql

import "github.com/sluice-db/sluice/internal/pgerr"

// Parse splits query into statements on top-level semicolons and parses
// each one: Sluice's own statements into their types, everything else into a
// Passthrough holding its exact text. Statements that hold only whitespace
// and comments are skipped, so an empty query yields an empty slice.
//
// Errors are *pgerr.Error: 42601 (syntax error) with a 1-based character
// position into query, or 0A000 for forms Sluice refuses (CREATE OR REPLACE
// SOURCE). The whole query is lexed before any statement is
// returned, so a malformed token anywhere fails the whole string, as in
// PostgreSQL.
func Parse(query string) ([]Statement, error) {
	toks, err := lexAll(query)
	if err != nil {
		return nil, err
	}
	stmts := []Statement{}
	start := 0
	for i, t := range toks {
		if t.kind != tokEOF && !isOp(t, ";") {
			continue
		}
		if i > start {
			p := &parser{src: query, toks: toks[start:i], end: t}
			st, err := p.statement()
			if err != nil {
				return nil, err
			}
			stmts = append(stmts, st)
		}
		start = i + 1
	}
	return stmts, nil
}

// LeadingKeywords returns up to n leading words of stmt, skipping whitespace
// and comments and stopping at the first token that is not a word. Unquoted
// words are upper-cased ("CREATE", "TABLE"); quoted identifiers are returned
// exactly as written, quotes included (`"Table"`), so they never pass for a
// keyword. It serves to build command tags; it never fails, and returns what
// it found before a malformed token.
func LeadingKeywords(stmt string, n int) []string {
	var words []string
	l := lexer{src: stmt}
	for len(words) < n {
		t, err := l.next()
		if err != nil {
			break
		}
		switch t.kind {
		case tokIdent:
			words = append(words, upperASCII(t.val))
		case tokQuotedIdent:
			words = append(words, stmt[t.start:t.end])
		default:
			return words
		}
	}
	return words
}

// lexAll returns the tokens of query, ending with a tokEOF token.
func lexAll(query string) ([]token, error) {
	l := lexer{src: query}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tokEOF {
			return toks, nil
		}
	}
}

// parser parses one statement: toks, never empty, followed by end (the ';'
// or the end of the query).
type parser struct {
	src  string // the whole query, for positions
	toks []token
	end  token
	i    int
}

// statement dispatches on the leading keywords: only Sluice's own forms are
// parsed, anything else is passed through.
func (p *parser) statement() (Statement, error) {
	switch {
	case p.atGrantStatement():
		return p.grantStatement() // grant.go
	case p.atWords("create", "source"):
		return p.createSource()
	case p.atWords("create", "materialized"):
		return p.createMaterializedView(false)
	case p.atWords("create", "pipeline"):
		return p.createPipeline(false)
	case p.atSecretStatement():
		return p.secretStatement() // secrets.go
	case p.atWords("create", "or", "replace"):
		return p.createOrReplace()
	case p.atWords("alter", "source"):
		return p.alterSource()
	case p.atWords("alter", "materialized"), p.atWords("alter", "pipeline"):
		return p.alterObject()
	case p.atWords("drop", "source"), p.atWords("drop", "materialized"), p.atWords("drop", "pipeline"):
		return p.drop()
	case p.atWords("refresh"):
		return p.refresh()
	case p.atWords("show", "sources"), p.atWords("show", "materialized"),
		p.atWords("show", "pipelines"), p.atWords("show", "runs"):
		return p.show()
	case p.atWords("explain", "refresh"):
		return p.explainRefresh()
	case p.atWords("start", "deployment"):
		return p.startDeployment() // deployments.go
	case p.atWords("finish", "deployment"):
		return p.finishDeployment()
	case p.atCopy():
		return p.copyStmt() // copy.go
	case p.atCursorStatement():
		return p.cursorStatement() // cursors.go
	case p.atRoleStatement():
		return p.roleStatement() // roles.go
	case p.atWords("set"), p.atWords("reset"), p.atShowSetting():
		// settings.go; forms it does not know (SET GLOBAL, SET VARIABLE,
		// ...) are DuckDB's.
		if st, err := p.setting(); err == nil {
			return st, nil
		}
	}
	return &Passthrough{Span: p.span()}, nil
}

// span is the statement's exact text, from its first to its last token.
func (p *parser) span() Span {
	first, last := p.toks[0], p.toks[len(p.toks)-1]
	return Span{SQL: p.src[first.start:last.end], Offset: first.start}
}

// createOrReplace parses CREATE OR REPLACE MATERIALIZED VIEW and PIPELINE,
// refuses CREATE OR REPLACE SOURCE and passes every other
// CREATE OR REPLACE (VIEW, TABLE, FUNCTION, ...) through.
func (p *parser) createOrReplace() (Statement, error) {
	kind := ""
	switch {
	case p.atWords("create", "or", "replace", "materialized"):
		return p.createMaterializedView(true)
	case p.atWords("create", "or", "replace", "pipeline"):
		return p.createPipeline(true)
	case p.atWords("create", "or", "replace", "source"):
		kind = "SOURCE"
	default:
		return &Passthrough{Span: p.span()}, nil
	}
	err := pgerr.Unsupported("CREATE OR REPLACE %s is not supported; DROP and CREATE it", kind)
	return nil, err.WithPosition(charPos(p.src, p.toks[0].start))
}

// name parses a possibly schema-qualified name: colid [. colid].
func (p *parser) name() (Name, error) {
	first, err := p.colID()
	if err != nil {
		return Name{}, err
	}
	if !p.acceptOp(".") {
		return Name{Name: first}, nil
	}
	second, err := p.colID()
	if err != nil {
		return Name{}, err
	}
	return Name{Schema: first, Name: second}, nil
}

// colID parses an identifier usable as an object or column name: quoted, or
// unquoted and not a reserved (or type/function name) keyword, as
// PostgreSQL's ColId.
func (p *parser) colID() (string, error) {
	t := p.peek()
	if t.kind == tokQuotedIdent || t.kind == tokIdent && keywordOf(t.val) < typeFuncNameKeyword {
		p.skip(1)
		return t.val, nil
	}
	return "", p.syntaxError(t)
}

// label parses any identifier, keywords included (an option key).
func (p *parser) label() (string, error) {
	t := p.peek()
	if t.kind == tokQuotedIdent || t.kind == tokIdent {
		p.skip(1)
		return t.val, nil
	}
	return "", p.syntaxError(t)
}

// stringLit parses a string literal and returns its contents.
func (p *parser) stringLit() (string, error) {
	t := p.peek()
	if t.kind != tokString {
		return "", p.syntaxError(t)
	}
	p.skip(1)
	return t.val, nil
}

// commaList parses ( item [, item ...] ), calling item for each.
func (p *parser) commaList(item func() error) error {
	if err := p.expectOp("("); err != nil {
		return err
	}
	for {
		if err := item(); err != nil {
			return err
		}
		if p.acceptOp(")") {
			return nil
		}
		if err := p.expectOp(","); err != nil {
			return err
		}
	}
}

// Token cursor.

// peek returns the current token, or the statement's end token.
func (p *parser) peek() token { return p.peekAt(0) }

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.end
}

// next returns the current token and moves past it.
func (p *parser) next() token {
	t := p.peek()
	p.skip(1)
	return t
}

func (p *parser) skip(n int) {
	p.i = min(p.i+n, len(p.toks))
}

// atWords reports whether the statement's next tokens are the given
// unquoted keywords.
func (p *parser) atWords(words ...string) bool {
	for k, w := range words {
		if !isWord(p.peekAt(k), w) {
			return false
		}
	}
	return true
}

// acceptWords consumes the given keywords if they come next.
func (p *parser) acceptWords(words ...string) bool {
	if !p.atWords(words...) {
		return false
	}
	p.skip(len(words))
	return true
}

// expectWords consumes the given keywords or reports a syntax error at the
// first token that differs.
func (p *parser) expectWords(words ...string) error {
	if p.acceptWords(words...) {
		return nil
	}
	return p.syntaxError(p.expectedMismatch(words...))
}

// expectedMismatch returns the first token that is not the expected word.
func (p *parser) expectedMismatch(words ...string) token {
	for k, w := range words {
		if t := p.peekAt(k); !isWord(t, w) {
			return t
		}
	}
	return p.peek()
}

func (p *parser) acceptOp(op string) bool {
	if isOp(p.peek(), op) && p.i < len(p.toks) {
		p.skip(1)
		return true
	}
	return false
}

func (p *parser) expectOp(op string) error {
	if p.acceptOp(op) {
		return nil
	}
	return p.syntaxError(p.peek())
}

// expectEnd reports a syntax error unless the whole statement was consumed.
func (p *parser) expectEnd() error {
	if p.i < len(p.toks) {
		return p.syntaxError(p.toks[p.i])
	}
	return nil
}

// syntaxError is PostgreSQL's 42601 for an unexpected token.
func (p *parser) syntaxError(t token) *pgerr.Error {
	if t.kind == tokEOF {
		return pgerr.Syntax(charPos(p.src, len(p.src)), "syntax error at end of input")
	}
	return pgerr.Syntax(charPos(p.src, t.start), `syntax error at or near "%s"`, p.src[t.start:t.end])
}

func isWord(t token, w string) bool { return t.kind == tokIdent && t.val == w }

func isOp(t token, op string) bool { return t.kind == tokOp && t.val == op }

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
