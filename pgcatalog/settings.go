package pgcatalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-db/sluice/internal/settings"
	"github.com/sluice-db/sluice/sql"
)

// settingsDDL defines current_setting() and pg_settings over the session's
// settings (package internal/settings): the DuckDB variable holding the
// values the session changed, then PostgreSQL's defaults, then DuckDB's own
// settings. They are expressions without subqueries, so that they work in a
// table function's arguments too. pg_sluice.engine_settings() lists
// DuckDB's settings (see Install).
func settingsDDL() []string {
	names := make([]string, 0, len(settings.Defaults))
	for n := range settings.Defaults {
		names = append(names, n)
	}
	slices.Sort(names)
	var defaults, rows strings.Builder
	for i, n := range names {
		if i > 0 {
			defaults.WriteString(", ")
			rows.WriteString(", ")
		}
		display := n
		if r, ok := settings.Reported[n]; ok {
			display = r
		}
		fmt.Fprintf(&defaults, "%s: %s", sql.QuoteLiteral(n), sql.QuoteLiteral(settings.Defaults[n]))
		fmt.Fprintf(&rows, "(%s, %s)", sql.QuoteLiteral(display), sql.QuoteLiteral(settings.Defaults[n]))
	}
	session := "getvariable(" + sql.QuoteLiteral(settings.Variable) + ")"
	return []string{
		// The value the session keeps for n, or NULL.
		`CREATE OR REPLACE MACRO pg_sluice.session_setting(n) AS
			coalesce(` + session + `[lower(n)], (MAP {` + defaults.String() + `})[lower(n)])`,
		// DuckDB's current_setting() needs a constant name it knows, even
		// in a CASE branch not taken (names the session keeps become
		// 'threads' there); it raises PostgreSQL's 42704 for a name nobody
		// knows. When DuckDB checks the macro at its creation, n has no
		// type and current_setting() refuses it; getvariable(n), bound
		// first, has DuckDB postpone the check to the calls instead (and is
		// false AND ..., never used).
		`CREATE OR REPLACE MACRO pg_sluice.setting_value(n, missing_ok) AS CASE
			WHEN getvariable(n) IS NOT NULL AND false THEN NULL
			WHEN pg_sluice.session_setting(n) IS NOT NULL THEN pg_sluice.session_setting(n)
			WHEN coalesce(missing_ok, false) AND NOT list_contains(pg_sluice.engine_settings(), lower(n)) THEN NULL
			ELSE system.main.current_setting(CASE
				WHEN pg_sluice.session_setting(n) IS NOT NULL
					OR coalesce(missing_ok, false) AND NOT list_contains(pg_sluice.engine_settings(), lower(n)) THEN 'threads'
				ELSE n END)::VARCHAR END`,
		`CREATE OR REPLACE MACRO pg_sluice.current_setting(n) AS pg_sluice.setting_value(n, false),
			(n, missing_ok) AS pg_sluice.setting_value(n, missing_ok)`,
		// current_setting() of a computed name (a column, a parameter; see
		// computedNameFuncs): DuckDB's settings are looked up; a name
		// nobody knows is NULL.
		`CREATE OR REPLACE MACRO pg_sluice.setting_of(n) AS coalesce(pg_sluice.session_setting(n),
			pg_sluice.lookup((SELECT {'k': list(lower(name)), 'v': list(value)} FROM duckdb_settings()), lower(n)))`,
		`CREATE OR REPLACE MACRO pg_sluice.current_setting_of(n) AS pg_sluice.setting_of(n),
			(n, missing_ok) AS pg_sluice.setting_of(n)`,
		`CREATE OR REPLACE VIEW pg_sluice.pg_settings AS
		WITH kept AS (
			SELECT name, setting, coalesce(` + session + `[lower(name)], setting) AS current
			FROM (VALUES ` + rows.String() + `) v(name, setting)
			UNION ALL
			SELECT k, '', v FROM (SELECT unnest(map_keys(` + session + `)) AS k, unnest(map_values(` + session + `)) AS v)
			WHERE (MAP {` + defaults.String() + `})[k] IS NULL)
		SELECT name, current AS setting, NULL::VARCHAR AS unit, 'Preset Options' AS category, name AS short_desc,
			NULL::VARCHAR AS extra_desc, 'user' AS context, 'string' AS vartype,
			CASE WHEN ` + session + `[lower(name)] IS NULL THEN 'default' ELSE 'session' END AS source,
			NULL::VARCHAR AS min_val, NULL::VARCHAR AS max_val, NULL::VARCHAR[] AS enumvals,
			setting AS boot_val, setting AS reset_val, NULL::VARCHAR AS sourcefile, NULL::INTEGER AS sourceline,
			false AS pending_restart
		FROM kept
		UNION ALL
		SELECT name, value, NULL, 'DuckDB', description, NULL, 'user', lower(input_type), 'default',
			NULL, NULL, NULL, value, value, NULL, NULL, false
		FROM duckdb_settings()
		WHERE (MAP {` + defaults.String() + `})[lower(name)] IS NULL`,
	}
}
