package sql

import (
	"strings"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// CREATE SECRET / ALTER SECRET / DROP SECRET, with Materialize's grammar,
// and secret references in option lists (password = SECRET name). A
// secret holds one value that connector options reference by name; the
// gateway stores it encrypted. A statement holds the value in clear: never
// log its Text, log RedactedText.
//
// DuckDB has a CREATE SECRET of its own (CREATE [OR REPLACE] [PERSISTENT |
// TEMPORARY] SECRET [name] (TYPE s3, ...)), which stores credentials in
// DuckDB in a form Sluice neither encrypts nor redacts: every form of it is
// refused here (0A000), so it never reaches DuckDB.

// CreateSecret is CREATE SECRET [IF NOT EXISTS] name AS 'value'.
type CreateSecret struct {
	Span
	Name        Name
	IfNotExists bool
	Value       string

	litStart, litEnd int // the value literal's byte span in the parsed string
}

// AlterSecret is ALTER SECRET [IF EXISTS] name AS 'value'.
type AlterSecret struct {
	Span
	Name     Name
	IfExists bool
	Value    string

	litStart, litEnd int
}

// DropSecret is DROP SECRET [IF EXISTS] name [, ...] [CASCADE | RESTRICT].
type DropSecret struct {
	Span
	Names    []Name
	IfExists bool
	Cascade  bool
}

// duckdbSecretHint points users of DuckDB's CREATE SECRET at Sluice's.
const duckdbSecretHint = "Sluice's secrets hold one value for a connector option: CREATE SECRET name AS '...', then WITH (password = SECRET name). See docs/security.md, Secrets."

// atSecretStatement reports whether the statement is CREATE, ALTER or DROP
// of a SECRET, in Sluice's form or DuckDB's.
func (p *parser) atSecretStatement() bool {
	k := 1
	switch {
	case p.atWords("create"):
		if p.atWords("create", "or", "replace") {
			k = 3
		}
	case p.atWords("drop"):
	case p.atWords("alter"):
		return isWord(p.peekAt(1), "secret")
	default:
		return false
	}
	if t := p.peekAt(k); isWord(t, "persistent") || isWord(t, "temporary") || isWord(t, "temp") {
		k++
	}
	return isWord(p.peekAt(k), "secret")
}

// secretStatement parses the statement atSecretStatement found.
func (p *parser) secretStatement() (Statement, error) {
	switch {
	case p.atWords("create", "secret"):
		return p.createSecret()
	case p.atWords("alter", "secret"):
		return p.alterSecret()
	case p.atWords("drop", "secret"):
		return p.dropSecret()
	}
	// CREATE OR REPLACE SECRET, CREATE PERSISTENT SECRET, DROP TEMPORARY
	// SECRET ...: DuckDB's.
	return nil, p.duckdbSecret()
}

// duckdbSecret refuses DuckDB's own secret statements.
func (p *parser) duckdbSecret() error {
	verb := upperASCII(p.toks[0].val)
	e := pgerr.Unsupported("DuckDB's %s SECRET is not available through Sluice", verb)
	e.Hint = duckdbSecretHint
	return e.WithPosition(charPos(p.src, p.toks[0].start))
}

// CREATE SECRET [IF NOT EXISTS] name AS 'value'
func (p *parser) createSecret() (Statement, error) {
	p.skip(2)
	st := &CreateSecret{Span: p.span()}
	st.IfNotExists = p.acceptWords("if", "not", "exists")
	if isOp(p.peek(), "(") { // DuckDB's unnamed CREATE SECRET (TYPE ...)
		return nil, p.duckdbSecret()
	}
	var err error
	if st.Name, err = p.name(); err != nil {
		return nil, err
	}
	if isOp(p.peek(), "(") || isWord(p.peek(), "in") { // DuckDB's CREATE SECRET name [IN storage] (TYPE ...)
		return nil, p.duckdbSecret()
	}
	if st.Value, st.litStart, st.litEnd, err = p.secretValue(); err != nil {
		return nil, err
	}
	return st, p.expectEnd()
}

// ALTER SECRET [IF EXISTS] name AS 'value'
func (p *parser) alterSecret() (Statement, error) {
	p.skip(2)
	st := &AlterSecret{Span: p.span()}
	st.IfExists = p.acceptWords("if", "exists")
	var err error
	if st.Name, err = p.name(); err != nil {
		return nil, err
	}
	if st.Value, st.litStart, st.litEnd, err = p.secretValue(); err != nil {
		return nil, err
	}
	return st, p.expectEnd()
}

// secretValue parses AS 'value' and returns the value and its literal's
// byte span.
func (p *parser) secretValue() (string, int, int, error) {
	if err := p.expectWords("as"); err != nil {
		return "", 0, 0, err
	}
	lit := p.peek()
	v, err := p.stringLit()
	return v, lit.start, lit.end, err
}

// DROP SECRET [IF EXISTS] name [, ...] [CASCADE | RESTRICT]
func (p *parser) dropSecret() (Statement, error) {
	p.skip(2)
	st := &DropSecret{Span: p.span()}
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
	if isWord(p.peek(), "from") { // DuckDB's DROP SECRET name FROM storage
		return nil, p.duckdbSecret()
	}
	if p.acceptWords("cascade") {
		st.Cascade = true
	} else {
		p.acceptWords("restrict")
	}
	return st, p.expectEnd()
}

// optionValue parses the value of a `key = value` option: a secret
// reference (SECRET name) or a literal (value). SECRET alone is the bare
// word secret, as before.
func (p *parser) optionValue() (Value, error) {
	if !isWord(p.peek(), "secret") {
		return p.value()
	}
	if n := p.peekAt(1); n.kind != tokIdent && n.kind != tokQuotedIdent {
		return p.value()
	}
	p.skip(1)
	n, err := p.name()
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: ValueSecret, Text: n.String(), Secret: n}, nil
}

// redactedSecretText is a secret statement's text with its value replaced by
// '********'.
func redactedSecretText(st Statement, litStart, litEnd int) string {
	text := st.Text()
	from, to := litStart-st.Start(), litEnd-st.Start()
	if litEnd == 0 || from < 0 || to > len(text) {
		return text
	}
	var b strings.Builder
	b.WriteString(text[:from])
	b.WriteString("'********'")
	b.WriteString(text[to:])
	return b.String()
}
