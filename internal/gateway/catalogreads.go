package gateway

import (
	"context"
	"regexp"
	"strings"

	"sync"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/pgcatalog"
	"github.com/sluice-db/sluice/sql"
)

// Catalog reads: the queries whose answers the session may keep (answers.go)
// although DuckDB computes them from tables, because the tables are the
// catalog's. psql, drivers and BI tools send the same introspection
// queries again and again (on each connect, each schema sync, each
// refresh of a navigator tree); each costs DuckDB a bind and plan of the
// emulated pg_catalog's views over its catalog functions, milliseconds
// where PostgreSQL spends tens of microseconds.
//
// A query is a catalog read when DuckDB's parse of it (json_serialize_sql,
// as authorization reads it) names no table function, and only
//   - relations that pgcatalog.StableRelation says depend on nothing but
//     the catalog and the session's state, with no relation of the
//     session's temporary schema or of public (where unqualified names
//     resolve first) taking one of their names;
//   - functions that are stable overlays (pgcatalog.StableFunction) or
//     DuckDB built-ins every overload of which is CONSISTENT (no time, no
//     randomness, no sequences), with no user macro of that name.
//
// Its answer is then a function of the catalog and the session's state,
// which answerKey captures: the catalog's generation (definitions, roles,
// privileges) and change count (every catalog transaction: versions, runs),
// the gateway's count of writes (DuckDB's per-table counts move with every
// INSERT, UPDATE, DELETE or COPY FROM, from any session), and the session's
// epoch (SET, DDL in its own transaction block, temporary objects). The key
// is read before DuckDB runs the query, so a change that lands while it
// runs leaves the kept answer stale by key, never by content.

// maxCatalogText bounds the text of a catalog read the session judges.
const maxCatalogText = 16 << 10

// catalogWords is the lexical pre-check: only a text that names the
// catalog or one of the session functions drivers call is judged (a judge
// costs a parse in DuckDB), so users' own queries pay nothing.
var catalogWords = regexp.MustCompile(`(?i)\b(pg_[a-z_]+|information_schema|version|current_schema|current_schemas|current_database|current_user|session_user|current_role|current_setting)\b`)

// unstableWords are names whose value moves with time, randomness or
// sequences, whatever the parse says of them (DuckDB turns some into
// constants or special nodes).
var unstableWords = regexp.MustCompile(`(?i)\b(now|current_date|current_time|current_timestamp|localtime|localtimestamp|transaction_timestamp|statement_timestamp|clock_timestamp|timeofday|get_current_time|get_current_timestamp|random|setseed|gen_random_uuid|uuid|uuidv4|uuidv7|nextval|currval|txid_current|pg_backend_pid|pg_postmaster_start_time|pg_conf_load_time|pg_stat_activity|pg_locks|pg_prepared_statements)\b`)

// pureTableFunctions are DuckDB's table functions whose rows are a function
// of their arguments only (catalog queries unnest arrays of the catalog).
var pureTableFunctions = map[string]bool{"generate_series": true, "range": true, "unnest": true, "generate_subscripts": true}

// sessionFunctions are DuckDB's built-ins that read the session's state
// (its role, search path, settings, database) and nothing else: stable
// while the session's epoch holds (SET and SET ROLE move it).
var sessionFunctions = map[string]bool{"current_schema": true, "current_schemas": true, "current_database": true,
	"current_catalog": true, "current_user": true, "session_user": true, "current_role": true, "user": true,
	"current_setting": true, "version": true}

// catalogVerdict is a judgement of a text, valid in the state it was made in.
type catalogVerdict struct {
	gen planGen
	ok  bool
}

// catalogRead reports whether text, a query the session is about to pass
// to DuckDB (its pg_catalog names resolved: pgcatalog.Resolve), is a
// catalog read. Verdicts are kept per text and state.
func (s *session) catalogRead(ctx context.Context, text string) bool {
	if len(text) > maxCatalogText || s.txRebinds {
		// s.txRebinds: DDL in the open transaction block, whose objects
		// are the session's until COMMIT; nothing is judged (or kept)
		// meanwhile.
		return false
	}
	switch kw := sql.LeadingKeywords(text, 1); {
	case len(kw) == 0:
		return false
	case kw[0] != "SELECT" && kw[0] != "WITH" && kw[0] != "TABLE" && kw[0] != "VALUES" && kw[0] != "FROM":
		return false
	}
	// A verdict kept (either way) before the lexical checks: a query the
	// session repeats pays a map lookup, not two scans of its text.
	gen := s.planGen()
	if v, ok := s.catalogVerdicts[text]; ok && v.gen == gen {
		return v.ok
	}
	ok := false
	if catalogWords.MatchString(text) && !unstableWords.MatchString(text) {
		shares := s.shares()
		if shares && s.g.sharedVerdicts.has(text, gen.catalog) {
			return true
		}
		if ok = s.judgeCatalogRead(ctx, text); ok && shares {
			s.g.sharedVerdicts.put(text, gen.catalog)
		}
	}
	if s.catalogVerdicts == nil || len(s.catalogVerdicts) >= maxAnswers {
		s.catalogVerdicts = make(map[string]catalogVerdict)
	}
	s.catalogVerdicts[text] = catalogVerdict{gen: gen, ok: ok}
	return ok
}

