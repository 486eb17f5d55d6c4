package sql

import "strings"

// Shape is what a statement passed through to DuckDB does, as far as
// privileges need to know before DuckDB runs it: its verb, the objects it
// creates, changes or drops, the query inside it, and the files it names.
// It is read from the statement's leading tokens; the query parts are
// analysed with DuckDB's own parser (json_serialize_sql), and what Shape
// cannot read is judged conservatively (Names).
type Shape struct {
	// Verb is the statement's first keyword, upper case (SELECT, INSERT,
	// CREATE, COPY, ATTACH, SET, PRAGMA, ...; WITH, VALUES, FROM, TABLE,
	// SHOW, DESCRIBE, SUMMARIZE, PIVOT, UNPIVOT for queries). EXPLAIN is
	// read through: Explain is set and the rest describes the statement
	// explained.
	Verb    string
	Explain bool
	// Object is the kind of object CREATE, DROP, ALTER and COMMENT ON name
	// (TABLE, VIEW, SEQUENCE, MACRO, TYPE, INDEX, SCHEMA, SECRET,
	// DATABASE, ...; FUNCTION is MACRO), upper case.
	Object      string
	Temp        bool // CREATE TEMP[ORARY] ...
	OrReplace   bool
	IfNotExists bool
	IfExists    bool
	Cascade     bool
	// Names are the objects the statement creates, changes, drops or
	// writes to (INSERT INTO, UPDATE, DELETE FROM, TRUNCATE, MERGE INTO,
	// COPY name, CREATE INDEX's table in On).
	Names []Name
	// On is the relation CREATE INDEX and COMMENT ON COLUMN are about.
	On *Name
	// RenameTo is ALTER ... RENAME TO's new name (unqualified).
	RenameTo string
	// Query is the query inside the statement, where one stands at its
	// end: CREATE TABLE ... AS query, CREATE VIEW ... AS query, INSERT INTO
	// t [(cols)] query, COPY (query) TO; the statement itself for queries.
	Query string
	// Path is the file COPY reads (From) or writes, ATTACH opens, EXPORT or
	// IMPORT DATABASE uses; the extension INSTALL and LOAD name.
	Path string
	From bool
	// Setting is the name SET, RESET and PRAGMA change or call, lower case;
	// Variable is set for SET / RESET VARIABLE, Assign for PRAGMA x = y.
	Setting  string
	Variable bool
	Assign   bool
	// Args are a PRAGMA call's string arguments.
	Args []string
	// Where tells whether UPDATE or DELETE reads the table's rows (a WHERE,
	// FROM or USING clause, RETURNING), which needs SELECT as in PostgreSQL.
	Where bool
}

// queryVerbs are the verbs of statements DuckDB parses as queries.
var queryVerbs = map[string]bool{"SELECT": true, "WITH": true, "VALUES": true, "FROM": true, "TABLE": true,
	"SHOW": true, "DESCRIBE": true, "SUMMARIZE": true, "PIVOT": true, "UNPIVOT": true, "(": true}

// IsQuery reports whether the shape is a query (json_serialize_sql reads
// it).
func (s *Shape) IsQuery() bool { return queryVerbs[s.Verb] }

// HasTokens reports whether stmt holds anything but white space and
// comments; text the lexer cannot read counts as tokens.
func HasTokens(stmt string) bool {
	toks, err := lexAll(stmt)
	return err != nil || len(toks) >= 2
}

