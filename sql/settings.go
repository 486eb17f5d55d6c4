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
//
// A SELECT of set_config(name, value, is_local) calls with constant
// arguments (pg_dump empties search_path so) is a ShowSetting too, with the
// calls in SetConfig and no Name: each call makes its setting, then the row
// shows the new values, one column per call.
type ShowSetting struct {
	Span
	Name      string
	SetConfig []SetConfig
}

// SetConfig is one set_config(name, value, is_local) call.
type SetConfig struct {
	Name   string // folded to lower case
	Value  string
	Reset  bool // the value is NULL: the setting returns to its default
	Local  bool // is_local: until the end of the transaction
	Column string
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
	case p.atWords("select"):
		return p.selectSetConfig()
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
// ZONE and SHOW TRANSACTION ISOLATION LEVEL, and a SELECT that starts with a
// set_config call.
func (p *parser) atShowSetting() bool {
	if p.atWords("select", "set_config") && isOp(p.peekAt(2), "(") ||
		p.atWords("select", "pg_catalog") && isOp(p.peekAt(2), ".") && isWord(p.peekAt(3), "set_config") {
		return true
	}
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

// selectSetConfig parses SELECT set_config(...) [[AS] alias] [, ...] where
// each call's arguments are string literals (the value may be NULL) and
// is_local a boolean constant. Any other SELECT fails, and is passed through.
func (p *parser) selectSetConfig() (Statement, error) {
	p.skip(1)
	st := &ShowSetting{Span: p.span()}
	for {
		if p.acceptWords("pg_catalog") {
			if err := p.expectOp("."); err != nil {
				return nil, err
			}
		}
		if err := p.expectWords("set_config"); err != nil {
			return nil, err
		}
		var c SetConfig
		err := p.commaListN(3, func(k int) error {
			t := p.next()
			switch {
			case k == 0 && t.kind == tokString:
				c.Name = strings.ToLower(t.val)
			case k == 1 && t.kind == tokString:
				c.Value = t.val
			case k == 1 && isWord(t, "null"):
				c.Reset = true
			case k == 2 && (isWord(t, "true") || isWord(t, "false")):
				c.Local = t.val == "true"
			case k == 2 && t.kind == tokString:
				b, ok := boolText(t.val)
				if !ok {
					return p.syntaxError(t)
				}
				c.Local = b
			default:
				return p.syntaxError(t)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		c.Column = "set_config"
		if p.acceptWords("as") || p.peek().kind == tokIdent && keywordOf(p.peek().val) == unreservedKeyword || p.peek().kind == tokQuotedIdent {
			alias, err := p.label()
			if err != nil {
				return nil, err
			}
			c.Column = alias
		}
		st.SetConfig = append(st.SetConfig, c)
		if !p.acceptOp(",") {
			break
		}
	}
	return st, p.expectEnd()
}

// commaListN parses ( item, item, ... ) of exactly n items, calling item
// with each one's index.
func (p *parser) commaListN(n int, item func(k int) error) error {
	if err := p.expectOp("("); err != nil {
		return err
	}
	for k := 0; k < n; k++ {
		if k > 0 {
			if err := p.expectOp(","); err != nil {
				return err
			}
		}
		if err := item(k); err != nil {
			return err
		}
	}
	return p.expectOp(")")
}

// boolText reads PostgreSQL's text forms of a boolean.
func boolText(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "t", "true", "y", "yes", "on", "1":
		return true, true
	case "f", "false", "n", "no", "off", "0":
		return false, true
	}
	return false, false
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
