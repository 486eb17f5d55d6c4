package catalog

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Deployments of pipelines as code (START DEPLOYMENT / FINISH DEPLOYMENT,
// sent by sluice-gateway apply): one row per apply with its plan, the role
// that applied it and how it ended. The system view sluice.deployments
// shows a role its own deployments (every row to superusers, pg_monitor and
// pg_read_all_data).

// deploymentsDDL creates the table; CREATE ... IF NOT EXISTS adds it to a
// catalog of schema version 2 written before it existed, so the version
// stays 2 (schema.go).
var deploymentsDDL = []string{
	`CREATE SEQUENCE IF NOT EXISTS sluice_catalog.deployment_ids START 1`,
	`CREATE TABLE IF NOT EXISTS sluice_catalog.deployments (
		id           BIGINT NOT NULL,
		role         VARCHAR NOT NULL,
		status       VARCHAR NOT NULL,
		started_at   TIMESTAMPTZ NOT NULL,
		finished_at  TIMESTAMPTZ,
		changes      INTEGER NOT NULL,
		plan         VARCHAR NOT NULL,
		error        VARCHAR
	)`,
}

// deploymentsView is the system view over it (system.go's filter: a role's
// own rows, or every row).
const deploymentsView = `CREATE OR REPLACE VIEW sluice.deployments AS
	SELECT * FROM sluice_catalog.deployments
	WHERE coalesce(getvariable('sluice_all'), false) OR role = getvariable('sluice_user')`

// Deployment is a row of sluice.deployments.
type Deployment struct {
	ID         int64
	Role       string
	Status     string // running, succeeded, failed
	StartedAt  time.Time
	FinishedAt time.Time
	Changes    int
	Plan       string
	Error      string
}

// StartDeployment records a running deployment by role and returns its id.
func (s *Store) StartDeployment(ctx context.Context, role, plan string, changes int) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT nextval('sluice_catalog.deployment_ids')`).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.deployments (id, role, status, started_at, changes, plan)
			VALUES ($1, $2, 'running', now(), $3, $4)`, id, role, changes, plan)
		return err
	})
	return id, err
}

// FinishDeployment records how a running deployment ended: succeeded when
// errText is "" and failed is false, failed otherwise.
func (s *Store) FinishDeployment(ctx context.Context, id int64, failed bool, errText string) error {
	status := "succeeded"
	if failed {
		status = "failed"
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.deployments SET status = $2, finished_at = now(), error = NULLIF($3, '')
			WHERE id = $1 AND status = 'running'`, id, status, errText)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errors.New("catalog: deployment is not running")
		}
		return nil
	})
}

// GetDeployment returns deployment id.
func (s *Store) GetDeployment(ctx context.Context, id int64) (Deployment, error) {
	var d Deployment
	var finished sql.NullTime
	var errText sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT id, role, status, started_at, finished_at, changes, plan, error
		FROM sluice_catalog.deployments WHERE id = $1`, id).
		Scan(&d.ID, &d.Role, &d.Status, &d.StartedAt, &finished, &d.Changes, &d.Plan, &errText)
	d.FinishedAt, d.Error = finished.Time, errText.String
	return d, err
}

// recoverDeployments fails the deployments a stopped gateway left running,
// inside Recover's transaction.
func recoverDeployments(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.deployments SET status = 'failed', finished_at = now(),
		error = 'interrupted: the gateway stopped during the deployment' WHERE status = 'running'`)
	return err
}
