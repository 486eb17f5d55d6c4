package ddl

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// schedule turns a REFRESH clause into the catalog's schedule (MANUAL when
// absent), validated.
func schedule(p *sql.RefreshPolicy) (catalog.Schedule, error) {
	if p == nil {
		return catalog.Schedule{Kind: catalog.ScheduleManual, Text: "MANUAL"}, nil
	}
	var sc catalog.Schedule
	switch p.Kind {
	case sql.RefreshManual:
		sc = catalog.Schedule{Kind: catalog.ScheduleManual, Text: "MANUAL"}
	case sql.RefreshOnChange:
		sc = catalog.Schedule{Kind: catalog.ScheduleOnChange, Text: "ON CHANGE"}
	case sql.RefreshEvery:
		d, err := sqlplan.ParseInterval(p.Interval)
		if err != nil {
			return sc, pgerr.New(pgerrcode.InvalidParameterValue, "invalid REFRESH EVERY: %v", err)
		}
		sc = catalog.Schedule{Kind: catalog.ScheduleEvery, Interval: d, Text: "EVERY " + sql.QuoteLiteral(p.Interval)}
		if p.AlignedTo != "" {
			t, err := parseTimestamp(p.AlignedTo)
			if err != nil {
				return sc, pgerr.New(pgerrcode.InvalidDatetimeFormat, "invalid ALIGNED TO timestamp %q: use 'YYYY-MM-DD HH:MM:SS[+TZ]'", p.AlignedTo)
			}
			sc.AlignedTo = t
			sc.Text += " ALIGNED TO " + sql.QuoteLiteral(p.AlignedTo)
		}
	case sql.RefreshCron:
		sc = catalog.Schedule{Kind: catalog.ScheduleCron, Cron: p.Cron, TimeZone: p.TimeZone, Text: "CRON " + sql.QuoteLiteral(p.Cron)}
		if p.TimeZone != "" {
			sc.Text += " TIME ZONE " + sql.QuoteLiteral(p.TimeZone)
		}
	}
	return sc, materialize.ValidateSchedule(&sc)
}

func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05Z07", "2006-01-02T15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp")
}

// validateViewOptions checks a materialized view's WITH options, including
// the scheduler's.
func validateViewOptions(raw map[string]string) (map[string]string, error) {
	opts, err := sqlplan.ValidateViewOptions(raw)
	if err != nil {
		return nil, err
	}
	return opts, checkMinInterval(opts)
}

// checkMinInterval checks the ON CHANGE debounce option of a view or
// pipeline.
func checkMinInterval(opts map[string]string) error {
	if v, ok := opts["min_interval"]; ok {
		if _, err := sqlplan.ParseInterval(v); err != nil {
			return pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option \"min_interval\": %v", err)
		}
	}
	return nil
}

// alterObject is ALTER {MATERIALIZED VIEW | PIPELINE} name {SET REFRESH ...
// | SET (...) | SUSPEND | RESUME}.
func (x *Executor) alterObject(ctx context.Context, st *sql.AlterObject) (Result, error) {
	tag := "ALTER " + st.Kind.String()
	ref := resolve(st.Name)
	kind := dropKind(st.Kind)
	if err := x.expectKind(ctx, ref, kind); err != nil {
		return Result{}, err
	}
	// Suspending and resuming are part of refreshing; changing the
	// definition is the owner's.
	if st.Action == sql.AlterSuspend || st.Action == sql.AlterResume {
		if err := x.require(ref, kind, access.Refresh); err != nil {
			return Result{}, err
		}
	} else if err := x.requireOwner(ref, kind); err != nil {
		return Result{}, err
	}
	var current map[string]string
	validate := validateViewOptions
	if kind == catalog.KindPipeline {
		p, err := x.cat.GetPipeline(ctx, ref)
		if err != nil {
			return Result{}, err
		}
		current, validate = p.Options, validatePipelineOptions
	} else {
		v, err := x.cat.GetView(ctx, ref)
		if err != nil {
			return Result{}, err
		}
		current = v.Options
	}
	defer x.sched.Wake()
	switch st.Action {
	case sql.AlterSetRefresh:
		sc, err := schedule(st.Refresh)
		if err != nil {
			return Result{}, err
		}
		return done(tag), x.cat.SetSchedule(ctx, ref, sc, materialize.NextRun(sc, time.Now()))
	case sql.AlterSetOptions:
		opts := map[string]string{}
		for k, val := range current {
			opts[k] = val
		}
		for k, val := range optionMap(st.Options) {
			opts[k] = val
		}
		opts, err := validate(opts)
		if err == nil {
			err = x.checkLocation(ctx, ref, opts)
		}
		if err == nil {
			err = x.checkAlterEncryption(ctx, ref, kind, opts) // encryption.go
		}
		if err != nil {
			return Result{}, err
		}
		return done(tag), x.cat.SetOptions(ctx, ref, opts)
	case sql.AlterSuspend, sql.AlterResume:
		views, err := x.cat.ScheduledViews(ctx)
		if err != nil {
			return Result{}, err
		}
		for _, sv := range views {
			if sv.Ref == ref {
				next := time.Time{}
				if st.Action == sql.AlterResume {
					next = materialize.NextRun(sv.Schedule, time.Now())
				}
				return done(tag), x.cat.SetSuspended(ctx, ref, st.Action == sql.AlterSuspend, next)
			}
		}
	}
	return Result{}, pgerr.Unsupported("ALTER action %v is not supported", st.Action)
}
