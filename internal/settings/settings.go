// Package settings keeps PostgreSQL's session settings as Sluice serves
// them: the table of the settings DuckDB lacks (or that must not change
// DuckDB's behaviour, such as TimeZone, whose output pgcodec renders in UTC)
// with their defaults, and one session's values of them.
//
// SET and set_config() store a session's values, SHOW, current_setting()
// and pg_settings read them, RESET restores them. statement_timeout,
// idle_in_transaction_session_timeout and idle_session_timeout take effect; the others are accepted
// and reported as PostgreSQL reports them. Any other name is DuckDB's and
// not kept here; a dotted name (myapp.user_id) is a custom setting, kept
// like the PostgreSQL-only ones. SET LOCAL and set_config(..., true) last
// until the transaction ends.
//
// current_setting() must read the session's values inside any expression,
// including a table function's arguments, where DuckDB refuses subqueries
// (Grafana calls generate_series(array_lower(string_to_array(
// current_setting('search_path'), ','), 1), ...)). So the session's values
// are also in a DuckDB variable of the session's connection (Variable), a
// MAP of lower-case names to values that pg_catalog's current_setting reads
// with getvariable() (package pgcatalog); Values.Pending gives the
// statement that writes it after each change.
package settings

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
)

// Defaults are the PostgreSQL-only settings and their defaults.
var Defaults = map[string]string{
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
	"idle_session_timeout":                "0",
	"default_transaction_isolation":       "read committed",
	"transaction_isolation":               "read committed",
	"default_transaction_read_only":       "off",
	"transaction_read_only":               "off",
	"synchronous_commit":                  "on",
	"jit":                                 "off",
	"row_security":                        "on",
	"max_identifier_length":               "63",
	"integer_datetimes":                   "on",
	"server_version":                      ServerVersion,
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

// readOnly are the settings no session can change.
var readOnly = map[string]bool{
	"server_version": true, "server_version_num": true, "server_encoding": true, "max_identifier_length": true,
	"integer_datetimes": true, "is_superuser": true, "lc_collate": true, "lc_ctype": true, "block_size": true,
}

// ServerVersion is what SHOW server_version answers.
const ServerVersion = "15.0"

// Reported are the settings whose changes a client hears of in a
// ParameterStatus, by PostgreSQL's spelling.
var Reported = map[string]string{
	"application_name":            "application_name",
	"client_encoding":             "client_encoding",
	"datestyle":                   "DateStyle",
	"intervalstyle":               "IntervalStyle",
	"timezone":                    "TimeZone",
	"standard_conforming_strings": "standard_conforming_strings",
}

// Variable is the DuckDB variable holding a session's settings (see the
// package comment).
const Variable = "sluice_settings"

// A session's map of settings also keeps the bookkeeping of its settings,
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

// Keeps reports whether the session (not DuckDB) keeps a setting.
func Keeps(name string) bool {
	_, pgOnly := Defaults[name]
	return pgOnly || strings.Contains(name, ".")
}

// Check reports whether a PostgreSQL-only or custom setting may take the
// value.
func Check(name, value string) error {
	if readOnly[name] {
		return pgerr.New(pgerrcode.CantChangeRuntimeParam, `parameter "%s" cannot be changed`, name)
	}
	if timeouts[name] {
		_, err := ParseDuration(name, value)
		return err
	}
	return nil
}

// timeouts are the settings that take effect as durations.
var timeouts = map[string]bool{
	"statement_timeout": true, "idle_in_transaction_session_timeout": true, "idle_session_timeout": true,
}

// ParseDuration reads a timeout in PostgreSQL's form: milliseconds, or a
// number with a unit (us, ms, s, min, h, d).
func ParseDuration(name, v string) (time.Duration, error) {
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

// Values are one session's PostgreSQL-only and custom settings, and the
// timeouts among them that take effect.
type Values struct {
	m                  map[string]string
	defaults           map[string]string // the server's defaults that replace Defaults'
	statementTimeout   time.Duration
	idleTimeout        time.Duration
	idleSessionTimeout time.Duration
}

// New returns a session's settings seeded from its startup parameters.
// DuckDB's copy is written before the first statement runs (Pending).
func New(params map[string]string) *Values { return NewWithDefaults(params, nil) }

// NewWithDefaults is New for a server whose configuration replaces some
// of the Defaults (a PostgreSQL-only setting each, checked with Check), as
// postgresql.conf does: the session starts with them and RESET returns to
// them.
func NewWithDefaults(params, defaults map[string]string) *Values {
	v := &Values{m: map[string]string{}, defaults: defaults}
	v.storeDefaults()
	for k, val := range params {
		k = strings.ToLower(k)
		if _, ok := Defaults[k]; ok && k != "user" && k != "database" {
			_ = v.Store(k, val)
		}
	}
	return v
}

// StatementTimeout is statement_timeout (0: none).
func (v *Values) StatementTimeout() time.Duration { return v.statementTimeout }

// IdleTimeout is idle_in_transaction_session_timeout (0: none).
func (v *Values) IdleTimeout() time.Duration { return v.idleTimeout }

// IdleSessionTimeout is idle_session_timeout (0: none).
func (v *Values) IdleSessionTimeout() time.Duration { return v.idleSessionTimeout }

// Default is the value RESET gives a setting: the server's default, else
// the one in Defaults.
func (v *Values) Default(name string) string {
	if d, ok := v.defaults[name]; ok {
		return d
	}
	return Defaults[name]
}

// storeDefaults stores the server's defaults as the session's values.
func (v *Values) storeDefaults() {
	for k, val := range v.defaults {
		_ = v.Store(k, val) // checked by the configuration
	}
}

// Get returns a PostgreSQL-only or custom setting's value.
func (v *Values) Get(name string) (string, bool) {
	if isBookkeeping(name) {
		return "", false
	}
	if val, ok := v.m[name]; ok {
		return val, true
	}
	val, ok := Defaults[name]
	return val, ok
}

// Store records a PostgreSQL-only or custom setting, applying the ones
// that take effect.
func (v *Values) Store(name, value string) error {
	if err := Check(name, value); err != nil {
		return err
	}
	switch name {
	case "statement_timeout":
		v.statementTimeout, _ = ParseDuration(name, value)
	case "idle_in_transaction_session_timeout":
		v.idleTimeout, _ = ParseDuration(name, value)
	case "idle_session_timeout":
		v.idleSessionTimeout, _ = ParseDuration(name, value)
	}
	v.m[name] = value
	v.m[keyStale] = ""
	return nil
}

// Change makes a setting the session keeps: for the session, or with local
// until the transaction ends (the caller checks that one is open). reset
// restores the default. It returns the new value.
func (v *Values) Change(name, value string, reset, local bool) (string, error) {
	if reset {
		value = v.Default(name)
	}
	prev, had := v.m[name]
	if err := v.Store(name, value); err != nil {
		return "", err
	}
	switch _, saved := v.m[keyLocal+name]; {
	case local && !saved:
		if !had {
			prev = valueUnset
		}
		v.m[keyLocal+name] = prev
	case !local && saved:
		// A session value set in the transaction outlives it.
		delete(v.m, keyLocal+name)
	}
	return value, nil
}

// SetIsolation records an isolation level (key is transaction_isolation
// or default_transaction_isolation).
func (v *Values) SetIsolation(key, level string) {
	v.m[key] = level
	v.m[keyStale] = ""
}

// ResetAll is RESET ALL: every setting returns to its default.
func (v *Values) ResetAll() {
	synced, hasSynced := v.m[keySynced]
	v.m = map[string]string{keyStale: ""}
	if hasSynced {
		v.m[keySynced] = synced
	}
	v.statementTimeout, v.idleTimeout, v.idleSessionTimeout = 0, 0, 0
	v.storeDefaults()
}

// EndTransaction restores the values SET LOCAL replaced, once the
// transaction they were set in has ended.
func (v *Values) EndTransaction() error {
	for k, prev := range v.m {
		name, ok := strings.CutPrefix(k, keyLocal)
		if !ok {
			continue
		}
		delete(v.m, k)
		unset := prev == valueUnset
		if unset {
			prev = v.Default(name) // "" for a custom setting, which stays defined
		}
		if err := v.Store(name, prev); err != nil {
			return err
		}
		if _, pgOnly := Defaults[name]; unset && pgOnly && v.defaults[name] == "" {
			delete(v.m, name)
		}
	}
	return nil
}

// Pending returns the statement that brings DuckDB's copy of the settings
// (Variable) up to date, and whether it must run: false when they have not
// changed since it was last written. After running it, call Synced.
// Statements prepared before that read the old values (DuckDB reads a
// variable when it binds a statement), so the caller prepares the
// session's statements again.
func (v *Values) Pending() (string, bool) {
	if _, stale := v.m[keyStale]; !stale {
		return "", false
	}
	var names []string
	for k := range v.m {
		if !isBookkeeping(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	stmt := "RESET VARIABLE " + Variable
	if len(names) > 0 {
		var b strings.Builder
		b.WriteString("SET VARIABLE " + Variable + " = MAP {")
		for i, k := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(sql.QuoteLiteral(k) + ": " + sql.QuoteLiteral(v.m[k]))
		}
		b.WriteString("}")
		stmt = b.String()
	}
	synced, ok := v.m[keySynced]
	if stmt == synced || !ok && len(names) == 0 {
		delete(v.m, keyStale)
		return "", false
	}
	return stmt, true
}

// Synced records that stmt (from Pending) ran.
func (v *Values) Synced(stmt string) {
	v.m[keySynced] = stmt
	delete(v.m, keyStale)
}