// ShapeOf reads a statement's shape; nil when it is empty or cannot be
// lexed (the gateway refuses the latter to roles that are not superusers).
func ShapeOf(stmt string) *Shape {
	toks, err := lexAll(stmt)
	if err != nil || len(toks) < 2 {
		return nil
	}
	p := &parser{src: stmt, toks: toks[:len(toks)-1], end: toks[len(toks)-1]}
	s := &Shape{}
	rest := func() string {
		if p.i >= len(p.toks) {
			return ""
		}
		return stmt[p.toks[p.i].start:p.toks[len(p.toks)-1].end]
	}
	if p.acceptWords("explain") {
		s.Explain = true
		p.acceptWords("analyze")
		p.acceptWords("analyse")
		if isOp(p.peek(), "(") { // EXPLAIN (FORMAT json) ...
			p.skipParens()
		}
	}
	t := p.peek()
	switch {
	case isOp(t, "("):
		s.Verb = "("
	case t.kind == tokIdent:
		s.Verb = upperASCII(t.val)
	default:
		return s
	}
	if queryVerbs[s.Verb] {
		s.Query = rest()
		return s
	}
	p.skip(1)
	switch s.Verb {
	case "INSERT", "REPLACE":
		p.acceptWords("or", "replace")
		p.acceptWords("or", "ignore")
		if !p.acceptWords("into") {
			return s
		}
		s.name(p)
		if isOp(p.peek(), "(") && !p.parensHoldQuery() {
			p.skipParens()
		}
		p.acceptWords("by", "name")
		p.acceptWords("by", "position")
		if p.atWords("default", "values") {
			return s
		}
		s.Query = p.untilWords(stmt, "on", "returning")
		s.Where = p.hasWord("returning")
	case "UPDATE":
		if p.atWords("extensions") {
			s.Verb = "UPDATE EXTENSIONS"
			return s
		}
		s.name(p)
		s.Where = p.hasWord("where") || p.hasWord("from") || p.hasWord("returning")
	case "DELETE":
		p.acceptWords("from")
		s.name(p)
		s.Where = p.hasWord("where") || p.hasWord("using") || p.hasWord("returning")
	case "TRUNCATE":
		p.acceptWords("table")
		s.name(p)
	case "MERGE":
		p.acceptWords("into")
		s.name(p)
		s.Where = true
	case "COPY":
		if isOp(p.peek(), "(") {
			start := p.i
			p.skipParens()
			if start+1 < p.i-1 {
				s.Query = stmt[p.toks[start+1].start:p.toks[p.i-2].end]
			}
		} else {
			s.name(p)
			if isOp(p.peek(), "(") {
				p.skipParens()
			}
		}
		switch {
		case p.acceptWords("from"):
			s.From = true
		case p.acceptWords("to"):
		}
		if t := p.peek(); t.kind == tokString {
			s.Path = t.val
		}
	case "ATTACH":
		p.acceptWords("database")
		p.acceptWords("if", "not", "exists")
		if t := p.peek(); t.kind == tokString {
			s.Path = t.val
		} else if t.kind == tokIdent || t.kind == tokQuotedIdent {
			s.Path = t.val
		}
	case "EXPORT", "IMPORT":
		p.acceptWords("database")
		if t := p.peek(); t.kind == tokString {
			s.Path = t.val
		}
	case "INSTALL", "LOAD", "FORCE":
		if s.Verb == "FORCE" {
			p.acceptWords("install")
		}
		if t := p.peek(); t.kind == tokString || t.kind == tokIdent || t.kind == tokQuotedIdent {
			s.Path = t.val
		}
	case "SET", "RESET":
		p.acceptWords("session")
		p.acceptWords("local")
		p.acceptWords("global")
		if p.acceptWords("variable") {
			s.Variable = true
		}
		if t := p.peek(); t.kind == tokIdent || t.kind == tokQuotedIdent {
			s.Setting = strings.ToLower(t.val)
		}
	case "PRAGMA":
		if t := p.peek(); t.kind == tokIdent || t.kind == tokQuotedIdent {
			s.Setting = strings.ToLower(t.val)
			p.skip(1)
		}
		if p.acceptOp("=") {
			s.Assign = true
		} else if p.acceptOp("(") {
			for p.i < len(p.toks) && !isOp(p.peek(), ")") {
				if t := p.peek(); t.kind == tokString {
					s.Args = append(s.Args, t.val)
				}
				p.skip(1)
			}
		}
	case "CREATE":
		s.create(p, stmt, rest)
	case "DROP":
		s.Object = p.objectWord()
		s.IfExists = p.acceptWords("if", "exists")
		for {
			if !s.name(p) || !p.acceptOp(",") {
				break
			}
		}
		s.Cascade = p.hasWord("cascade")
	case "ALTER":
		s.Object = p.objectWord()
		s.IfExists = p.acceptWords("if", "exists")
		s.name(p)
		for p.i < len(p.toks) {
			if p.acceptWords("rename", "to") {
				if t := p.peek(); t.kind == tokIdent || t.kind == tokQuotedIdent {
					s.RenameTo = t.val
				}
				break
			}
			p.skip(1)
		}
	case "COMMENT":
		if !p.acceptWords("on") {
			return s
		}
		s.Object = p.objectWord()
		if s.Object == "COLUMN" {
			// COMMENT ON COLUMN [schema.]table.column: the table.
			parts := p.nameParts()
			if len(parts) >= 2 {
				n := Name{Name: parts[len(parts)-2]}
				if len(parts) >= 3 {
					n.Schema = parts[len(parts)-3]
				}
				s.On = &n
			}
			return s
		}
		s.name(p)
	case "CALL":
		s.Query = "SELECT * FROM " + rest()
	}
	return s
}

// create reads CREATE [OR REPLACE] [TEMP] kind [IF NOT EXISTS] name ....
func (s *Shape) create(p *parser, stmt string, rest func() string) {
	s.OrReplace = p.acceptWords("or", "replace")
	if p.acceptWords("temp") || p.acceptWords("temporary") {
		s.Temp = true
	}
	p.acceptWords("persistent")
	p.acceptWords("unique")
	s.Object = p.objectWord()
	s.IfNotExists = p.acceptWords("if", "not", "exists")
	if s.Object == "INDEX" {
		if !p.atWords("on") {
			p.colID()
		}
		if p.acceptWords("on") {
			var n Name
			if name, err := p.name(); err == nil {
				n = name
				s.On = &n
			}
		}
		return
	}
	s.name(p)
	switch s.Object {
	case "TABLE", "VIEW":
		if isOp(p.peek(), "(") {
			p.skipParens()
		}
		if p.acceptWords("as") {
			s.Query = p.untilWords(stmt, "with")
		}
	case "TYPE":
		// CREATE TYPE t AS ENUM (query) reads a query's rows.
		s.Query = ""
	}
}

// name reads a name into Names; false when none is there.
func (s *Shape) name(p *parser) bool {
	parts := p.nameParts()
	switch len(parts) {
	case 0:
		return false
	case 1:
		s.Names = append(s.Names, Name{Name: parts[0]})
	default: // [catalog.]schema.name
		s.Names = append(s.Names, Name{Schema: parts[len(parts)-2], Name: parts[len(parts)-1]})
	}
	return true
}