// judgedCatalogRead reports whether text was judged a catalog read in the
// current state, by the session or, while it shares, by a session started
// alike, without judging it.
func (s *session) judgedCatalogRead(text string) bool {
	if v, ok := s.catalogVerdicts[text]; ok && v.gen == s.planGen() {
		return v.ok
	}
	return s.shares() && s.g.sharedVerdicts.has(text, s.g.cat.Generation())
}

// sharedVerdicts (a genSet: gateway.go) are the texts judged catalog reads
// by sessions that share (answers.go), with the catalog generation of each
// judgement: for them a verdict depends on the text and the catalog only
// (no temporary objects, no DDL of their own). Only catalog reads are
// recorded.

func (s *session) judgeCatalogRead(ctx context.Context, text string) bool {
	a, err := s.g.analyze(ctx, text) // as DuckDB runs it: resolved
	if err != nil || a.ListsCatalog || len(a.Tables) == 0 && len(a.Functions) == 0 {
		return false
	}
	var unqualified []string
	for _, f := range a.TableFunctions {
		if f.Catalog != "" && f.Catalog != "system" || !pgcatalog.StableFunction(f.Schema, f.Name) && (f.Schema != "" || !pureTableFunctions[strings.ToLower(f.Name)]) {
			return false
		}
		if f.Schema == "" {
			unqualified = append(unqualified, f.Name)
		}
	}
	for _, t := range a.Tables {
		if t.Catalog != "" && t.Catalog != "system" || !pgcatalog.StableRelation(t.Schema, t.Name) {
			return false
		}
		if t.Schema == "" {
			unqualified = append(unqualified, t.Name)
		}
	}
	for _, f := range a.Functions {
		if f.Catalog != "" && f.Catalog != "system" {
			return false
		}
		// A built-in, unqualified or in main (as the dialect writes some:
		// main.trim), unless a macro of the warehouse's takes its name.
		builtin := f.Schema == "" || f.Schema == "main"
		if !pgcatalog.StableFunction(f.Schema, f.Name) && (!builtin || !s.g.consistentBuiltins[strings.ToLower(f.Name)] && !sessionFunctions[strings.ToLower(f.Name)]) {
			return false
		}
		if builtin {
			unqualified = append(unqualified, f.Name)
		}
	}
	shadowed, err := s.shadowed(ctx, unqualified)
	return err == nil && !shadowed
}

// shadowed reports whether a relation or macro of the session's temporary
// schema or of the warehouse's public or main schema takes one of names:
// an unqualified name would resolve to it, not to the catalog's.
func (s *session) shadowed(ctx context.Context, names []string) (bool, error) {
	if len(names) == 0 {
		return false, nil
	}
	user, err := s.g.userNames.get(ctx, s.g)
	if err != nil {
		return false, err
	}
	var temps map[string]access.Temp
	if s.created {
		if temps, err = s.temps(ctx); err != nil {
			return false, err
		}
	}
	for _, n := range names {
		n = strings.ToLower(n)
		if _, ok := temps[n]; ok || user[n] {
			return true, nil
		}
	}
	return false, nil
}

// userNames are the names of the relations and macros of the warehouse's
// public and main schemas as committed, read once per catalog generation
// (DDL passed through to DuckDB moves it after its commit).
type userNames struct {
	mu    sync.Mutex
	gen   uint64
	names map[string]bool
}

func (u *userNames) get(ctx context.Context, g *Gateway) (map[string]bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	gen := g.cat.Generation() // before the read: a later change moves it
	if u.names != nil && u.gen == gen {
		return u.names, nil
	}
	names, err := nameSet(ctx, g.db, `SELECT DISTINCT lower(n) FROM (
		SELECT table_name AS n FROM duckdb_tables() WHERE database_name = 'warehouse' AND schema_name IN ('public', 'main')
		UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND database_name = 'warehouse' AND schema_name IN ('public', 'main')
		UNION ALL SELECT sequence_name FROM duckdb_sequences() WHERE database_name = 'warehouse' AND schema_name IN ('public', 'main')
		UNION ALL SELECT function_name FROM duckdb_functions() WHERE database_name = 'warehouse' AND schema_name IN ('public', 'main'))`)
	if err != nil {
		return nil, err
	}
	u.gen, u.names = gen, names
	return names, nil
}

// consistentBuiltinNames returns DuckDB's built-in functions every overload
// of which is CONSISTENT (the same arguments give the same answer, in any
// query, at any time), and its built-in macros (which DuckDB gives no
// stability) whose definitions call no function that is not.
func consistentBuiltinNames(ctx context.Context, db *engine.DB) (map[string]bool, error) {
	return nameSet(ctx, db, `WITH f AS (SELECT lower(function_name) AS name, function_type AS kind, stability, macro_definition
			FROM duckdb_functions() WHERE database_name = 'system'),
		unstable AS (SELECT DISTINCT name FROM f WHERE kind NOT IN ('macro', 'table_macro') AND stability IS DISTINCT FROM 'CONSISTENT')
		SELECT name FROM f GROUP BY name HAVING bool_and(kind NOT IN ('macro', 'table_macro') AND stability = 'CONSISTENT'
			OR kind = 'macro' AND NOT EXISTS (SELECT 1 FROM unstable u
				WHERE regexp_matches(lower(coalesce(macro_definition, '')), '\b' || regexp_escape(u.name) || '\b')))`)
}
