package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/sql"
)

// Client is a connection to a gateway that keeps the notices the gateway
// sends (a rebuild reports the dependants that failed to refresh as
// WARNINGs).
type Client struct {
	Conn *pgx.Conn

	mu      sync.Mutex
	notices []*pgconn.Notice
}

// Connect opens a client connection from a pgx connection string (which
// may be empty: pgx then reads the PG* environment variables).
func Connect(ctx context.Context, connString string) (*Client, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	c := &Client{}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.notices = append(c.notices, n)
	}
	if c.Conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close(ctx context.Context) error { return c.Conn.Close(ctx) }

// exec runs one statement with the simple protocol and returns the
// notices it caused.
func (c *Client) exec(ctx context.Context, stmt string) (pgconn.CommandTag, []*pgconn.Notice, error) {
	c.mu.Lock()
	c.notices = nil
	c.mu.Unlock()
	res, err := c.Conn.PgConn().Exec(ctx, stmt).ReadAll()
	c.mu.Lock()
	notices := c.notices
	c.notices = nil
	c.mu.Unlock()
	var tag pgconn.CommandTag
	if len(res) > 0 {
		tag = res[len(res)-1].CommandTag
	}
	return tag, notices, err
}

// ApplyOptions configure Apply.
type ApplyOptions struct {
	Out io.Writer // progress, one line per change
	// Pause waits between two changes: a test hook (SLUICE_APPLY_PAUSE) to
	// interrupt an apply between its statements.
	Pause time.Duration
}

// Apply runs the plan's statements in order, each on its own (every
// statement is atomic on the gateway, so an interrupted apply leaves each
// object in its old or its new definition and a second apply finishes the
// job). The apply is recorded in sluice.deployments (START DEPLOYMENT with
// the plan's text, FINISH DEPLOYMENT with how it ended); an empty plan
// records nothing. It stops at the first statement that fails. After the
// last change, a materialized view the plan rebuilt or refreshed, or one
// reading what it rebuilt, whose status is failed (a breaking change its
// query no longer binds to) fails the apply too.
func Apply(ctx context.Context, c *Client, p *Plan, opts ApplyOptions) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if p.Empty() {
		fmt.Fprintln(out, "No changes: the catalog matches DIR.")
		return nil
	}
	tag, _, err := c.exec(ctx, fmt.Sprintf("START DEPLOYMENT WITH (changes = %d) AS %s", len(p.Changes), sql.QuoteLiteral(p.Text())))
	if err != nil {
		return fmt.Errorf("recording the deployment: %w", describeErr(err))
	}
	id := strings.TrimPrefix(tag.String(), "START DEPLOYMENT ")
	fmt.Fprintf(out, "Deployment %s: applying %d changes.\n", id, len(p.Changes))
	fail := func(what string, err error) error {
		msg := what + ": " + describeErr(err).Error()
		if _, _, ferr := c.exec(context.WithoutCancel(ctx), "FINISH DEPLOYMENT FAILED "+sql.QuoteLiteral(msg)); ferr != nil {
			fmt.Fprintf(out, "recording the deployment's failure: %v\n", describeErr(ferr))
		}
		fmt.Fprintf(out, "Deployment %s failed.\n", id)
		return errors.New(msg)
	}
	for i, ch := range p.Changes {
		start := time.Now()
		for _, stmt := range ch.SQL {
			_, notices, err := c.exec(ctx, stmt)
			for _, n := range notices {
				if n.Severity == "WARNING" {
					fmt.Fprintf(out, "      WARNING %s: %s\n", n.Code, n.Message)
				}
			}
			if err != nil {
				fmt.Fprintf(out, "[%d/%d] %s %s: failed\n", i+1, len(p.Changes), ch.Action.symbol(), ch.Title())
				return fail(ch.Title(), err)
			}
		}
		fmt.Fprintf(out, "[%d/%d] %s %s: done in %s\n", i+1, len(p.Changes), ch.Action.symbol(), ch.Title(), time.Since(start).Round(time.Millisecond))
		if opts.Pause > 0 && i+1 < len(p.Changes) {
			select {
			case <-time.After(opts.Pause):
			case <-ctx.Done():
				return fail("interrupted", ctx.Err())
			}
		}
	}
	if failed, err := failedDependants(ctx, c, p); err != nil {
		return fail("checking the materialized views the plan refreshed", err)
	} else if len(failed) > 0 {
		return fail("applied, but these materialized views failed to refresh and keep their old data", errors.New(strings.Join(failed, ", ")))
	}
	if _, _, err := c.exec(ctx, "FINISH DEPLOYMENT"); err != nil {
		return fmt.Errorf("recording the deployment: %w", describeErr(err))
	}
	fmt.Fprintf(out, "Deployment %s succeeded: %s\n", id, strings.TrimPrefix(p.Summary(), "Plan: "))
	return nil
}

// failedDependants lists the materialized views the plan rebuilt,
// refreshed or made the gateway refresh whose status is failed now.
func failedDependants(ctx context.Context, c *Client, p *Plan) ([]string, error) {
	touched := map[Ref]bool{}
	for _, ch := range p.Changes {
		switch ch.Action {
		case Rebuild, Replace, Refresh, Create:
			touched[ch.Ref] = true
			for _, d := range ch.Dependants {
				touched[d] = true
			}
		}
	}
	rows, err := c.Conn.Query(ctx, `SELECT schema, name FROM sluice.materialized_views WHERE status = 'failed' ORDER BY schema, name`)
	if err != nil {
		return nil, err
	}
	var out []string
	err = forEach(rows, func(r pgx.Rows) error {
		var ref Ref
		if err := r.Scan(&ref.Schema, &ref.Name); err != nil {
			return err
		}
		if touched[ref] {
			out = append(out, ref.String())
		}
		return nil
	})
	return out, err
}

// describeErr writes a gateway error with its SQLSTATE.
func describeErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return err
}
