package sql

import (
	"strconv"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// START DEPLOYMENT and FINISH DEPLOYMENT record a deployment of pipelines
// as code (sluice-gateway apply) in sluice.deployments: the session that
// starts one finishes it, and one it leaves running is failed when the
// session ends.

// StartDeployment is START DEPLOYMENT [WITH (changes = n)] AS 'plan'.
type StartDeployment struct {
	Span
	Changes int    // the number of changes the plan holds
	Plan    string // the plan as the client printed it
}

// FinishDeployment is FINISH DEPLOYMENT [FAILED ['error']].
type FinishDeployment struct {
	Span
	Failed bool
	Error  string
}

// startDeployment parses START DEPLOYMENT [WITH (changes = n)] AS 'plan'.
func (p *parser) startDeployment() (Statement, error) {
	p.skip(2)
	st := &StartDeployment{Span: p.span()}
	if p.acceptWords("with") {
		opts, err := p.optionList()
		if err != nil {
			return nil, err
		}
		for _, o := range opts {
			if o.Key != "changes" {
				return nil, pgerr.New(pgerrcode.InvalidParameterValue, "unrecognized deployment option %q", o.Key).WithPosition(o.Pos)
			}
			n, err := strconv.Atoi(o.Value.Text)
			if o.Value.Kind != ValueNumber || err != nil || n < 0 {
				return nil, pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option \"changes\": %q (want a number of changes, 0 or more)", o.Value.Text).WithPosition(o.Pos)
			}
			st.Changes = n
		}
	}
	if err := p.expectWords("as"); err != nil {
		return nil, err
	}
	plan, err := p.stringLit()
	if err != nil {
		return nil, err
	}
	st.Plan = plan
	return st, p.expectEnd()
}

// finishDeployment parses FINISH DEPLOYMENT [FAILED ['error']].
func (p *parser) finishDeployment() (Statement, error) {
	p.skip(2)
	st := &FinishDeployment{Span: p.span()}
	if p.acceptWords("failed") {
		st.Failed = true
		if p.peek().kind == tokString {
			st.Error, _ = p.stringLit()
		}
	}
	return st, p.expectEnd()
}
