package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// ScheduleKind is how an object is refreshed.
type ScheduleKind string

const (
	ScheduleManual   ScheduleKind = "manual"
	ScheduleEvery    ScheduleKind = "every"
	ScheduleCron     ScheduleKind = "cron"
	ScheduleOnChange ScheduleKind = "on change"
)

// Schedule is an object's refresh policy, stored as JSON beside its
// display text (sluice.materialized_views.refresh).
type Schedule struct {
	Kind      ScheduleKind  `json:"kind"`
	Interval  time.Duration `json:"interval,omitempty"`  // every
	AlignedTo time.Time     `json:"aligned_to,omitzero"` // every: the tick anchor (default: the Unix epoch)
	Cron      string        `json:"cron,omitempty"`      // cron
	TimeZone  string        `json:"time_zone,omitempty"` // cron: IANA zone (default UTC)
	Text      string        `json:"text"`                // as the user wrote it, e.g. EVERY '1 minute'
}

// scheduleDDL adds the scheduler's state to materialized views and
// pipelines (the same columns in both tables) and exposes it, for both, as
// sluice.schedules.
var scheduleDDL = []string{
	`ALTER TABLE sluice_catalog.materialized_views ADD COLUMN IF NOT EXISTS schedule VARCHAR`,
	`ALTER TABLE sluice_catalog.materialized_views ADD COLUMN IF NOT EXISTS suspended BOOLEAN DEFAULT false`,
	`ALTER TABLE sluice_catalog.materialized_views ADD COLUMN IF NOT EXISTS next_run TIMESTAMPTZ`,
	`ALTER TABLE sluice_catalog.materialized_views ADD COLUMN IF NOT EXISTS last_attempt TIMESTAMPTZ`,
	`ALTER TABLE sluice_catalog.pipelines ADD COLUMN IF NOT EXISTS schedule VARCHAR`,
	`ALTER TABLE sluice_catalog.pipelines ADD COLUMN IF NOT EXISTS suspended BOOLEAN DEFAULT false`,
	`ALTER TABLE sluice_catalog.pipelines ADD COLUMN IF NOT EXISTS next_run TIMESTAMPTZ`,
	`ALTER TABLE sluice_catalog.pipelines ADD COLUMN IF NOT EXISTS last_attempt TIMESTAMPTZ`,
	`ALTER TABLE sluice_catalog.pipelines ADD COLUMN IF NOT EXISTS constraints VARCHAR`,
	`CREATE OR REPLACE VIEW sluice_catalog.scheduled_objects AS
		SELECT id, schema, name, 'materialized view' AS kind, refresh, schedule, coalesce(suspended, false) AS suspended,
			status, next_run, last_refresh, last_attempt, options
		FROM sluice_catalog.materialized_views
		UNION ALL
		SELECT id, schema, name, 'pipeline' AS kind, refresh, schedule, coalesce(suspended, false) AS suspended,
			status, next_run, last_refresh, last_attempt, options
		FROM sluice_catalog.pipelines`,
	`CREATE OR REPLACE VIEW sluice_catalog.schedules AS
		SELECT name AS object, schema, kind, refresh,
			CASE WHEN suspended THEN 'suspended' ELSE status END AS status,
			CASE WHEN suspended THEN NULL ELSE next_run END AS next_run,
			last_refresh AS last_success, last_attempt,
			now() - last_refresh AS staleness
		FROM sluice_catalog.scheduled_objects`,
}

// ScheduledView is what the scheduler needs of a materialized view or a
// pipeline.
type ScheduledView struct {
	Ref         Ref
	Kind        Kind // KindMaterializedView or KindPipeline
	ID          int64
	Schedule    Schedule
	Suspended   bool
	NextRun     time.Time // zero when none is planned
	LastSuccess time.Time // zero when never refreshed
	LastAttempt time.Time
	MinInterval string // the min_interval option, "" when unset
	Status      string // fresh, active, failed, ...
}

