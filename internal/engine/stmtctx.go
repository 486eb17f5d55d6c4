//go:build duckdb_arrow

package engine

import (
	"context"
	"reflect"
	"sync"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// The statement's context in DuckDB's calls back into Go.
//
// duckdb-go gives a table function's bind (BindArgumentsContext) and a
// scalar function (RowContextExecutor) the context of the statement
// running on their connection. It finds it in a store its connector keeps,
// keyed by DuckDB connection id, that its own database/sql methods
// (ExecContext, QueryContext, PrepareContext) fill for their duration;
// with nothing stored the callbacks get context.Background(). The engine
// runs statements through the C API instead, for streaming results, so it
// fills the store itself around each prepare and each execution, as
// duckdb-go would.
//
// That reaches the bind, not the reads: DuckDB binds a table function when
// the statement is prepared, which may be long before, and once for many,
// executions (the gateway's per-session plan cache), and it starts and
// feeds a scan (Init, FillChunk) with no context at all. So the context
// stored carries the connection's statementContext, which a scan keeps
// from its bind; each execution of the scan then reads under the context
// of the statement running it (scan.Init), and the statement's end cancels
// the reads it started. A cancelled or timed-out statement thereby stops a
// connector read in progress (an HTTP body, a Kafka fetch), not only
// DuckDB's asking for the next chunk. A statement run through database/sql
// (DB.SQL) binds and runs in one call under one context, which duckdb-go
// itself hands the bind: its scans read under that (scan.readContext).

// statementContext is the context of the statement a Conn runs now.
type statementContext struct {
	mu   sync.Mutex
	ctx  context.Context      // nil between statements
	ends []context.CancelFunc // of the reads the statement started
}

// statementKey is the key of a Conn's *statementContext in the context
// duckdb-go passes to a bind.
type statementKey struct{}

// contexts is duckdb-go's store of one connection's statement contexts.
type contexts struct {
	m  *sync.Map // the connector's store: connection id -> context.Context
	id uint64
}

// contextStore finds the store of dc's connector and dc's key in it.
// duckdb-go keeps both unexported; the fields are checked by name and type
// (as nativeConn checks the connection handle), so a duckdb-go upgrade that
// changes them fails Connect, and the tests, not a cancel at random.
func contextStore(dc any) (contexts, error) {
	bad := func(what string) (contexts, error) {
		return contexts{}, pgerr.New(pgerrcode.InternalError, "engine: unsupported duckdb-go version: %s", what)
	}
	if _, ok := dc.(*duckdb.Conn); !ok || reflect.ValueOf(dc).IsNil() {
		return bad("not a *duckdb.Conn")
	}
	v := reflect.ValueOf(dc).Elem()
	id := v.FieldByName("id")
	if !id.IsValid() || id.Kind() != reflect.Uint64 {
		return bad("no connection id field")
	}
	store := v.FieldByName("ctxStore")
	if !store.IsValid() || store.Kind() != reflect.Pointer || store.IsNil() {
		return bad("no context store")
	}
	m := store.Elem().FieldByName("m")
	if !m.IsValid() || m.Type() != reflect.TypeFor[sync.Map]() {
		return bad("the context store is not a sync.Map")
	}
	return contexts{m: (*sync.Map)(unsafe.Pointer(m.UnsafeAddr())), id: id.Uint()}, nil
}

// begin makes ctx the context of the statement c runs now, for the
// callbacks DuckDB makes while it runs, until end is called. Statements
// on a Conn run one at a time, so begin and end never nest.
func (c *Conn) begin(ctx context.Context) (end func()) {
	sc := c.stmt
	sc.mu.Lock()
	sc.ctx = ctx
	sc.mu.Unlock()
	c.ctxs.m.Store(c.ctxs.id, context.WithValue(ctx, statementKey{}, sc))
	return func() {
		c.ctxs.m.Delete(c.ctxs.id)
		sc.mu.Lock()
		ends := sc.ends
		sc.ctx, sc.ends = nil, nil
		sc.mu.Unlock()
		for _, cancel := range ends {
			cancel()
		}
	}
}

// statementOf is the statementContext a bind's ctx carries, nil when the
// statement did not come through a Conn.
func statementOf(ctx context.Context) *statementContext {
	sc, _ := ctx.Value(statementKey{}).(*statementContext)
	return sc
}

// readContext is the context of one execution of scan s.
//
// Through a Conn it is the running statement's, cancelled when the
// statement ends. Through database/sql (DB.SQL: the materializer's
// refreshes and pipeline runs) duckdb-go holds the context of each
// ExecContext or QueryContext for the whole call, which prepares, binds
// and runs the statement and materializes its result: the bind's context
// is the statement's, and is used as it is (a child of it would stay
// registered in a long-lived parent after the statement). A database/sql
// prepared statement run later under another context would read under
// the preparing call's: Sluice has none.
func (s *scan) readContext() (context.Context, context.CancelFunc) {
	sc := s.stmt
	if sc == nil {
		if s.bound.Done() != nil {
			return s.bound, func() {}
		}
		return context.WithCancel(context.Background())
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.ctx == nil { // not run by a statement: nothing to follow
		return context.WithCancel(context.Background())
	}
	ctx, cancel := context.WithCancel(sc.ctx)
	sc.ends = append(sc.ends, cancel)
	return ctx, cancel
}
