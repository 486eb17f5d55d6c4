package sql

// Parsing of CREATE SOURCE and ALTER SOURCE.

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
