package materialize

import (
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/robfig/cron/v3"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ValidateSchedule checks a schedule and fills in what it derives (the
// interval); a bad one is a 22023 error.
func ValidateSchedule(sc *catalog.Schedule) error {
	switch sc.Kind {
	case catalog.ScheduleEvery:
		if sc.Interval < time.Second {
			return pgerr.New(pgerrcode.InvalidParameterValue, "REFRESH EVERY needs an interval of at least 1 second")
		}
	case catalog.ScheduleCron:
		if _, err := cronSchedule(*sc); err != nil {
			return pgerr.New(pgerrcode.InvalidParameterValue, "invalid REFRESH CRON: %v", err)
		}
	}
	return nil
}

func cronSchedule(sc catalog.Schedule) (cron.Schedule, error) {
	loc := time.UTC
	if sc.TimeZone != "" {
		l, err := time.LoadLocation(sc.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("unknown time zone %q", sc.TimeZone)
		}
		loc = l
	}
	spec, err := cronParser.Parse(sc.Cron)
	if err != nil {
		return nil, err
	}
	if s, ok := spec.(*cron.SpecSchedule); ok {
		s.Location = loc
	}
	return spec, nil
}

// NextRun is the first tick of sc strictly after t, or the zero time for
// schedules without ticks (MANUAL, ON CHANGE).
func NextRun(sc catalog.Schedule, t time.Time) time.Time {
	switch sc.Kind {
	case catalog.ScheduleEvery:
		anchor := sc.AlignedTo
		if anchor.IsZero() {
			anchor = time.Unix(0, 0)
		}
		if t.Before(anchor) {
			return anchor
		}
		n := t.Sub(anchor)/sc.Interval + 1
		return anchor.Add(n * sc.Interval)
	case catalog.ScheduleCron:
		spec, err := cronSchedule(sc)
		if err != nil {
			return time.Time{}
		}
		return spec.Next(t).UTC()
	}
	return time.Time{}
}
