package gateway

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/wire"
)

// Session settings. PostgreSQL's settings that DuckDB lacks (or that must
// not change DuckDB's behaviour, such as TimeZone, whose output pgcodec
// renders in UTC) are kept per session in a map: SET stores them, SHOW and
// RESET read and restore them. statement_timeout and
// idle_in_transaction_session_timeout take effect; the others are accepted
// and reported as PostgreSQL reports them. Any other name is DuckDB's
// (SET threads, SET memory_limit, ...) and passed through; a dotted name
// (myapp.user_id) is a custom setting, kept like the PostgreSQL-only ones.

// pgSettings are the PostgreSQL-only settings and their defaults.
var pgSettings = map[string]string{
	"application_name":                    "",
	"client_encoding":                     "UTF8",
	"server_encoding":                     "UTF8",
	"datestyle":                           "ISO, MDY",
	"intervalstyle":                       "postgres",
	"timezone":                            "UTC",
	"extra_float_digits":                  "1",
	"standard_conforming_strings":         "on",
	"client_min_messages":                 "notice",
	"bytea_output":                        "hex",
	"search_path":                         `"$user", public`,
	"statement_timeout":                   "0",
	"lock_timeout":                        "0",
	"idle_in_transaction_session_timeout": "0",
	"default_transaction_isolation":       "read committed",
	"transaction_isolation":               "read committed",
	"default_transaction_read_only":       "off",
	"transaction_read_only":               "off",
	"synchronous_commit":                  "on",
	"jit":                                 "off",
	"row_security":                        "on",
	"max_identifier_length":               "63",
	"integer_datetimes":                   "on",
	"server_version":                      serverVersion,
	"server_version_num":                  "150000",
	"is_superuser":                        "on",
	"role":                                "none",
	"geqo":                                "on",
	"lc_messages":                         "C",
	"lc_monetary":                         "C",
	"lc_numeric":                          "C",
	"lc_time":                             "C",
}

// serverVersion is what SHOW server_version answers.
const serverVersion = "15.0"

// reported are the settings whose changes a client hears of in a
// ParameterStatus, by PostgreSQL's spelling.
var reported = map[string]string{
	"application_name":            "application_name",
	"client_encoding":             "client_encoding",
	"datestyle":                   "DateStyle",
	"intervalstyle":               "IntervalStyle",
	"timezone":                    "TimeZone",
	"standard_conforming_strings": "standard_conforming_strings",
}

// errStatementTimeout is the cause of a statement context that timed out.
var errStatementTimeout = errors.New("statement timeout")

// initSettings seeds the session's settings from the startup parameters.
func (s *session) initSettings(params map[string]string) {
	s.settings = map[string]string{}
	for k, v := range params {
		k = strings.ToLower(k)
		if _, ok := pgSettings[k]; ok && k != "user" && k != "database" {
			_ = s.store(k, v)
		}
	}
}

// setting returns a PostgreSQL-only or custom setting's value.
func (s *session) setting(name string) (string, bool) {
	if v, ok := s.settings[name]; ok {
		return v, true
	}
	v, ok := pgSettings[name]
	return v, ok
}

// store records a PostgreSQL-only or custom setting, applying the ones
// that take effect.
func (s *session) store(name, value string) error {
	switch name {
	case "statement_timeout", "idle_in_transaction_session_timeout":
		d, err := parseDuration(name, value)
		if err != nil {
			return err
		}
		if name == "statement_timeout" {
			s.statementTimeout = d
		} else {
			s.idleTimeout = d
		}
	case "server_version", "server_version_num", "server_encoding", "max_identifier_length", "integer_datetimes", "is_superuser":
		return pgerr.New(pgerrcode.CantChangeRuntimeParam, `parameter "%s" cannot be changed`, name)
	}
	s.settings[name] = value
	return nil
}

// parseDuration reads a timeout in PostgreSQL's form: milliseconds, or a
// number with a unit (us, ms, s, min, h, d).
func parseDuration(name, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, "ms"
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	units := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := units[unit]
	if err != nil || !ok || f < 0 {
		return 0, pgerr.InvalidParameter(`invalid value for parameter "%s": "%s"`, name, v)
	}
	return time.Duration(f * float64(u)), nil
}

// set runs SET and RESET.
func (s *session) set(ctx context.Context, st *sql.Set, w wire.ResultWriter) (*cursor, error) {
	tag := "SET"
	if len(sql.LeadingKeywords(st.Text(), 1)) > 0 && sql.LeadingKeywords(st.Text(), 1)[0] == "RESET" {
		tag = "RESET"
	}
	switch {
	case st.All:
		s.settings = map[string]string{}
		s.statementTimeout, s.idleTimeout = 0, 0
		return s.done(tag), nil
	case st.Name == "transaction", st.Name == "session characteristics":
		// Isolation levels are accepted and reported: DuckDB runs every
		// transaction with snapshot isolation.
		key := "transaction_isolation"
		if st.Name == "session characteristics" {
			key = "default_transaction_isolation"
		}
		up := strings.ToUpper(st.Value)
		if i := strings.Index(up, "ISOLATION LEVEL "); i >= 0 {
			level := strings.ToLower(strings.Join(strings.Fields(st.Value[i+len("ISOLATION LEVEL "):]), " "))
			for _, l := range []string{"serializable", "repeatable read", "read committed", "read uncommitted"} {
				if strings.HasPrefix(level, l) {
					s.settings[key] = l
				}
			}
		}
		return s.done(tag), nil
	}
	_, pgOnly := pgSettings[st.Name]
	if !pgOnly && !strings.Contains(st.Name, ".") {
		return s.passthrough(ctx, st.Text(), nil, nil, w)
	}
	value := st.Value
	if st.Reset {
		value = pgSettings[st.Name]
	}
	if err := s.store(st.Name, value); err != nil {
		return nil, err
	}
	if name, ok := reported[st.Name]; ok {
		if err := w.ParameterStatus(name, value); err != nil {
			return nil, err
		}
	}
	return s.done(tag), nil
}

// showSettingSQL is the query that answers SHOW name.
func (s *session) showSettingSQL(st *sql.ShowSetting) string {
	if v, ok := s.setting(st.Name); ok {
		return "SELECT " + sql.QuoteLiteral(v) + " AS " + sql.QuoteIdent(st.Name)
	}
	switch st.Name {
	case "tables", "databases", "all":
		return st.Text() // DuckDB's SHOW
	}
	return "SELECT current_setting(" + sql.QuoteLiteral(st.Name) + ")::VARCHAR AS " + sql.QuoteIdent(st.Name)
}

// show runs SHOW of a setting.
func (s *session) show(ctx context.Context, st *sql.ShowSetting, w wire.ResultWriter) (*cursor, error) {
	c, err := s.passthrough(ctx, s.showSettingSQL(st), nil, nil, w)
	if err != nil {
		return nil, err
	}
	if c.rows != nil {
		c.tagFor = func(int64) string { return "SHOW" }
	}
	return c, nil
}

// IdleInTransactionTimeout implements wire.IdleSession.
func (s *session) IdleInTransactionTimeout() time.Duration { return s.idleTimeout }

// withTimeout bounds a statement by statement_timeout.
func (s *session) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.statementTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, s.statementTimeout, errStatementTimeout)
}

// timedOut reports a statement that statement_timeout interrupted as
// PostgreSQL does.
func timedOut(ctx context.Context, err error) error {
	if err != nil && context.Cause(ctx) == errStatementTimeout {
		return pgerr.New(pgerrcode.QueryCanceled, "canceling statement due to statement timeout")
	}
	return err
}
