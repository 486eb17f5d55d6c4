package sql

// Parsing of SHOW SOURCES, SHOW MATERIALIZED VIEWS, SHOW PIPELINES and SHOW
// RUNS (SHOW of a setting is in settings.go).

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
