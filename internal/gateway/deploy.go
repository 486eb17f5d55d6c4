package gateway

import (
	"context"
	"fmt"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
)

// START DEPLOYMENT and FINISH DEPLOYMENT (docs/sql.md, Deployments): a
// session records the deployment it runs in sluice.deployments. Any role
// may record its own: the row names the session's role, only that session
// finishes it, and the role sees only its own rows (superusers,
// pg_monitor and pg_read_all_data see all). A deployment the session
// leaves running fails when the session ends, however it ends.

// maxPlanBytes bounds the plan START DEPLOYMENT stores.
const maxPlanBytes = 1 << 20

// deploymentStatement runs START DEPLOYMENT or FINISH DEPLOYMENT.
func (s *session) deploymentStatement(ctx context.Context, st sql.Statement) (*cursor, error) {
	switch st := st.(type) {
	case *sql.StartDeployment:
		if s.deployment != 0 {
			e := pgerr.New(pgerrcode.ObjectNotInPrerequisiteState, "deployment %d is already running in this session", s.deployment)
			e.Hint = "FINISH DEPLOYMENT first."
			return nil, e
		}
		if len(st.Plan) > maxPlanBytes {
			return nil, pgerr.New(pgerrcode.ProgramLimitExceeded, "a deployment's plan is limited to %d bytes (this one has %d)", maxPlanBytes, len(st.Plan))
		}
		id, err := s.g.cat.StartDeployment(ctx, s.user, st.Plan, st.Changes)
		if err != nil {
			return nil, err
		}
		s.deployment = id
		return s.done(fmt.Sprintf("START DEPLOYMENT %d", id)), nil
	case *sql.FinishDeployment:
		if s.deployment == 0 {
			return nil, pgerr.New(pgerrcode.ObjectNotInPrerequisiteState, "no deployment is running in this session")
		}
		msg := st.Error
		if st.Failed && msg == "" {
			msg = "failed"
		}
		if err := s.g.cat.FinishDeployment(context.WithoutCancel(ctx), s.deployment, st.Failed, msg); err != nil {
			return nil, err
		}
		id := s.deployment
		s.deployment = 0
		return s.done(fmt.Sprintf("FINISH DEPLOYMENT %d", id)), nil
	}
	return nil, pgerr.Unsupported("statement %T is not a deployment statement", st)
}

// abandonDeployment fails the deployment the session leaves running.
func (s *session) abandonDeployment() {
	if s.deployment == 0 {
		return
	}
	if err := s.g.cat.FinishDeployment(context.Background(), s.deployment, true, "interrupted: the session ended before FINISH DEPLOYMENT"); err != nil {
		s.g.log.Warn("failing an abandoned deployment", "deployment", s.deployment, "err", err)
	}
	s.deployment = 0
}
