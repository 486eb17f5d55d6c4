package sql

import (
	"strconv"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Parse splits query into statements on top-level semicolons and parses
// each one: Sluice's own statements into their types, everything else into a
// Passthrough holding its exact text. Statements that hold only whitespace
// and comments are skipped, so an empty query yields an empty slice.
//
// Errors are *pgerr.Error: 42601 (syntax error) with a 1-based character
// position into query, or 0A000 for forms Sluice refuses (CREATE OR REPLACE
// MATERIALIZED VIEW). The whole query is lexed before any statement is
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
		return p.createMaterializedView()
	case p.atWords("create", "pipeline"):
		return p.createPipeline()
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
	case p.atCopy():
		return p.copyStmt() // copy.go
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

// createOrReplace refuses CREATE OR REPLACE of Sluice objects and passes
// every other CREATE OR REPLACE (VIEW, TABLE, FUNCTION, ...) through.
func (p *parser) createOrReplace() (Statement, error) {
	kind := ""
	switch {
	case p.atWords("create", "or", "replace", "materialized", "view"):
		kind = "MATERIALIZED VIEW"
	case p.atWords("create", "or", "replace", "pipeline"):
		kind = "PIPELINE"
	case p.atWords("create", "or", "replace", "source"):
		kind = "SOURCE"
	default:
		return &Passthrough{Span: p.span()}, nil
	}
	err := pgerr.Unsupported("CREATE OR REPLACE %s is not supported; DROP and CREATE it", kind)
	return nil, err.WithPosition(charPos(p.src, p.toks[0].start))
}

// CREATE SOURCE [IF NOT EXISTS] name FROM connector ['location'] [WITH (...)]
func (p *parser) createSource() (Statement, error) {
	p.skip(2)
	st := &CreateSource{Span: p.span()}
	var err error
	st.IfNotExists = p.acceptWords("if", "not", "exists")
	if st.Name, err = p.name(); err != nil {
		return nil, err
	}
	if err := p.expectWords("from"); err != nil {
		return nil, err
	}
	t := p.next()
	switch {
	case isWord(t, "files"), isWord(t, "http"):
		st.Connector = t.val
		if st.Location, err = p.stringLit(); err != nil {
			return nil, err
		}
	case isWord(t, "kafka"), isWord(t, "postgres"):
		st.Connector = t.val
	default:
		return nil, p.syntaxError(t)
	}
	if p.acceptWords("with") {
		if st.Options, err = p.optionList(); err != nil {
			return nil, err
		}
	}
	return st, p.expectEnd()
}

// ALTER SOURCE name SET (...)
func (p *parser) alterSource() (Statement, error) {
	p.skip(2)
	st := &AlterSource{Span: p.span()}
	var err error
	if st.Name, err = p.name(); err != nil {
		return nil, err
	}
	if err := p.expectWords("set"); err != nil {
		return nil, err
	}
	if st.Options, err = p.optionList(); err != nil {
		return nil, err
	}
	return st, p.expectEnd()
}

// objectDef is what CREATE MATERIALIZED VIEW and CREATE PIPELINE share.
type objectDef struct {
	name        Name
	ifNotExists bool
	constraints []Constraint
	partitionBy []string
	refresh     *RefreshPolicy
	options     []Option
	query       string
	queryOffset int
	withData    bool
}

// CREATE MATERIALIZED VIEW ... AS query [WITH [NO] DATA]
func (p *parser) createMaterializedView() (Statement, error) {
	p.skip(2)
	if err := p.expectWords("view"); err != nil {
		return nil, err
	}
	def, err := p.objectDef(true)
	if err != nil {
		return nil, err
	}
	return &CreateMaterializedView{
		Span:        p.span(),
		Name:        def.name,
		IfNotExists: def.ifNotExists,
		Constraints: def.constraints,
		PartitionBy: def.partitionBy,
		Refresh:     def.refresh,
		Options:     def.options,
		Query:       def.query,
		QueryOffset: def.queryOffset,
		WithData:    def.withData,
	}, nil
}

// CREATE PIPELINE ... AS query
func (p *parser) createPipeline() (Statement, error) {
	p.skip(2)
	def, err := p.objectDef(false)
	if err != nil {
		return nil, err
	}
	return &CreatePipeline{
		Span:        p.span(),
		Name:        def.name,
		IfNotExists: def.ifNotExists,
		Constraints: def.constraints,
		PartitionBy: def.partitionBy,
		Refresh:     def.refresh,
		Options:     def.options,
		Query:       def.query,
		QueryOffset: def.queryOffset,
	}, nil
}

// objectDef parses [IF NOT EXISTS] name, the clauses before AS in any order
// (each at most once), AS and the query. allowWithData says whether a
// trailing WITH [NO] DATA is accepted (materialized views) or refused
// (pipelines).
func (p *parser) objectDef(allowWithData bool) (*objectDef, error) {
	def := &objectDef{withData: true}
	var err error
	def.ifNotExists = p.acceptWords("if", "not", "exists")
	if def.name, err = p.name(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for !p.acceptWords("as") {
		t := p.peek()
		clause := clauseName(t)
		if seen[clause] {
			e := p.syntaxError(t)
			e.Detail = clause + " is specified more than once."
			return nil, e
		}
		if clause != "" {
			seen[clause] = true
		}
		if err := p.defClause(def, t); err != nil {
			return nil, err
		}
	}
	return def, p.query(def, allowWithData)
}

// clauseName names the clause before AS that t starts, "" if none does.
func clauseName(t token) string {
	switch {
	case isOp(t, "("):
		return "The constraint list"
	case isWord(t, "partition"):
		return "PARTITION BY"
	case isWord(t, "refresh"):
		return "REFRESH"
	case isWord(t, "with"):
		return "WITH"
	}
	return ""
}

// defClause parses one clause before AS, starting at t.
func (p *parser) defClause(def *objectDef, t token) error {
	var err error
	switch {
	case isOp(t, "("):
		def.constraints, err = p.constraintList()
	case isWord(t, "partition"):
		p.skip(1)
		if err = p.expectWords("by"); err == nil {
			def.partitionBy, err = p.columnList()
		}
	case isWord(t, "refresh"):
		p.skip(1)
		def.refresh, err = p.refreshPolicy()
	case isWord(t, "with"):
		p.skip(1)
		def.options, err = p.optionList()
	default:
		err = p.syntaxError(t)
	}
	return err
}

// query takes the rest of the statement as the query text, less a trailing
// top-level WITH [NO] DATA.
func (p *parser) query(def *objectDef, allowWithData bool) error {
	rest := p.toks[p.i:]
	n, withData := withDataSuffix(rest)
	if n > 0 {
		if !allowWithData || n == len(rest) {
			return p.syntaxError(rest[len(rest)-n])
		}
		rest = rest[:len(rest)-n]
		def.withData = withData
	}
	if len(rest) == 0 {
		return p.syntaxError(p.end)
	}
	first, last := rest[0], rest[len(rest)-1]
	def.query = p.src[first.start:last.end]
	def.queryOffset = first.start
	return nil
}

// withDataSuffix reports whether toks end with WITH DATA or WITH NO DATA
// outside parentheses: how many tokens the suffix has (0 if none) and
// whether it was WITH DATA.
func withDataSuffix(toks []token) (n int, withData bool) {
	k := len(toks)
	switch {
	case k >= 2 && isWord(toks[k-2], "with") && isWord(toks[k-1], "data"):
		n, withData = 2, true
	case k >= 3 && isWord(toks[k-3], "with") && isWord(toks[k-2], "no") && isWord(toks[k-1], "data"):
		n, withData = 3, false
	default:
		return 0, true
	}
	if parenDepth(toks[:k-n]) != 0 {
		return 0, true
	}
	return n, withData
}

func parenDepth(toks []token) int {
	depth := 0
	for _, t := range toks {
		switch {
		case isOp(t, "("):
			depth++
		case isOp(t, ")"):
			depth--
		}
	}
	return depth
}

// constraintList parses ( CONSTRAINT name EXPECT (predicate) [ON VIOLATION
// {FAIL | DROP ROW | WARN}] [, ...] ).
func (p *parser) constraintList() ([]Constraint, error) {
	var list []Constraint
	err := p.commaList(func() error {
		nameTok := p.peekAt(1) // after CONSTRAINT
		c, err := p.constraint()
		if err != nil {
			return err
		}
		for _, prev := range list {
			if prev.Name == c.Name {
				return pgerr.New(pgerrcode.DuplicateObject, `constraint "%s" specified more than once`, c.Name).
					WithPosition(charPos(p.src, nameTok.start))
			}
		}
		list = append(list, c)
		return nil
	})
	return list, err
}

func (p *parser) constraint() (Constraint, error) {
	var c Constraint
	var err error
	if err = p.expectWords("constraint"); err != nil {
		return c, err
	}
	if c.Name, err = p.colID(); err != nil {
		return c, err
	}
	if err = p.expectWords("expect"); err != nil {
		return c, err
	}
	if c.Predicate, err = p.parenthesized(); err != nil {
		return c, err
	}
	if p.acceptWords("on") {
		if err = p.expectWords("violation"); err != nil {
			return c, err
		}
		c.Action, err = p.violation()
	}
	return c, err
}

func (p *parser) violation() (Violation, error) {
	switch {
	case p.acceptWords("fail"):
		return ViolationFail, nil
	case p.acceptWords("drop"):
		return ViolationDropRow, p.expectWords("row")
	case p.acceptWords("warn"):
		return ViolationWarn, nil
	}
	return 0, p.syntaxError(p.peek())
}

// parenthesized parses a balanced ( ... ) and returns the exact text between
// the parentheses, without surrounding whitespace and comments.
func (p *parser) parenthesized() (string, error) {
	if err := p.expectOp("("); err != nil {
		return "", err
	}
	from := p.i
	for depth := 1; ; {
		t := p.peek()
		switch {
		case p.i >= len(p.toks):
			return "", p.syntaxError(t)
		case isOp(t, "("):
			depth++
		case isOp(t, ")"):
			depth--
		}
		if depth == 0 {
			break
		}
		p.skip(1)
	}
	if p.i == from {
		return "", p.syntaxError(p.peek())
	}
	text := p.src[p.toks[from].start:p.toks[p.i-1].end]
	p.skip(1) // ')'
	return text, nil
}

// columnList parses ( column [, ...] ).
func (p *parser) columnList() ([]string, error) {
	var cols []string
	err := p.commaList(func() error {
		t := p.peek()
		col, err := p.colID()
		if err != nil {
			return err
		}
		for _, prev := range cols {
			if prev == col {
				return pgerr.New(pgerrcode.DuplicateColumn, `column "%s" specified more than once`, col).
					WithPosition(charPos(p.src, t.start))
			}
		}
		cols = append(cols, col)
		return nil
	})
	return cols, err
}

// refreshPolicy parses what follows REFRESH: MANUAL | EVERY 'interval'
// [ALIGNED TO 'timestamp'] | CRON 'expr' [TIME ZONE 'tz'] | ON CHANGE.
func (p *parser) refreshPolicy() (*RefreshPolicy, error) {
	var r RefreshPolicy
	var err error
	switch {
	case p.acceptWords("manual"):
		r.Kind = RefreshManual
	case p.acceptWords("every"):
		r.Kind = RefreshEvery
		if r.Interval, err = p.stringLit(); err == nil && p.acceptWords("aligned") {
			if err = p.expectWords("to"); err == nil {
				r.AlignedTo, err = p.stringLit()
			}
		}
	case p.acceptWords("cron"):
		r.Kind = RefreshCron
		if r.Cron, err = p.stringLit(); err == nil && p.acceptWords("time") {
			if err = p.expectWords("zone"); err == nil {
				r.TimeZone, err = p.stringLit()
			}
		}
	case p.acceptWords("on"):
		r.Kind = RefreshOnChange
		err = p.expectWords("change")
	default:
		err = p.syntaxError(p.peek())
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// optionList parses ( key [= value] [, ...] ). Keys fold to lower case; a
// key without a value is true; a key given twice is an error.
func (p *parser) optionList() ([]Option, error) {
	var opts []Option
	err := p.commaList(func() error {
		t := p.peek()
		key, err := p.label()
		if err != nil {
			return err
		}
		opt := Option{Key: key, Value: Value{Kind: ValueBool, Text: "true"}, Pos: charPos(p.src, t.start)}
		if p.acceptOp("=") {
			if opt.Value, err = p.optionValue(); err != nil { // secrets.go
				return err
			}
		}
		for _, prev := range opts {
			if prev.Key == key {
				return pgerr.Syntax(opt.Pos, `option "%s" specified more than once`, key)
			}
		}
		opts = append(opts, opt)
		return nil
	})
	return opts, err
}

// value parses an option or partition value: a string, a possibly signed
// number, true/false/on/off, or a bare word.
func (p *parser) value() (Value, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return Value{Kind: ValueString, Text: t.val}, nil
	case tokNumber:
		if isNumber(t.val) {
			return Value{Kind: ValueNumber, Text: numberText(t.val)}, nil
		}
	case tokIdent:
		switch t.val {
		case "true", "on":
			return Value{Kind: ValueBool, Text: "true"}, nil
		case "false", "off":
			return Value{Kind: ValueBool, Text: "false"}, nil
		}
		return Value{Kind: ValueIdent, Text: t.val}, nil
	case tokQuotedIdent:
		return Value{Kind: ValueIdent, Text: t.val}, nil
	case tokOp:
		if n := p.peek(); (t.val == "-" || t.val == "+") && n.kind == tokNumber && isNumber(n.val) {
			p.skip(1)
			return Value{Kind: ValueNumber, Text: strings.TrimPrefix(t.val, "+") + numberText(n.val)}, nil
		}
	}
	return Value{}, p.syntaxError(t)
}

// isNumber reports whether a number token is a valid numeric literal (and not
// digits followed by junk, such as 12abc).
func isNumber(s string) bool {
	if _, err := strconv.ParseFloat(s, 64); err == nil || isRangeErr(err) {
		return true
	}
	_, err := strconv.ParseInt(s, 0, 64)
	return err == nil || isRangeErr(err)
}

// numberText is a numeric literal without its digit-separating underscores
// (1_000 is 1000), as PostgreSQL reads it.
func numberText(s string) string { return strings.ReplaceAll(s, "_", "") }

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// REFRESH MATERIALIZED VIEW [CONCURRENTLY] name [PARTITION (col = value, ...)]
// or REFRESH PIPELINE name.
func (p *parser) refresh() (Statement, error) {
	p.skip(1)
	st := &Refresh{Span: p.span()}
	var err error
	switch {
	case p.acceptWords("materialized", "view"):
		st.Kind = KindMaterializedView
		st.Concurrent = p.acceptWords("concurrently")
	case p.acceptWords("pipeline"):
		st.Kind = KindPipeline
	default:
		return nil, p.syntaxError(p.expectedMismatch("materialized", "view"))
	}
	if st.Name, err = p.name(); err != nil {
		return nil, err
	}
	if st.Kind == KindMaterializedView && p.acceptWords("partition") {
		if st.Partition, err = p.partitionValues(); err != nil {
			return nil, err
		}
	}
	return st, p.expectEnd()
}

// partitionValues parses ( column = value [, ...] ).
func (p *parser) partitionValues() ([]PartitionValue, error) {
	list := []PartitionValue{}
	err := p.commaList(func() error {
		t := p.peek()
		col, err := p.colID()
		if err != nil {
			return err
		}
		if err := p.expectOp("="); err != nil {
			return err
		}
		v, err := p.value()
		if err != nil {
			return err
		}
		for _, prev := range list {
			if prev.Column == col {
				return pgerr.New(pgerrcode.DuplicateColumn, `column "%s" specified more than once`, col).
					WithPosition(charPos(p.src, t.start))
			}
		}
		list = append(list, PartitionValue{Column: col, Value: v})
		return nil
	})
	return list, err
}

// ALTER {MATERIALIZED VIEW | PIPELINE} name {SET REFRESH ... | SET (...) |
// SUSPEND | RESUME}
func (p *parser) alterObject() (Statement, error) {
	p.skip(1)
	st := &AlterObject{Span: p.span()}
	var err error
	if st.Kind, err = p.objectKind(false); err != nil {
		return nil, err
	}
	if st.Name, err = p.name(); err != nil {
		return nil, err
	}
	switch {
	case p.acceptWords("set", "refresh"):
		st.Action = AlterSetRefresh
		st.Refresh, err = p.refreshPolicy()
	case p.acceptWords("set"):
		st.Action = AlterSetOptions
		st.Options, err = p.optionList()
	case p.acceptWords("suspend"):
		st.Action = AlterSuspend
	case p.acceptWords("resume"):
		st.Action = AlterResume
	default:
		err = p.syntaxError(p.peek())
	}
	if err != nil {
		return nil, err
	}
	return st, p.expectEnd()
}

// DROP {SOURCE | MATERIALIZED VIEW | PIPELINE} [IF EXISTS] name [, ...]
// [CASCADE | RESTRICT]
func (p *parser) drop() (Statement, error) {
	p.skip(1)
	st := &Drop{Span: p.span()}
	var err error
	if st.Kind, err = p.objectKind(true); err != nil {
		return nil, err
	}
	st.IfExists = p.acceptWords("if", "exists")
	for {
		n, err := p.name()
		if err != nil {
			return nil, err
		}
		st.Names = append(st.Names, n)
		if !p.acceptOp(",") {
			break
		}
	}
	if p.acceptWords("cascade") {
		st.Cascade = true
	} else {
		p.acceptWords("restrict")
	}
	return st, p.expectEnd()
}

// objectKind parses SOURCE (when allowed), MATERIALIZED VIEW or PIPELINE.
func (p *parser) objectKind(allowSource bool) (ObjectKind, error) {
	switch {
	case allowSource && p.acceptWords("source"):
		return KindSource, nil
	case p.acceptWords("pipeline"):
		return KindPipeline, nil
	}
	return KindMaterializedView, p.expectWords("materialized", "view")
}

// SHOW SOURCES | MATERIALIZED VIEWS | PIPELINES | RUNS [FOR name]
func (p *parser) show() (Statement, error) {
	p.skip(1)
	st := &Show{Span: p.span()}
	switch {
	case p.acceptWords("sources"):
		st.What = ShowSources
	case p.acceptWords("pipelines"):
		st.What = ShowPipelines
	case p.acceptWords("runs"):
		st.What = ShowRuns
		if p.acceptWords("for") {
			n, err := p.name()
			if err != nil {
				return nil, err
			}
			st.For = &n
		}
	default:
		st.What = ShowMaterializedViews
		if err := p.expectWords("materialized", "views"); err != nil {
			return nil, err
		}
	}
	return st, p.expectEnd()
}

// EXPLAIN REFRESH name
func (p *parser) explainRefresh() (Statement, error) {
	p.skip(2)
	st := &ExplainRefresh{Span: p.span()}
	var err error
	if st.Name, err = p.name(); err != nil {
		return nil, err
	}
	return st, p.expectEnd()
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
