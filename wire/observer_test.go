package wire

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
)

// recordingObserver keeps what the server told it.
type recordingObserver struct {
	mu sync.Mutex
	observed
}

type observed struct {
	opened, closed         int
	refused                map[string]int
	queries                map[string]int // by SQLSTATE, "" = success
	rows, bytes            int64
	negativeOrZeroDuration int
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{observed: observed{refused: map[string]int{}, queries: map[string]int{}}}
}

func (o *recordingObserver) ConnectionOpened() { o.mu.Lock(); o.opened++; o.mu.Unlock() }
func (o *recordingObserver) ConnectionClosed() { o.mu.Lock(); o.closed++; o.mu.Unlock() }
func (o *recordingObserver) ConnectionRefused(r string) {
	o.mu.Lock()
	o.refused[r]++
	o.mu.Unlock()
}

func (o *recordingObserver) QueryDone(d time.Duration, code string, rows int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.queries[code]++
	o.rows += rows
	if d <= 0 {
		o.negativeOrZeroDuration++
	}
}

func (o *recordingObserver) BytesSent(n int) { o.mu.Lock(); o.bytes += int64(n); o.mu.Unlock() }

func (o *recordingObserver) snapshot() observed {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.observed
	c.refused, c.queries = map[string]int{}, map[string]int{}
	for k, v := range o.refused {
		c.refused[k] = v
	}
	for k, v := range o.queries {
		c.queries[k] = v
	}
	return c
}

// TestObserver: the server reports connections, refusals by reason,
// queries by SQLSTATE with the rows they sent, and the bytes written, in
// the simple and the extended protocol.
func TestObserver(t *testing.T) {
	obs := newRecordingObserver()
	ts := startServerConfig(t, newFakeHandler(), Config{MaxConnections: 1, Observer: obs})
	ctx := testCtx(t)
	conn := connect(t, ts)
	if _, err := conn.Exec(ctx, "select 250", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "select 10", pgx.QueryExecModeCacheStatement); err != nil {
		t.Fatal(err)
	}
	_, err := conn.Exec(ctx, "fail 22012", pgx.QueryExecModeSimpleProtocol)
	wantCode(t, err, pgerrcode.DivisionByZero)
	_, err = conn.Exec(ctx, "nonsense", pgx.QueryExecModeCacheStatement) // fails at Parse
	wantCode(t, err, pgerrcode.SyntaxError)

	// One slot: a second client is refused.
	_, err = pgx.Connect(ctx, ts.url("db"))
	wantCode(t, err, pgerrcode.TooManyConnections)
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var s observed
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s = obs.snapshot()
		if s.closed == s.opened || time.Now().After(deadline) {
			break
		}
	}
	// The session slot is free again: an unknown database is refused by
	// the session.
	_, err = pgx.Connect(ctx, ts.url("nodb"))
	wantCode(t, err, pgerrcode.InvalidCatalogName)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s = obs.snapshot()
		if s.closed == s.opened && s.refused[RefusedSession] == 1 || time.Now().After(deadline) {
			break
		}
	}

	if s.opened != 3 || s.closed != 3 {
		t.Errorf("connections opened %d, closed %d; want 3 and 3", s.opened, s.closed)
	}
	if fmt.Sprint(s.refused) != fmt.Sprintf("map[%s:1 %s:1]", RefusedSession, RefusedTooManyClients) {
		t.Errorf("refused %v", s.refused)
	}
	// pgx's cached statement: Parse + Describe, then Bind + Execute.
	if s.queries[""] < 2 || s.queries["22012"] != 1 || s.queries["42601"] != 1 {
		t.Errorf("queries by SQLSTATE %v", s.queries)
	}
	if s.rows != 260 {
		t.Errorf("rows sent %d, want 260", s.rows)
	}
	if s.bytes < 260*10 {
		t.Errorf("bytes sent %d: fewer than the rows need", s.bytes)
	}
	if s.negativeOrZeroDuration != 0 {
		t.Errorf("%d queries without a duration", s.negativeOrZeroDuration)
	}
}
