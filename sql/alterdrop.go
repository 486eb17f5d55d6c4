package sql

// Parsing of ALTER MATERIALIZED VIEW / PIPELINE and of DROP SOURCE /
// MATERIALIZED VIEW / PIPELINE.

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
