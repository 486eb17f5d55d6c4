package sqlplan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// DefaultRetryBackoff is the first retry's delay when retry_backoff is not set.
const DefaultRetryBackoff = time.Second

// RetryPolicy is how a refresh retries failed attempts and bounds each one.
type RetryPolicy struct {
	Retries int           // attempts after the first; 0 = no retry
	Backoff time.Duration // delay before the first retry, doubled for each next one
	Timeout time.Duration // bound of each attempt; 0 = none
}

// validateRetryOptions checks and normalises retries, retry_backoff and
// timeout in validated view options (22023 on a bad value).
func validateRetryOptions(opts map[string]string) error {
	if s, ok := opts["retries"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > 100 {
			return pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option \"retries\": %q is not an integer between 0 and 100", s)
		}
		opts["retries"] = strconv.Itoa(n)
	}
	for _, key := range []string{"retry_backoff", "timeout"} {
		s, ok := opts[key]
		if !ok {
			continue
		}
		d, err := ParseInterval(s)
		if err != nil {
			return pgerr.New(pgerrcode.InvalidParameterValue, "invalid value for option %q: %v", key, err)
		}
		opts[key] = d.String()
	}
	return nil
}

// Retry reads the retry policy from validated options.
func Retry(opts map[string]string) RetryPolicy {
	p := RetryPolicy{Backoff: DefaultRetryBackoff}
	if n, err := strconv.Atoi(opts["retries"]); err == nil && n > 0 {
		p.Retries = n
	}
	if d, err := ParseInterval(opts["retry_backoff"]); err == nil {
		p.Backoff = d
	}
	if d, err := ParseInterval(opts["timeout"]); err == nil {
		p.Timeout = d
	}
	return p
}

// Backoff is the delay before attempt+1 after attempt (1-based) failed:
// base * 2^(attempt-1) scaled by a jitter factor in [0.5, 1.5) drawn from
// rnd, a number in [0, 1). It is capped at one hour.
func Backoff(base time.Duration, attempt int, rnd float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return time.Duration(float64(d) * (0.5 + rnd))
}

var intervalUnits = map[string]time.Duration{
	"ms": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParseInterval reads a positive interval as users write them: '5s',
// '500ms', '2m30s', '1 minute', '1 hour 30 minutes', '90 seconds'.
func ParseInterval(s string) (time.Duration, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	if t == "" {
		return 0, fmt.Errorf("empty interval")
	}
	if d, err := time.ParseDuration(t); err == nil {
		if d <= 0 {
			return 0, fmt.Errorf("%q is not a positive interval", s)
		}
		return d, nil
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
		u, ok := intervalUnits[unit]
		if err != nil || !ok || f < 0 {
			return 0, fmt.Errorf("%q is not an interval (e.g. '5s', '500ms', '2m30s', '1 minute')", s)
		}
		total += time.Duration(f * float64(u))
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q is not a positive interval", s)
	}
	return total, nil
}
