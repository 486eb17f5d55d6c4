package gateway

import (
	"context"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/ddl"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/settings"
	"github.com/sluice-db/sluice/pgcatalog"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
)

// Every statement is checked against the session role's privileges and the
// file sandbox before DuckDB sees it (preparing binds, and binding a file
// function reads the file): here for SQL passed through to DuckDB, COPY and
// settings; in ddl and access for Sluice's own statements, which get the
// session's actor. A prepared statement or kept plan is checked again at
// each run with the analysis it kept, so a REVOKE takes effect at once.

// searchPath is where the session's unqualified names resolve: the schemas
// of sessionInit's search_path. Roles that are not superusers cannot
// change DuckDB's (USE, SET schema are refused to them).
var searchPath = []string{"public", "pg_sluice"}

// checker returns a checker over the current privileges, having brought
// the session's DuckDB variables up to date with them (the system tables'
// row filters read them).
func (s *session) checker(ctx context.Context) (*access.Checker, error) {
	c, err := s.g.access.Checker(ctx)
	if err != nil {
		return nil, err
	}
	if gen := c.Snapshot().Generation(); !s.varsSynced || s.varsGen != gen {
		if _, err := s.conn.Exec(ctx, c.Snapshot().SessionVariables(s.user)); err != nil {
			return nil, err
		}
		s.varsGen, s.varsSynced = gen, true
		s.epoch++ // plans bound the variables' old values
	}
	return c, nil
}

// actor is the session as ddl and access see it.
func (s *session) actor(ctx context.Context) (ddl.Actor, error) {
	c, err := s.checker(ctx)
	if err != nil {
		return ddl.Actor{}, err
	}
	return ddl.Actor{Role: s.user, Check: c, Scope: s.scope()}, nil
}

// scope is how the session's names resolve.
func (s *session) scope() access.Scope {
	return access.Scope{SearchPath: searchPath, Temps: s.temps}
}

