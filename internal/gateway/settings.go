package gateway

import (
	"context"
	"errors"
	"slices"
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
// renders in UTC) are kept per session in a map: SET and set_config() store
// them, SHOW, current_setting() and pg_settings read them, RESET restores
// them. statement_timeout and idle_in_transaction_session_timeout take
// effect; the others are accepted and reported as PostgreSQL reports them.
// Any other name is DuckDB's (SET threads, SET memory_limit, ...) and passed
// through; a dotted name (myapp.user_id) is a custom setting, kept like the
// PostgreSQL-only ones. SET LOCAL and set_config(..., true) last until the
// transaction ends.
//
// current_setting() must read the session's values inside any expression,
// including a table function's arguments, where DuckDB refuses subqueries
// (Grafana calls generate_series(array_lower(string_to_array(
// current_setting('search_path'), ','), 1), ...)). So the session's values
// are also in a DuckDB variable of the session's connection, a MAP of
// lower-case names to values that pg_sluice.current_setting reads with
// getvariable() (pgcatalog.go); syncSettings writes it after each change.

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
	"password_encryption":                 "scram-sha-256",
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
	"lc_collate":                          "C",
	"lc_ctype":                            "C",
	"block_size":                          "8192",
}

// readOnlySettings are the settings no session can change.
var readOnlySettings = map[string]bool{
	"server_version": true, "server_version_num": true, "server_encoding": true, "max_identifier_length": true,
	"integer_datetimes": true, "is_superuser": true, "lc_collate": true, "lc_ctype": true, "block_size": true,
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

// settingsVariable is the DuckDB variable holding the session's settings.
const settingsVariable = "sluice_settings"

// The session's map of settings also keeps the bookkeeping of its settings,
// under keys starting with a NUL byte, which no setting's name can hold (the
// wire's strings end at NUL; the parser's names are words):
const (
	// keyStale marks DuckDB's copy of the settings out of date.
	keyStale = "\x00stale"
	// keySynced holds the statement that last wrote DuckDB's copy.
	keySynced = "\x00synced"
	// keyLocal + name holds the session value that SET LOCAL replaced until
	// the transaction ends (valueUnset: the setting had none).
	keyLocal   = "\x00local:"
	valueUnset = "\x00"
)

func isBookkeeping(key string) bool { return strings.HasPrefix(key, "\x00") }

// errStatementTimeout is the cause of a statement context that timed out.
var errStatementTimeout = errors.New("statement timeout")

// initSettings seeds the session's settings from the startup parameters.
// DuckDB's copy is written before the first statement runs (settle).
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
	if isBookkeeping(name) {
		return "", false
	}
	if v, ok := s.settings[name]; ok {
		return v, true
	}
	v, ok := pgSettings[name]
	return v, ok
}

// keeps reports whether the session (not DuckDB) keeps a setting.
func keeps(name string) bool {
	_, pgOnly := pgSettings[name]
	return pgOnly || strings.Contains(name, ".")
}

// check reports whether a PostgreSQL-only or custom setting may take the
// value.
func check(name, value string) error {
	if readOnlySettings[name] {
		return pgerr.New(pgerrcode.CantChangeRuntimeParam, `parameter "%s" cannot be changed`, name)
	}
	if name == "statement_timeout" || name == "idle_in_transaction_session_timeout" {
		_, err := parseDuration(name, value)
		return err
	}
	return nil
}

// store records a PostgreSQL-only or custom setting, applying the ones
// that take effect.
func (s *session) store(name, value string) error {
	if err := check(name, value); err != nil {
		return err
	}
	switch name {
	case "statement_timeout":
		s.statementTimeout, _ = parseDuration(name, value)
	case "idle_in_transaction_session_timeout":
		s.idleTimeout, _ = parseDuration(name, value)
	}
	s.settings[name] = value
	s.settings[keyStale] = ""
	return nil
}

// change makes a setting the session keeps: for the session, or with local
// until the transaction ends (the caller checks that one is open). reset
// restores the default. It returns the new value.
func (s *session) change(name, value string, reset, local bool) (string, error) {
	if reset {
		value = pgSettings[name]
	}
	prev, had := s.settings[name]
	if err := s.store(name, value); err != nil {
		return "", err
	}
	switch _, saved := s.settings[keyLocal+name]; {
	case local && !saved:
		if !had {
			prev = valueUnset
		}
		s.settings[keyLocal+name] = prev
	case !local && saved:
		// A session value set in the transaction outlives it.
		delete(s.settings, keyLocal+name)
	}
	return value, nil
}

// settle brings the settings up to date before a statement: once a
// transaction has ended, the values SET LOCAL replaced return, and DuckDB's
// copy is rewritten if it is out of date.
func (s *session) settle(ctx context.Context) error {
	if s.tx != txIdle {
		return nil
	}
	for k, prev := range s.settings {
		name, ok := strings.CutPrefix(k, keyLocal)
		if !ok {
			continue
		}
		delete(s.settings, k)
		unset := prev == valueUnset
		if unset {
			prev = pgSettings[name] // "" for a custom setting, which stays defined
		}
		if err := s.store(name, prev); err != nil {
			return err
		}
		if _, pgOnly := pgSettings[name]; unset && pgOnly {
			delete(s.settings, name)
		}
	}
	return s.syncSettings(ctx)
}

