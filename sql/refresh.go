package sql

import (
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Parsing of REFRESH MATERIALIZED VIEW (of a partition too), REFRESH PIPELINE
// and EXPLAIN REFRESH.

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
