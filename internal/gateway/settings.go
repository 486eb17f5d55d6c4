package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/settings"
	"github.com/sluice-db/sluice/sql"
	"github.com/sluice-db/sluice/wire"
)

// The statements over session settings: SET, RESET, SHOW and SELECT of
// set_config() calls. The table of known settings and each session's
// values are package settings'; DuckDB's own settings pass through.

// errStatementTimeout is the cause of a statement context that timed out.
var errStatementTimeout = errors.New("statement timeout")

// settle brings the settings up to date before a statement: once a
// transaction has ended, the values SET LOCAL replaced return, and DuckDB's
// copy is rewritten if it is out of date.
func (s *session) settle(ctx context.Context) error {
	if s.tx != txIdle {
		return nil
	}
	if err := s.settings.EndTransaction(); err != nil {
		return err
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
	stmt, ok := s.settings.Pending()
	if !ok {
		return nil
	}
	if _, err := s.conn.Exec(ctx, stmt); err != nil {
		return err
	}
	s.settings.Synced(stmt)
	s.epoch++
	return nil
}

// set runs SET and RESET.
func (s *session) set(ctx context.Context, st *sql.Set, w wire.ResultWriter) (*cursor, error) {
	tag := "SET"
	if len(sql.LeadingKeywords(st.Text(), 1)) > 0 && sql.LeadingKeywords(st.Text(), 1)[0] == "RESET" {
		tag = "RESET"
	}
	switch {
	case st.All:
		s.settings.ResetAll()
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
					s.settings.SetIsolation(key, l)
				}
			}
		}
		return s.done(tag), s.syncSettings(ctx)
	}
	if !settings.Keeps(st.Name) {
		return s.passthrough(ctx, st.Text(), nil, nil, w)
	}
	if st.Local && s.tx == txIdle {
		return s.done(tag, warning(pgerrcode.NoActiveSQLTransaction, "SET LOCAL can only be used in transaction blocks")), nil
	}
	value, err := s.settings.Change(st.Name, st.Value, st.Reset, st.Local)
	if err != nil {
		return nil, err
	}
	if err := s.syncSettings(ctx); err != nil {
		return nil, err
	}
	if name, ok := settings.Reported[st.Name]; ok {
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
		if !settings.Keeps(c.Name) {
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
				value = s.settings.Default(c.Name)
			}
			if err := settings.Check(c.Name, value); err != nil {
				return err
			}
			continue
		}
		value, err := s.settings.Change(c.Name, c.Value, c.Reset, c.Local)
		if err != nil {
			return err
		}
		if name, ok := settings.Reported[c.Name]; ok {
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
			case !settings.Keeps(c.Name):
				v = "current_setting(" + sql.QuoteLiteral(c.Name) + ")::VARCHAR"
			case c.Reset:
				v = sql.QuoteLiteral(s.settings.Default(c.Name))
			}
			cols[i] = v + " AS " + sql.QuoteIdent(c.Column)
		}
		return "SELECT " + strings.Join(cols, ", ")
	}
	if v, ok := s.settings.Get(st.Name); ok {
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
func (s *session) IdleInTransactionTimeout() time.Duration { return s.settings.IdleTimeout() }

// IdleSessionTimeout implements wire.IdleSession.
func (s *session) IdleSessionTimeout() time.Duration { return s.settings.IdleSessionTimeout() }

// withTimeout starts a statement: it settles the session's settings (a
// failure is logged; the statement then sees their previous values) and
// bounds the statement by statement_timeout.
func (s *session) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if err := s.settle(ctx); err != nil {
		s.g.log.Warn("updating the session's settings", "err", err)
	}
	timeout := s.settings.StatementTimeout()
	if timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, timeout, errStatementTimeout)
}

// timedOut reports a statement that statement_timeout interrupted as
// PostgreSQL does.
func timedOut(ctx context.Context, err error) error {
	if err != nil && context.Cause(ctx) == errStatementTimeout {
		return pgerr.New(pgerrcode.QueryCanceled, "canceling statement due to statement timeout")
	}
	return err
}
