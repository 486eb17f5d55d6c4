package sql

import (
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Parsing of CREATE MATERIALIZED VIEW and CREATE PIPELINE, and of the
// definition they share (objectDef): the constraint list, PARTITION BY, the
// REFRESH policy, WITH options and the query.

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

// CREATE [OR REPLACE] MATERIALIZED VIEW ... AS query [WITH [NO] DATA]
func (p *parser) createMaterializedView(orReplace bool) (Statement, error) {
	if orReplace {
		p.skip(4)
	} else {
		p.skip(2)
	}
	if err := p.expectWords("view"); err != nil {
		return nil, err
	}
	if orReplace && p.atWords("if", "not", "exists") {
		// PostgreSQL's grammar has no CREATE OR REPLACE ... IF NOT EXISTS.
		return nil, p.syntaxError(p.peek())
	}
	def, err := p.objectDef(true)
	if err != nil {
		return nil, err
	}
	if orReplace && !def.withData {
		e := pgerr.Unsupported("CREATE OR REPLACE MATERIALIZED VIEW ... WITH NO DATA is not supported: the replacement is built before it replaces the view")
		e.Hint = "Leave out WITH NO DATA."
		return nil, e.WithPosition(charPos(p.src, p.toks[0].start))
	}
	return &CreateMaterializedView{
		Span:        p.span(),
		OrReplace:   orReplace,
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

// CREATE [OR REPLACE] PIPELINE ... AS query
func (p *parser) createPipeline(orReplace bool) (Statement, error) {
	if orReplace {
		p.skip(4)
		if p.atWords("if", "not", "exists") {
			return nil, p.syntaxError(p.peek())
		}
	} else {
		p.skip(2)
	}
	def, err := p.objectDef(false)
	if err != nil {
		return nil, err
	}
	return &CreatePipeline{
		Span:        p.span(),
		OrReplace:   orReplace,
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
