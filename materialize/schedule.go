package materialize

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgerrcode"
	"github.com/robfig/cron/v3"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// ParseDuration reads an interval as users write them: '5s', '90 seconds',
// '1 minute', '2m30s', '1 hour 30 minutes', '1 day', '500ms'.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	if d, err := time.ParseDuration(t); err == nil {
		if d <= 0 {
			return 0, fmt.Errorf("%q is not a positive interval", s)
		}
		return d, nil
	}
	units := map[string]time.Duration{
		"ms": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
		"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
		"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
		"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
		"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
	}
	fields := strings.FieldsFunc(t, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
	var total time.Duration
	for i := 0; i < len(fields); i++ {
		num, unit := fields[i], ""
		if j := strings.IndexFunc(num, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' }); j > 0 {
			num, unit = num[:j], num[j:]
		} else if i+1 < len(fields) {
			unit = fields[i+1]
			i++
		}
		f, err := strconv.ParseFloat(num, 64)
		u, ok := units[unit]
		if err != nil || !ok || f < 0 {
			return 0, fmt.Errorf("%q is not an interval (e.g. '30s', '5 minutes', '1 hour')", s)
		}
		total += time.Duration(f * float64(u))
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q is not a positive interval", s)
	}
	return total, nil
}

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