// syncSettings writes the session's settings to DuckDB's copy, if they
// changed since it was last written. Statements prepared since then read
// the old values (DuckDB reads a variable when it binds a statement), so a
// change moves the session's epoch, which prepares this session's
// statements again (the variable is per connection: other sessions are
// not concerned).
func (s *session) syncSettings(ctx context.Context) error {
	if _, stale := s.settings[keyStale]; !stale {
		return nil
	}
	var names []string
	for k := range s.settings {
		if !isBookkeeping(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	stmt := "RESET VARIABLE " + settingsVariable
	if len(names) > 0 {
		var b strings.Builder
		b.WriteString("SET VARIABLE " + settingsVariable + " = MAP {")
		for i, k := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(sql.QuoteLiteral(k) + ": " + sql.QuoteLiteral(s.settings[k]))
		}
		b.WriteString("}")
		stmt = b.String()
	}
	synced, ok := s.settings[keySynced]
	if stmt == synced || !ok && len(names) == 0 {
		delete(s.settings, keyStale)
		return nil
	}
	if _, err := s.conn.Exec(ctx, stmt); err != nil {
		return err
	}
	s.settings[keySynced] = stmt
	delete(s.settings, keyStale)
	s.epoch++
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
		synced, hasSynced := s.settings[keySynced]
		s.settings = map[string]string{keyStale: ""}
		if hasSynced {
			s.settings[keySynced] = synced
		}
		s.statementTimeout, s.idleTimeout = 0, 0
		return s.done(tag), s.syncSettings(ctx)
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
					s.settings[keyStale] = ""
				}
			}
		}
		return s.done(tag), s.syncSettings(ctx)
	}
	if !keeps(st.Name) {
		return s.passthrough(ctx, st.Text(), nil, nil, w)
	}
	if st.Local && s.tx == txIdle {
		return s.done(tag, warning(pgerrcode.NoActiveSQLTransaction, "SET LOCAL can only be used in transaction blocks")), nil
	}
	value, err := s.change(st.Name, st.Value, st.Reset, st.Local)
	if err != nil {
		return nil, err
	}
	if err := s.syncSettings(ctx); err != nil {
		return nil, err
	}
	if name, ok := reported[st.Name]; ok {
		if err := w.ParameterStatus(name, value); err != nil {
			return nil, err
		}
	}
	return s.done(tag), nil
}

// setConfig makes the settings of a SELECT of set_config() calls, in order.
// A local setting outside a transaction block lasts for the statement only,
// that is, it has no effect.
func (s *session) setConfig(ctx context.Context, st *sql.ShowSetting, w wire.ResultWriter) error {
	for _, c := range st.SetConfig {
		if !keeps(c.Name) {
			stmt := "SET " + sql.QuoteIdent(c.Name) + " = " + sql.QuoteLiteral(c.Value)
			switch {
			case c.Reset:
				stmt = "RESET " + sql.QuoteIdent(c.Name)
			case c.Local:
				stmt = "SET LOCAL " + sql.QuoteIdent(c.Name) + " = " + sql.QuoteLiteral(c.Value)
			}
			if _, err := s.conn.Exec(ctx, stmt); err != nil {
				return err
			}
			continue
		}
		if c.Local && s.tx == txIdle {
			value := c.Value
			if c.Reset {
				value = pgSettings[c.Name]
			}
			if err := check(c.Name, value); err != nil {
				return err
			}
			continue
		}
		value, err := s.change(c.Name, c.Value, c.Reset, c.Local)
		if err != nil {
			return err
		}
		if name, ok := reported[c.Name]; ok {
			if err := w.ParameterStatus(name, value); err != nil {
				return err
			}
		}
	}
	return s.syncSettings(ctx)
}

// showSettingSQL is the query that answers SHOW name, or a SELECT of
// set_config() calls: their new values.
func (s *session) showSettingSQL(st *sql.ShowSetting) string {
	if len(st.SetConfig) > 0 {
		cols := make([]string, len(st.SetConfig))
		for i, c := range st.SetConfig {
			v := sql.QuoteLiteral(c.Value)
			switch {
			case !keeps(c.Name):
				v = "current_setting(" + sql.QuoteLiteral(c.Name) + ")::VARCHAR"
			case c.Reset:
				v = sql.QuoteLiteral(pgSettings[c.Name])
			}
			cols[i] = v + " AS " + sql.QuoteIdent(c.Column)
		}
		return "SELECT " + strings.Join(cols, ", ")
	}
	if v, ok := s.setting(st.Name); ok {
		return "SELECT " + sql.QuoteLiteral(v) + " AS " + sql.QuoteIdent(st.Name)
	}
	switch st.Name {
	case "tables", "databases", "all":
		return st.Text() // DuckDB's SHOW
	}
	return "SELECT current_setting(" + sql.QuoteLiteral(st.Name) + ")::VARCHAR AS " + sql.QuoteIdent(st.Name)
}

// show runs SHOW of a setting, and SELECT of set_config() calls.
func (s *session) show(ctx context.Context, st *sql.ShowSetting, w wire.ResultWriter) (*cursor, error) {
	if len(st.SetConfig) > 0 {
		if err := s.setConfig(ctx, st, w); err != nil {
			return nil, err
		}
		return s.passthrough(ctx, s.showSettingSQL(st), nil, nil, w)
	}
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

// withTimeout starts a statement: it settles the session's settings (a
// failure is logged; the statement then sees their previous values) and
// bounds the statement by statement_timeout.
func (s *session) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if err := s.settle(ctx); err != nil {
		s.g.log.Warn("updating the session's settings", "err", err)
	}
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