// temps returns the session's temporary objects, read from its DuckDB
// connection once per epoch (every CREATE or DROP moves it).
func (s *session) temps(ctx context.Context) (map[string]access.Temp, error) {
	if !s.created {
		// Temporary objects come only from a CREATE the session ran
		// (its current_database() macro is not one of them).
		return nil, nil
	}
	if s.tempObjs != nil && s.tempEpoch == s.epoch {
		return s.tempObjs, nil
	}
	rows, err := s.conn.Query(ctx, `SELECT 'table', table_name, '' FROM duckdb_tables() WHERE temporary
		UNION ALL SELECT 'view', view_name, sql FROM duckdb_views() WHERE temporary AND NOT internal
		UNION ALL SELECT DISTINCT CASE function_type WHEN 'table_macro' THEN 'table macro' ELSE 'macro' END, function_name, coalesce(macro_definition, '')
			FROM duckdb_functions() WHERE database_name = 'temp' AND function_type IN ('macro', 'table_macro')
			AND function_name NOT IN ('`+strings.Join(sessionMacroNames, "', '")+`')`)
	if err != nil {
		return nil, err
	}
	out := map[string]access.Temp{}
	for rows.Next() {
		rec := rows.Batch()
		for i := 0; i < int(rec.NumRows()); i++ {
			// Clone: the batch's memory is reused by the next one.
			kind, name, body := strings.Clone(rec.Column(0).ValueStr(i)), strings.Clone(rec.Column(1).ValueStr(i)), strings.Clone(rec.Column(2).ValueStr(i))
			out[strings.ToLower(name)] = access.Temp{Kind: kind, Body: body}
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	rows.Close()
	s.tempObjs, s.tempEpoch = out, s.epoch
	return out, nil
}

// analyze parses a query with DuckDB's parser.
func (g *Gateway) analyze(ctx context.Context, query string) (*sqlplan.Analysis, error) {
	var js string
	q := "SELECT CAST(json_serialize_sql(" + sql.QuoteLiteral(query) + ") AS VARCHAR)"
	if err := g.db.SQL().QueryRowContext(ctx, q).Scan(&js); err != nil {
		return nil, err
	}
	return sqlplan.Analyze(js)
}

// authorize checks a statement before it runs. kept holds the analysis of
// a query from a previous check of the same statement (nil: keep none).
func (s *session) authorize(ctx context.Context, st sql.Statement, kept **sqlplan.Analysis) error {
	s.ownership = nil
	switch st := st.(type) {
	case *sql.Passthrough:
		text := st.Text()
		if s.allowedBefore(text) {
			return nil
		}
		gen := s.planGen()
		if err := s.authorizeSQL(ctx, pgcatalog.Resolve(text), kept); err != nil {
			return err
		}
		s.keepAllowed(text, gen)
		return nil
	case *sql.Copy:
		return s.authorizeCopy(ctx, st, kept)
	case *sql.Set:
		switch {
		case st.All || st.Name == "transaction" || st.Name == "session characteristics" || settings.Keeps(st.Name):
			return nil
		case st.Name == "schema":
			// DuckDB's default schema: how names resolve.
			snap, err := s.g.access.Snapshot(ctx)
			if err != nil || snap.Superuser(s.user) {
				return err
			}
			return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied: only superusers may change how names resolve (SET schema)")
		}
		return s.g.engineSetting(st.Name)
	case *sql.ShowSetting:
		switch st.Name {
		case "tables", "databases", "all":
			// DuckDB's SHOW TABLES / DATABASES / ALL TABLES list every
			// relation or database.
			snap, err := s.g.access.Snapshot(ctx)
			if err != nil || snap.Superuser(s.user) {
				return err
			}
			e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to list every relation of the database")
			e.Hint = `Use \dt in psql, or information_schema.tables, which list the relations you may use.`
			return e
		}
		for _, c := range st.SetConfig {
			if !settings.Keeps(c.Name) {
				if err := s.g.engineSetting(c.Name); err != nil {
					return err
				}
			}
		}
	}
	return nil // Sluice's statements check in ddl and access
}

// engineSetting refuses to change DuckDB's settings from SQL: they are the
// gateway's (memory_limit, threads, the file sandbox: enable_external_access,
// allowed_directories, ...), fixed by its configuration, and DuckDB's
// lock_configuration holds them. schema, the one DuckDB lets a locked
// database change, is refused by authorizeSQL's USE rule.
func (g *Gateway) engineSetting(name string) error {
	if !g.engineSettings[strings.ToLower(name)] {
		return pgerr.New(pgerrcode.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to set parameter %q", name)
	e.Detail = "DuckDB's settings are fixed by the gateway's configuration."
	return e
}

// authorizeCopy checks COPY ... TO STDOUT and COPY ... FROM STDIN.
func (s *session) authorizeCopy(ctx context.Context, st *sql.Copy, kept **sqlplan.Analysis) error {
	c, err := s.checker(ctx)
	if err != nil {
		return err
	}
	if st.Table == nil {
		return s.checkQuery(ctx, c, pgcatalog.Resolve(st.Query), kept)
	}
	need := access.Select
	if st.From {
		need = access.Insert
	}
	return s.requireNamed(c, *st.Table, need)
}

// requireNamed checks a privilege on a relation named in a statement;
// nothing when it does not exist (DuckDB reports it).
func (s *session) requireNamed(c *access.Checker, n sql.Name, p access.Priv) error {
	ref, _, ok := c.Resolve(n, s.scope())
	if !ok {
		return nil
	}
	return c.Require(s.user, ref, p)
}

// checkQuery checks a query, parsing it unless kept holds its analysis.
func (s *session) checkQuery(ctx context.Context, c *access.Checker, query string, kept **sqlplan.Analysis) error {
	var a *sqlplan.Analysis
	if kept != nil && *kept != nil {
		a = *kept
	} else {
		var err error
		if a, err = s.g.analyze(ctx, query); err != nil {
			// Not a query DuckDB can serialise: judge every name in it.
			return c.Names(ctx, s.user, sql.Names(query), s.scope(), nil)
		}
		if kept != nil {
			*kept = a
		}
	}
	return c.Query(ctx, s.user, a, s.scope())
}

// authorizeSQL checks a statement passed through to DuckDB.
func (s *session) authorizeSQL(ctx context.Context, text string, kept **sqlplan.Analysis) error {
	sh := sql.ShapeOf(text)
	c, err := s.checker(ctx)
	if err != nil {
		return err
	}
	role, snap := s.user, c.Snapshot()
	super := snap.Superuser(role)
	if sh == nil {
		// No tokens (only comments), or text the lexer cannot read: the
		// statement's parse already passed it, so this is defensive, and
		// what cannot be judged is not run for a role that needs judging.
		if super || !sql.HasTokens(text) {
			return nil
		}
		return pgerr.New(pgerrcode.SyntaxError, "syntax error: the statement cannot be read")
	}
	superOnly := func(what string) error {
		if super {
			return nil
		}
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied: only superusers may %s", what)
	}
	switch sh.Verb {
	case "SELECT", "WITH", "VALUES", "FROM", "TABLE", "SHOW", "DESCRIBE", "SUMMARIZE", "PIVOT", "UNPIVOT", "(", "CALL":
		if super && !mayReachFiles(sh.Query) {
			return nil
		}
		return s.checkQuery(ctx, c, sh.Query, kept)
	case "INSERT", "REPLACE":
		for _, n := range sh.Names {
			if err := s.requireNamed(c, n, access.Insert|selectIf(sh.Where)); err != nil {
				return err
			}
		}
		if strings.Contains(strings.ToLower(text), "do update") {
			for _, n := range sh.Names {
				if err := s.requireNamed(c, n, access.Update|access.Select); err != nil {
					return err
				}
			}
		}
		if sh.Query != "" {
			if super && !mayReachFiles(sh.Query) {
				return nil
			}
			return s.checkQuery(ctx, c, sh.Query, nil)
		}
		return s.checkNames(ctx, c, text, sh.Names, super)
	case "UPDATE", "DELETE", "TRUNCATE", "MERGE":
		need := map[string]access.Priv{"UPDATE": access.Update, "DELETE": access.Delete, "TRUNCATE": access.Truncate,
			"MERGE": access.Insert | access.Update | access.Delete}[sh.Verb]
		for _, n := range sh.Names {
			if err := s.requireNamed(c, n, need|selectIf(sh.Where)); err != nil {
				return err
			}
		}
		return s.checkNames(ctx, c, text, sh.Names, super)
	case "COPY":
		return s.authorizeCopyFile(ctx, c, sh, super)
	case "CREATE":
		if err := s.authorizeCreate(ctx, c, sh, text, super); err != nil {
			return err
		}
		s.ownership = s.ownershipOf(c, sh)
		return nil
	case "DROP", "ALTER", "COMMENT":
		if err := s.authorizeOwner(c, sh, super); err != nil {
			return err
		}
		s.ownership = s.ownershipOf(c, sh)
		return nil
	case "ATTACH", "IMPORT":
		if err := superOnly(strings.ToLower(sh.Verb) + " databases"); err != nil {
			return err
		}
		if sh.Path != "" && sh.Path != ":memory:" {
			return c.Roots().Check(sh.Path)
		}
		return nil
	case "EXPORT":
		if err := superOnly("export the database"); err != nil {
			return err
		}
		return c.Roots().CheckWrite(sh.Path)
	case "DETACH", "CHECKPOINT", "PREPARE", "EXECUTE", "DEALLOCATE":
		return superOnly(strings.ToLower(sh.Verb))
	case "USE":
		return superOnly("change how names resolve (USE)")
	case "INSTALL", "LOAD", "FORCE", "UPDATE EXTENSIONS":
		e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to install or load extensions")
		e.Detail = "The gateway runs with the extensions it ships (parquet, json, icu); none can be added from SQL."
		return e
	case "SET", "RESET":
		switch {
		case sh.Variable && strings.HasPrefix(sh.Setting, "sluice_"):
			return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to set variable %q: the gateway's own", sh.Setting)
		case sh.Variable:
			return nil
		case sh.Setting == "schema" || sh.Setting == "search_path":
			return superOnly("change how names resolve (SET " + sh.Setting + ")")
		}
		return s.g.engineSetting(sh.Setting)
	case "PRAGMA":
		return s.authorizePragma(ctx, c, sh, super)
	case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "VACUUM", "ANALYZE":
		return nil
	}
	return superOnly("run " + sh.Verb + " statements")
}

func selectIf(b bool) access.Priv {
	if b {
		return access.Select
	}
	return 0
}

// checkNames judges a statement DuckDB's parser does not serialise by
// every name it mentions, the written relations aside (checked for their
// own privilege).
func (s *session) checkNames(ctx context.Context, c *access.Checker, text string, written []sql.Name, super bool) error {
	if super && !mayReachFiles(text) {
		return nil
	}
	skip := map[catalog.Ref]bool{}
	for _, n := range written {
		if ref, _, ok := c.Resolve(n, s.scope()); ok {
			skip[ref] = true
		}
	}
	return c.Names(ctx, s.user, sql.Names(text), s.scope(), skip)
}

// mayReachFiles reports whether a superuser's statement may name a file or
// call one of the functions nobody may call: it holds a string literal, a
// quoted identifier, or the name of such a function. Other statements of
// a superuser need no analysis (a superuser holds every privilege).
func mayReachFiles(text string) bool {
	return sql.MayNameFiles(text, fileFunctionSet)
}

var fileFunctionSet = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range access.FileFunctions() {
		m[n] = true
	}
	return m
}()

// Allowed queries. A query's check depends on nothing but its text, the
// role's privileges and the catalog (the access snapshot is the catalog's
// generation: a GRANT, REVOKE, ALTER ... OWNER TO or redefined view moves
// it), and the session's temporary objects (read once per epoch): so a
// query allowed in a state (planGen) is allowed again in the same state,
// without lexing and judging it again. Only queries are kept, and only
// those that cannot name a file (mayReachFiles: a file's sandbox check
// reads the file system, which no generation follows), or that were judged
// catalog reads (catalogreads.go: every relation they name is the
// catalog's); a refusal is never kept. The first statement after a REVOKE is checked again and refused.

// maxAllowed bounds a session's allowed queries; when full they are
// dropped and kept again as they come.
const maxAllowed = 256

// allowedBefore reports whether text was allowed in the current state, to
// the session or, while it shares (answers.go), to a session of its role
// started alike.
func (s *session) allowedBefore(text string) bool {
	if gen, ok := s.allowed[text]; ok && gen == s.planGen() {
		return true
	}
	// Only with the session's DuckDB variables (the role's privileges,
	// which the catalog's rows are filtered by) synced at the generation:
	// the full check (checker) syncs them.
	gen := s.g.cat.Generation()
	return s.shares() && s.varsSynced && s.varsGen == gen && s.g.sharedAllowed.has(s.startedAs+"\x00"+text, gen)
}

// sharedAllowed (a genSet: gateway.go) are the queries allowed to sessions
// started alike, with the catalog generation each was allowed in: what a
// query is allowed depends on its text, the role's privileges and the
// catalog, and the session's temporary objects, which a sharing session
// has none of.

// keepAllowed records that text, checked in state gen, was allowed.
func (s *session) keepAllowed(text string, gen planGen) {
	if len(text) > maxPlanText || gen != s.planGen() || len(s.ownership) > 0 {
		return
	}
	if mayReachFiles(text) && !s.judgedCatalogRead(pgcatalog.Resolve(text)) {
		return
	}
	if kw := sql.LeadingKeywords(text, 1); len(kw) == 0 || !queryVerb[kw[0]] {
		return
	}
	if s.allowed == nil || len(s.allowed) >= maxAllowed {
		s.allowed = make(map[string]planGen)
	}
	s.allowed[text] = gen
	if s.shares() {
		s.g.sharedAllowed.put(s.startedAs+"\x00"+text, gen.catalog)
	}
}

// queryVerb are the leading keywords of queries (as plannable has them).
var queryVerb = map[string]bool{
	"SELECT": true, "WITH": true, "VALUES": true, "FROM": true, "TABLE": true,
	"SHOW": true, "DESCRIBE": true, "SUMMARIZE": true,
}
