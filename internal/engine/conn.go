//go:build duckdb_arrow

package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Conn is one DuckDB connection, dedicated to one client session. Results
// stream: at most one Rows is open at a time, and starting another statement
// closes it. A Conn is not safe for concurrent use.
type Conn struct {
	sc     *sql.Conn // holds the connection out of database/sql's pool
	conn   mapping.Connection
	ctxs   contexts          // duckdb-go's statement contexts (stmtctx.go)
	stmt   *statementContext // the running statement's, for scans
	active *Rows
	closed bool
}

// Result is the outcome of one statement.
type Result struct {
	Rows         *Rows // nil when the statement returns no rows
	RowsAffected int64 // INSERT/UPDATE/DELETE without RETURNING, CREATE TABLE AS, COPY
}

var errClosed = pgerr.New(pgerrcode.ConnectionDoesNotExist, "engine: connection is closed")

// Exec runs a statement and discards any rows.
func (c *Conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.Run(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	if res.Rows != nil {
		for res.Rows.Next() {
		}
		return 0, res.Rows.Close()
	}
	return res.RowsAffected, nil
}

// Query runs a statement that returns rows.
func (c *Conn) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	res, err := c.Run(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if res.Rows == nil {
		return nil, pgerr.New(pgerrcode.WrongObjectType, "engine: statement returns no rows")
	}
	return res.Rows, nil
}

// Run runs query, whatever it is: its result has Rows when the statement
// returns rows, else RowsAffected. When query holds several statements,
// all but the last run first without arguments and their results are
// discarded.
func (c *Conn) Run(ctx context.Context, query string, args ...any) (*Result, error) {
	ps, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := c.execute(ctx, &ps, query, args, true, true)
	if err != nil || res.Rows == nil {
		mapping.DestroyPrepare(&ps)
	}
	return res, err
}

// Close closes the connection and any open Rows. The DuckDB connection is
// discarded, not returned to the pool: a session's settings, temporary
// objects and transaction must never reach another session.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closeActive()
	c.closed = true
	_ = c.sc.Raw(func(any) error { return driver.ErrBadConn })
	if err := c.sc.Close(); err != nil && !errors.Is(err, sql.ErrConnDone) {
		return err
	}
	return nil
}

// closeActive ends the open result before another statement runs: DuckDB
// streams one result per connection. A portal still reading it gets an
// error, not a silently short result.
func (c *Conn) closeActive() {
	if c.active != nil {
		if c.active.err == nil {
			c.active.err = pgerr.Unsupported("the result of a suspended portal ended because another statement ran on the session (Sluice streams one result at a time per connection; fetch it to the end, or use another connection)")
		}
		c.active.Close()
		c.active = nil
	}
}

// prepare prepares the last statement of query, running the ones before it.
func (c *Conn) prepare(ctx context.Context, query string) (mapping.PreparedStatement, error) {
	var ps mapping.PreparedStatement
	if c.closed {
		return ps, errClosed
	}
	c.closeActive()
	if err := ctx.Err(); err != nil {
		return ps, Translate(err)
	}
	var stmts mapping.ExtractedStatements
	n := mapping.ExtractStatements(c.conn, query, &stmts)
	defer mapping.DestroyExtracted(&stmts)
	if n == 0 {
		if msg := mapping.ExtractStatementsError(stmts); msg != "" {
			return ps, translate(duckError(msg), query)
		}
		return ps, pgerr.New(pgerrcode.SyntaxError, "empty query")
	}
	for i := range n {
		end := c.begin(ctx) // a table function binds here (stmtctx.go)
		state := mapping.PrepareExtractedStatement(c.conn, stmts, i, &ps)
		end()
		if state == mapping.StateError {
			err := translate(duckError(mapping.PrepareError(ps)), query)
			mapping.DestroyPrepare(&ps)
			return ps, err
		}
		if i == n-1 {
			break
		}
		_, err := c.execute(ctx, &ps, query, nil, false, false)
		mapping.DestroyPrepare(&ps)
		if err != nil {
			return ps, err
		}
	}
	return ps, nil
}

// execute binds args and runs a prepared statement. With stream, a row
// result is returned as open Rows (which destroy ps on Close when ownPS:
// a one-off statement; a Stmt keeps its ps); otherwise rows are drained.
//
// The statement's context reaches the scans it runs (stmtctx.go) from
// here until it ends: when execute returns, or when the Rows it returns
// close.
func (c *Conn) execute(ctx context.Context, ps *mapping.PreparedStatement, query string, args []any, stream, ownPS bool) (*Result, error) {
	if err := bind(*ps, args); err != nil {
		return nil, err
	}
	end := c.begin(ctx)
	defer func() {
		if end != nil {
			end()
		}
	}()
	var pending mapping.PendingResult
	// duckdb-go's own execution materializes the whole result
	// (duckdb_pending_prepared); the streaming variant keeps memory flat.
	if bindings.PendingPreparedStreaming(*ps, &pending) == mapping.StateError {
		err := translate(duckError(mapping.PendingError(pending)), query)
		mapping.DestroyPending(&pending)
		return nil, err
	}
	defer mapping.DestroyPending(&pending)
	if err := ctx.Err(); err != nil {
		return nil, Translate(err)
	}
	var res mapping.Result
	stop := c.interruptOn(ctx)
	state := mapping.ExecutePending(pending, &res)
	stop()
	if state == mapping.StateError {
		err := resultError(ctx, &res, query)
		mapping.DestroyResult(&res)
		return nil, err
	}
	switch mapping.ResultReturnType(res) {
	case mapping.ResultTypeQueryResult:
		rows, err := newRows(ctx, c, res, query)
		if err != nil {
			return nil, err
		}
		if !stream {
			for rows.Next() {
			}
			return &Result{}, rows.Close()
		}
		if ownPS {
			rows.ps = ps
		}
		rows.end, end = end, nil
		c.active = rows
		return &Result{Rows: rows}, nil
	case mapping.ResultTypeChangedRows:
		n, err := changedRows(ctx, c, res, query)
		return &Result{RowsAffected: n}, err
	}
	mapping.DestroyResult(&res)
	return &Result{}, nil
}

// changedRows sums the Count column DuckDB returns for DML and consumes res.
func changedRows(ctx context.Context, c *Conn, res mapping.Result, query string) (int64, error) {
	rows, err := newRows(ctx, c, res, query)
	if err != nil {
		return 0, err
	}
	var n int64
	for rows.Next() {
		if col, ok := rows.Batch().Column(0).(*array.Int64); ok {
			for _, v := range col.Int64Values() {
				n += v
			}
		}
	}
	return n, rows.Close()
}

// resultError returns the error of a failed result; a cancelled ctx wins.
func resultError(ctx context.Context, res *mapping.Result, query string) error {
	de := &duckdb.Error{Type: duckdb.ErrorType(mapping.ResultErrorType(res)), Msg: mapping.ResultError(res)}
	if ctx.Err() != nil {
		return Translate(errors.Join(ctx.Err(), de))
	}
	return translate(de, query)
}

// interruptInterval is how often an interrupt is re-sent while a call that
// outlives its cancelled context is still running (DuckDB clears the
// interrupt flag when a query starts).
const interruptInterval = 20 * time.Millisecond

// interruptOn interrupts the connection's running query when ctx ends,
// until the returned stop is called; stop waits for the interrupter.
func (c *Conn) interruptOn(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		defer close(exited)
		t := time.NewTicker(interruptInterval)
		defer t.Stop()
		for {
			mapping.Interrupt(c.conn)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() {
		close(done)
		if !stopAfter() {
			<-exited
		}
	}
}
