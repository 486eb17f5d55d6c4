package sql

import "strings"

// Set is SET [SESSION | LOCAL] name {TO | =} value [, ...], SET TIME ZONE,
// SET NAMES, SET SESSION CHARACTERISTICS AS TRANSACTION ..., SET
// TRANSACTION ..., or RESET name | ALL (Reset set). The gateway decides
// which settings DuckDB takes and which it keeps for the session.
type Set struct {
	Span
	Name  string // folded to lower case; "transaction" and "session characteristics" for those forms
	Value string // the value: list items unquoted and joined by ", "; "" for DEFAULT
	Local bool
	Reset bool // RESET, or SET ... TO DEFAULT
	All   bool // RESET ALL
}

// ShowSetting is SHOW name, SHOW TIME ZONE or SHOW TRANSACTION ISOLATION
// LEVEL. SHOW of a word that is no setting (DuckDB's SHOW table) is the
// gateway's to pass through.
type ShowSetting struct {
	Span
	Name string
}

// setting parses SET, RESET and SHOW of a setting.
func (p *parser) setting() (Statement, error) {
	switch {
	case p.atWords("set", "global"), p.atWords("set", "variable"), p.atWords("reset", "global"), p.atWords("reset", "variable"):
		return &Passthrough{Span: p.span()}, nil
	case p.atWords("set"):
		return p.set()
	case p.atWords("reset"):
		return p.reset()
	}
	return p.showSetting()
}

func (p *parser) set() (Statement, error) {
	p.skip(1)
	st := &Set{Span: p.span()}
	switch {
	case p.acceptWords("local"):
		st.Local = true
	case p.atWords("session", "characteristics"):
	case p.acceptWords("session"):
	}
	switch {
	case p.acceptWords("session", "characteristics"):
		st.Name = "session characteristics"
		st.Value = p.rest()
		return st, nil
	case p.acceptWords("transaction"):
		st.Name = "transaction"
		st.Value = p.rest()
		return st, nil
	case p.acceptWords("time", "zone"):
		st.Name = "timezone"
	case p.acceptWords("names"):
		st.Name = "client_encoding"
	default:
		name, err := p.settingName()
		if err != nil {
			return nil, err
		}
		st.Name = name
		if !p.acceptWords("to") {
			if err := p.expectOp("="); err != nil {
				return nil, err
			}
		}
	}
	if p.acceptWords("default") || p.atWords("local") && st.Name == "timezone" {
		st.Reset = true
		return st, p.expectEnd()
	}
	var vals []string
	for {
		t := p.next()
		switch t.kind {
		case tokString, tokIdent, tokQuotedIdent, tokNumber:
			vals = append(vals, t.val)
		case tokOp:
			if n := p.peek(); t.val == "-" && n.kind == tokNumber {
				p.skip(1)
				vals = append(vals, "-"+n.val)
				break
			}
			return nil, p.syntaxError(t)
		default:
			return nil, p.syntaxError(t)
		}
		if !p.acceptOp(",") {
			break
		}
	}
	st.Value = strings.Join(vals, ", ")
	return st, p.expectEnd()
}

func (p *parser) reset() (Statement, error) {
	p.skip(1)
	st := &Set{Span: p.span(), Reset: true}
	switch {
	case p.acceptWords("all"):
		st.All = true
	case p.acceptWords("time", "zone"):
		st.Name = "timezone"
	case p.acceptWords("session", "authorization"), p.acceptWords("role"):
		st.Name = "role"
	default:
		name, err := p.settingName()
		if err != nil {
			return nil, err
		}
		st.Name = name
	}
	return st, p.expectEnd()
}

// atShowSetting reports SHOW name (one word, possibly dotted), SHOW TIME
// ZONE and SHOW TRANSACTION ISOLATION LEVEL.
func (p *parser) atShowSetting() bool {
	if !p.atWords("show") {
		return false
	}
	switch {
	case p.atWords("show", "transaction", "isolation", "level"):
		return len(p.toks) == 4
	case p.atWords("show", "time", "zone"):
		return len(p.toks) == 3
	}
	t := p.peekAt(1)
	if t.kind != tokIdent && t.kind != tokQuotedIdent {
		return false
	}
	n := len(p.toks)
	return n == 2 || n == 4 && isOp(p.toks[2], ".")
}

func (p *parser) showSetting() (Statement, error) {
	p.skip(1)
	st := &ShowSetting{Span: p.span()}
	switch {
	case p.acceptWords("transaction", "isolation", "level"):
		st.Name = "transaction_isolation"
	case p.acceptWords("time", "zone"):
		st.Name = "timezone"
	default:
		name, err := p.settingName()
		if err != nil {
			return nil, err
		}
		st.Name = name
	}
	return st, p.expectEnd()
}

// settingName parses a setting's name: a word, or two joined by a dot
// (a custom setting such as myapp.user_id).
func (p *parser) settingName() (string, error) {
	name, err := p.label()
	if err != nil {
		return "", err
	}
	if p.acceptOp(".") {
		second, err := p.label()
		if err != nil {
			return "", err
		}
		name += "." + second
	}
	return strings.ToLower(name), nil
}

// rest returns the text of the remaining tokens and consumes them.
func (p *parser) rest() string {
	if p.i >= len(p.toks) {
		return ""
	}
	text := p.src[p.toks[p.i].start:p.toks[len(p.toks)-1].end]
	p.i = len(p.toks)
	return text
}