// ScheduledViews returns every materialized view and pipeline with its
// schedule state.
func (s *Store) ScheduledViews(ctx context.Context) ([]ScheduledView, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT schema, name, kind, id, coalesce(schedule, ''), suspended,
		next_run, last_refresh, last_attempt, coalesce(options['min_interval'], ''), coalesce(status, '')
		FROM sluice_catalog.scheduled_objects ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ScheduledView
	for rows.Next() {
		var v ScheduledView
		var sched, kind string
		var next, last, attempt sql.NullTime
		if err := rows.Scan(&v.Ref.Schema, &v.Ref.Name, &kind, &v.ID, &sched, &v.Suspended, &next, &last, &attempt, &v.MinInterval, &v.Status); err != nil {
			return nil, err
		}
		v.Kind = Kind(kind)
		v.Schedule = parseSchedule(sched)
		v.NextRun, v.LastSuccess, v.LastAttempt = next.Time, last.Time, attempt.Time
		out = append(out, v)
	}
	return out, rows.Err()
}

func parseSchedule(js string) Schedule {
	sc := Schedule{Kind: ScheduleManual, Text: "MANUAL"}
	if js != "" {
		_ = json.Unmarshal([]byte(js), &sc)
	}
	return sc
}

// SetSchedule changes a view's or pipeline's refresh policy and its next
// planned run.
func (s *Store) SetSchedule(ctx context.Context, ref Ref, sc Schedule, next time.Time) error {
	js, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	return s.updateScheduled(ctx, ref, `schedule = $3, refresh = $4, next_run = $5`,
		string(js), sc.Text, nullTime(next))
}

// SetSuspended suspends or resumes a view's or pipeline's schedule.
func (s *Store) SetSuspended(ctx context.Context, ref Ref, suspended bool, next time.Time) error {
	return s.updateScheduled(ctx, ref, `suspended = $3, next_run = $4`,
		suspended, nullTime(next))
}

// SetNextRun records when the scheduler will refresh a view or run a
// pipeline next.
func (s *Store) SetNextRun(ctx context.Context, ref Ref, next time.Time) error {
	return s.updateScheduled(ctx, ref, `next_run = $3`, nullTime(next))
}

// SetOptions replaces a view's or pipeline's options.
func (s *Store) SetOptions(ctx context.Context, ref Ref, opts map[string]string) error {
	return s.updateScheduled(ctx, ref, `options = `+mapLiteral(opts))
}

// MarkAttempt records the start of a refresh attempt or pipeline run.
func (s *Store) MarkAttempt(ctx context.Context, id int64, at time.Time) error {
	return s.updateScheduledID(ctx, id, `last_attempt = $2`, at)
}

// SetStatus sets a view's or pipeline's status ('fresh', 'active',
// 'failed', ...).
func (s *Store) SetStatus(ctx context.Context, id int64, status string) error {
	return s.updateScheduledID(ctx, id, `status = $2`, status)
}

// scheduledTables hold the objects the scheduler refreshes; both have the
// scheduler's columns (scheduleDDL), and a name or id is in one of them.
var scheduledTables = []string{"sluice_catalog.materialized_views", "sluice_catalog.pipelines"}

// updateScheduled sets columns (set, with parameters from $3) of the view
// or pipeline named ref.
func (s *Store) updateScheduled(ctx context.Context, ref Ref, set string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int64
		for _, table := range scheduledTables {
			res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+set+` WHERE schema = $1 AND name = $2`, append([]any{ref.Schema, ref.Name}, args...)...)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		if n == 0 {
			return errors.New("catalog: no materialized view or pipeline " + ref.String())
		}
		return nil
	})
}

// updateScheduledID sets columns (set, with parameters from $2) of the view
// or pipeline with id.
func (s *Store) updateScheduledID(ctx context.Context, id int64, set string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, table := range scheduledTables {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+set+` WHERE id = $1`, append([]any{id}, args...)...); err != nil {
				return err
			}
		}
		return nil
	})
}

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }

// Lineage returns every dependency edge.
func (s *Store) Lineage(ctx context.Context) ([]Dependency, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT object_schema, object, object_kind, depends_on_schema, depends_on, depends_on_kind FROM sluice_catalog.dependencies`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Dependency
	for rows.Next() {
		var d Dependency
		var ok, dk string
		if err := rows.Scan(&d.Object.Schema, &d.Object.Name, &ok, &d.DependsOn.Schema, &d.DependsOn.Name, &dk); err != nil {
			return nil, err
		}
		d.ObjectKind, d.DependsOnKind = Kind(ok), Kind(dk)
		out = append(out, d)
	}
	return out, rows.Err()
}
