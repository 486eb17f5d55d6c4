package gateway

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/ddl"
	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/pgcatalog"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/sqlplan"
	"github.com/sluice-db/sluice/wire"
)

// start executes one statement and returns a cursor over its outcome. prep
// and args are set in the extended protocol. This is the one dispatch point
// over the dialect's statement types.
func (s *session) start(ctx context.Context, st sql.Statement, prep *engine.Stmt, args []any, w wire.ResultWriter, kept **sqlplan.Analysis) (*cursor, error) {
	if s.tx == txFailed && !endsTransaction(st) {
		return nil, pgerr.New(pgerrcode.InFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
	}
	if err := s.authorize(ctx, st, kept); err != nil {
		return nil, err
	}
	switch st := st.(type) {
	case *sql.Passthrough:
		if err := s.g.objects.GuardDDL(ctx, st.Text()); err != nil {
			return nil, err
		}
		return s.passthrough(ctx, pgcatalog.Resolve(st.Text()), prep, args, w)
	case *sql.Show:
		text, _ := s.rowSQL(st)
		return s.passthrough(ctx, text, prep, args, w)
	case *sql.CreateSource, *sql.CreateMaterializedView, *sql.CreatePipeline, *sql.Refresh, *sql.Drop,
		*sql.AlterSource, *sql.AlterObject, *sql.CreateSecret, *sql.AlterSecret, *sql.DropSecret:
		a, err := s.actor(ctx)
		if err != nil {
			return nil, err
		}
		res, err := s.g.objects.Exec(ctx, st, a, s.progress(w)) // ddl
		if err != nil {
			return nil, err
		}
		return s.done(res.Tag, res.Notices...), nil
	case *sql.ExplainRefresh:
		return s.explainRefresh(ctx, st, prep, args, w) // explain.go
	case *sql.StartDeployment, *sql.FinishDeployment:
		return s.deploymentStatement(ctx, st) // deploy.go
	case *sql.Copy:
		return s.copy(ctx, st, w) // copy.go
	case *sql.DeclareCursor:
		return s.declareCursor(ctx, st, w) // cursors.go
	case *sql.Fetch:
		return s.fetch(ctx, st, w)
	case *sql.CloseCursor:
		return s.closeCursor(st)
	case *sql.Set:
		return s.set(ctx, st, w) // settings.go
	case *sql.ShowSetting:
		return s.show(ctx, st, w)
	case *sql.CreateRole, *sql.AlterRole, *sql.DropRole, *sql.Grant, *sql.GrantRole, *sql.AlterDefaultPrivileges,
		*sql.AlterOwner, *sql.ReassignOwned:
		a, err := s.actor(ctx)
		if err != nil {
			return nil, err
		}
		tag, notices, err := s.g.roles.Exec(ctx, st, a) // access
		if err != nil {
			return nil, err
		}
		return s.done(tag, notices...), nil
	default:
		return nil, pgerr.Unsupported("statement %T is not supported", st)
	}
}

// rowSQL returns the SQL a statement runs when it is SQL that DuckDB can
// prepare: pass-through statements, and SHOW over the system tables.
func (s *session) rowSQL(st sql.Statement) (string, bool) {
	switch st := st.(type) {
	case *sql.Passthrough:
		return pgcatalog.Resolve(st.Text()), true
	case *sql.Show:
		return showSQL(st), true
	case *sql.ShowSetting:
		return s.showSettingSQL(st), true
	}
	return "", false
}

func showSQL(st *sql.Show) string {
	switch st.What {
	case sql.ShowSources:
		return `SELECT schema, name, connector, location, options, created_at FROM sluice.sources ORDER BY schema, name`
	case sql.ShowMaterializedViews:
		return `SELECT schema, name, partition_by, refresh, status, version, rows, files, bytes, last_refresh FROM sluice.materialized_views ORDER BY schema, name`
	case sql.ShowPipelines:
		return `SELECT schema, name, partition_by, refresh, status, sources, rows, files, bytes, last_run, last_refresh FROM sluice.pipelines ORDER BY schema, name`
	case sql.ShowRuns:
		q := `SELECT run_id, schema, object, trigger, attempt, status, started_at, finished_at, rows_out, files_written, bytes_written, version, error FROM sluice.runs`
		if st.For != nil {
			ref := ddl.Resolve(*st.For)
			q += " WHERE schema = " + sql.QuoteLiteral(ref.Schema) + " AND object = " + sql.QuoteLiteral(ref.Name)
		}
		return q + " ORDER BY run_id"
	}
	return "SELECT 1 WHERE false"
}

func endsTransaction(st sql.Statement) bool {
	p, ok := st.(*sql.Passthrough)
	if !ok {
		return false
	}
	v := txVerb(sql.LeadingKeywords(p.Text(), 1))
	return v == "COMMIT" || v == "ROLLBACK"
}

// txVerb classifies transaction control statements.
func txVerb(kw []string) string {
	if len(kw) == 0 {
		return ""
	}
	switch kw[0] {
	case "BEGIN", "START":
		return "BEGIN"
	case "COMMIT", "END":
		return "COMMIT"
	case "ROLLBACK", "ABORT":
		return "ROLLBACK"
	}
	return ""
}

// readVerbs are the leading keywords of statements that read only.
var readVerbs = map[string]bool{"SELECT": true, "WITH": true, "VALUES": true, "FROM": true, "TABLE": true,
	"SHOW": true, "DESCRIBE": true, "SUMMARIZE": true, "PIVOT": true, "UNPIVOT": true, "EXPLAIN": true}

// passthrough runs SQL on the session's DuckDB connection, keeping the
// transaction state PostgreSQL clients expect.
func (s *session) passthrough(ctx context.Context, text string, prep *engine.Stmt, args []any, w wire.ResultWriter) (*cursor, error) {
	kw := sql.LeadingKeywords(text, 4)
	verb := txVerb(kw)
	if len(kw) == 0 || !readVerbs[kw[0]] {
		// After the statement, and after a transaction block's end (a
		// kept catalog read from inside the block read its snapshot):
		// answers.go.
		defer s.g.writes.Add(1)
		s.created = s.created || len(kw) > 0 && (kw[0] == "CREATE" || kw[0] == "ATTACH" || kw[0] == "IMPORT")
	}
	switch {
	case verb == "BEGIN" && s.tx != txIdle:
		return s.done("BEGIN", warning(pgerrcode.ActiveSQLTransaction, "there is already a transaction in progress")), nil
	case verb == "COMMIT" && s.tx == txIdle:
		return s.done("COMMIT", warning(pgerrcode.NoActiveSQLTransaction, "there is no transaction in progress")), nil
	case verb == "ROLLBACK" && s.tx == txIdle:
		return s.done("ROLLBACK", warning(pgerrcode.NoActiveSQLTransaction, "there is no transaction in progress")), nil
	case verb == "COMMIT" && s.tx == txFailed:
		// PostgreSQL ends a failed transaction block with a rollback.
		if _, err := s.conn.Exec(ctx, "ROLLBACK"); err != nil {
			return nil, err
		}
		s.tx = txIdle
		s.closeCursors() // cursors.go: they end with their transaction
		return s.done("ROLLBACK"), nil
	}
	s.beginRead()
	// DDL whose objects get (or lose) an owner and privileges records them
	// in the same transaction (authorize.go's ownership).
	after := s.ownership
	s.ownership = nil
	// A constant query or catalog read DuckDB already answered in this
	// state (answers.go), or one to keep the answer of. The state is read
	// before DuckDB runs the query.
	// Only catalog reads are kept with parameters: the verdict comes
	// first for them, so other parameterized queries build no key.
	now := s.answerKey()
	keyable, akey, catalogRead := len(after) == 0, text, false
	if keyable && len(args) > 0 {
		var oids []uint32
		if prep != nil {
			oids = prep.ParamOIDs()
		}
		if catalogRead = s.catalogRead(ctx, text); catalogRead {
			akey, keyable = answerText(text, oids, args)
		} else {
			keyable = false
		}
	}
	if keyable {
		if a := s.answerFor(akey, now); a != nil {
			return &cursor{s: s, rows: &replay{a: a}, tagFor: rowsTag(kw)}, nil
		}
		catalogRead = catalogRead || s.catalogRead(ctx, text)
	}
	wrap := len(after) > 0 && s.tx == txIdle
	if wrap {
		if _, err := s.conn.Exec(ctx, "BEGIN"); err != nil {
			return nil, err
		}
	}
	var res *engine.Result
	var err error
	if prep != nil {
		res, err = prep.Run(ctx, args...)
	} else {
		res, err = s.conn.Run(ctx, text)
	}
	if err == nil && len(after) > 0 {
		for _, stmt := range after {
			if _, err = s.conn.Exec(ctx, stmt); err != nil {
				break
			}
		}
		if wrap && err == nil {
			_, err = s.conn.Exec(ctx, "COMMIT")
		}
	}
	if err != nil {
		if wrap {
			_, _ = s.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		if verb == "ROLLBACK" || verb == "COMMIT" {
			s.tx = txIdle
			s.closeCursors()
		}
		return nil, err
	}
	switch verb {
	case "BEGIN":
		s.tx = txActive
	case "COMMIT", "ROLLBACK":
		s.tx = txIdle
		s.closeCursors()
	}
	if len(kw) > 0 && (kw[0] == "CREATE" || kw[0] == "DROP" || kw[0] == "ALTER") {
		s.g.cat.Invalidate()
	}
	c := &cursor{s: s}
	if res.Rows != nil {
		c.rows = res.Rows
		if keyable {
			c.rows = s.keepAnswer(akey, now, catalogRead, len(args) > 0, res.Rows)
		}
		c.tagFor = rowsTag(kw)
		return c, nil
	}
	c.tag = commandTag(kw, res.RowsAffected)
	return c, nil
}

// objectStatements runs Sluice's own statements on its objects (package
// ddl): what the session dispatches to it, the session does not know.
type objectStatements interface {
	Exec(ctx context.Context, st sql.Statement, a ddl.Actor, progress func(string)) (ddl.Result, error)
	ExplainSQL(ctx context.Context, st *sql.ExplainRefresh, a ddl.Actor) (string, error)
	GuardDDL(ctx context.Context, text string) error
}

// roleStatements runs the statements on roles and privileges (package
// access): CREATE / ALTER / DROP ROLE, GRANT, REVOKE, ALTER DEFAULT
// PRIVILEGES, ALTER ... OWNER TO, REASSIGN OWNED.
type roleStatements interface {
	Exec(ctx context.Context, st sql.Statement, a access.Actor) (tag string, notices []*pgerr.Error, err error)
}

// progress sends refresh progress to the client as NOTICE messages.
func (s *session) progress(w wire.ResultWriter) func(string) {
	return func(msg string) {
		_ = w.Notice(notice(pgerrcode.SuccessfulCompletion, "%s", msg))
	}
}

func notice(code, format string, args ...any) *pgerr.Error {
	e := pgerr.New(code, format, args...)
	e.Severity = "NOTICE"
	return e
}

func warning(code, msg string) *pgerr.Error {
	e := pgerr.New(code, "%s", msg)
	e.Severity = "WARNING"
	return e
}

// done is the cursor of a statement that completed with a tag.
func (s *session) done(tag string, notices ...*pgerr.Error) *cursor {
	return &cursor{s: s, tag: tag, notices: notices}
}

// rowsTag returns the CommandComplete tag of a row-returning statement.
func rowsTag(kw []string) func(int64) string {
	first := ""
	if len(kw) > 0 {
		first = kw[0]
	}
	switch first {
	case "INSERT":
		return func(n int64) string { return "INSERT 0 " + strconv.FormatInt(n, 10) }
	case "UPDATE", "DELETE", "MERGE":
		return func(n int64) string { return first + " " + strconv.FormatInt(n, 10) }
	case "SHOW", "EXPLAIN":
		return func(int64) string { return first }
	}
	return selectTag
}

// selectTag is the tag of a query returning n rows.
func selectTag(n int64) string {
	if n >= 0 && n < int64(len(smallSelectTags)) {
		return smallSelectTags[n]
	}
	return "SELECT " + strconv.FormatInt(n, 10)
}

// smallSelectTags are the tags of queries of up to 16 rows, made once.
var smallSelectTags = func() (t [17]string) {
	for i := range t {
		t[i] = "SELECT " + strconv.Itoa(i)
	}
	return t
}()

// commandTag returns PostgreSQL's CommandComplete tag for a statement that
// returned no rows.
func commandTag(kw []string, affected int64) string {
	if len(kw) == 0 {
		return ""
	}
	switch kw[0] {
	case "INSERT":
		return fmt.Sprintf("INSERT 0 %d", affected)
	case "UPDATE", "DELETE", "MERGE", "COPY":
		return fmt.Sprintf("%s %d", kw[0], affected)
	case "BEGIN", "START":
		return "BEGIN"
	case "COMMIT", "END":
		return "COMMIT"
	case "ROLLBACK", "ABORT":
		return "ROLLBACK"
	case "CREATE", "DROP", "ALTER":
		words := []string{kw[0]}
		for _, k := range kw[1:] {
			switch k {
			case "OR", "REPLACE", "TEMP", "TEMPORARY", "UNIQUE", "IF", "NOT", "EXISTS":
				continue
			}
			words = append(words, k)
			break
		}
		if kw[0] == "CREATE" && len(words) > 1 && words[1] == "TABLE" && affected > 0 {
			return fmt.Sprintf("SELECT %d", affected) // CREATE TABLE AS, as PostgreSQL reports it
		}
		return strings.Join(words, " ")
	}
	return kw[0]
}

// cursor is the outcome of a started statement: rows to stream (with a tag
// computed from their count) or just a tag, and notices to send first.
type cursor struct {
	s       *session
	notices []*pgerr.Error
	tag     string
	rows    rowSource // *engine.Rows, or a kept answer (answers.go)
	tagFor  func(int64) string
	copyOut *pgcodec.CopyOptions // COPY TO STDOUT: the rows go out as COPY data

	described bool
	batch     arrow.RecordBatch
	off       int64
	n         int64
	closed    bool
}

// send writes the outcome, at most maxRows rows (0 = all). It returns true
// when rows remain (the portal is suspended).
func (c *cursor) send(w wire.ResultWriter, maxRows int) (bool, error) {
	for _, n := range c.notices {
		if err := w.Notice(n); err != nil {
			return false, err
		}
	}
	c.notices = nil
	if c.rows == nil {
		return false, w.Complete(c.tag)
	}
	if !c.described {
		var err error
		if c.copyOut != nil {
			err = w.CopyOut(c.rows.Columns(), *c.copyOut)
		} else {
			err = w.Columns(c.rows.Columns())
		}
		if err != nil {
			return false, err
		}
		c.described = true
	}
	_, more, err := c.sendRows(w.Rows, int64(maxRows))
	if err != nil || more {
		return more, err
	}
	return false, w.Complete(c.tagFor(c.n))
}

// sendRows gives emit up to limit more rows (0 or less: all), in batches;
// a nil emit skips them. more is true when the limit was reached first
// (rows may remain), false at the end of the rows.
func (c *cursor) sendRows(emit func(arrow.RecordBatch) error, limit int64) (sent int64, more bool, err error) {
	for {
		if err := c.rows.Err(); err != nil { // ended under a suspended portal
			c.batch = nil
			return sent, false, err
		}
		if c.batch == nil || c.off >= c.batch.NumRows() {
			if !c.rows.Next() {
				return sent, false, c.rows.Err()
			}
			c.batch, c.off = c.rows.Batch(), 0
		}
		n := c.batch.NumRows() - c.off
		if limit > 0 {
			if sent == limit {
				return sent, true, nil
			}
			n = min(n, limit-sent)
		}
		if emit != nil {
			rec := c.batch
			if c.off > 0 || n < rec.NumRows() {
				rec = c.batch.NewSlice(c.off, c.off+n)
			}
			err := emit(rec)
			if rec != c.batch {
				rec.Release()
			}
			if err != nil {
				return sent, false, err
			}
		}
		c.off += n
		c.n += n
		sent += n
	}
}

func (c *cursor) close() {
	if c.closed {
		return
	}
	c.closed = true
	if c.rows != nil {
		c.rows.Close()
	}
	if c.s.tx == txIdle {
		c.s.endRead()
	}
}
