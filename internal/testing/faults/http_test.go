package faults

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The trickle: trickleBytes every trickleEvery, each wait far inside the
// source's 1 s timeout, so the source's own watchdog never fires; v2's
// 1,500 rows (about 30 KB) would take over a minute to arrive.
const (
	trickleBytes = 64
	trickleEvery = 150 * time.Millisecond
)

// docServer serves one CSV document, /data.csv, over real net/http on
// 127.0.0.1, with an ETag per version (and 304 for a matching
// If-None-Match) and one of four behaviours:
//
//   - healthy: the document at once;
//   - trickle: the headers at once, then the body trickleBytes every
//     trickleEvery, until the client goes away;
//   - stall: nothing, not even headers, until the client goes away;
//   - 500: HTTP 500 Internal Server Error.
//
// It counts every request, and records how each trickled answer ended.
type docServer struct {
	srv  *httptest.Server
	quit chan struct{} // ends stalled and trickled answers when the test ends

	mu        sync.Mutex
	mode      string
	etag      string
	body      []byte
	trickling int        // trickled answers begun and not yet taken by trickles
	trickled  []trickled // of those, the ended ones

	requests    atomic.Int64
	notModified atomic.Int64
}

// trickled is how a trickled answer ended: bytes sent of total.
type trickled struct{ sent, total int }

func startDocServer(t *testing.T) *docServer {
	t.Helper()
	d := &docServer{quit: make(chan struct{}), mode: "healthy"}
	d.srv = httptest.NewServer(d)
	t.Cleanup(d.srv.Close)
	t.Cleanup(func() { close(d.quit) }) // runs first: answers end, Close returns
	return d
}

func (d *docServer) url() string { return d.srv.URL + "/data.csv" }

func (d *docServer) set(mode string) {
	d.mu.Lock()
	d.mode = mode
	d.mu.Unlock()
}

func (d *docServer) publish(etag string, body []byte) {
	d.mu.Lock()
	d.etag, d.body = etag, body
	d.mu.Unlock()
}

func (d *docServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/data.csv" {
		http.NotFound(w, r)
		return
	}
	d.requests.Add(1)
	d.mu.Lock()
	mode, etag, body := d.mode, d.etag, d.body
	d.mu.Unlock()
	if mode == "trickle" && r.Header.Get("If-None-Match") != etag {
		d.mu.Lock()
		d.trickling++
		d.mu.Unlock()
	}
	switch mode {
	case "stall":
		select {
		case <-r.Context().Done():
		case <-d.quit:
		}
		return
	case "500":
		http.Error(w, "backend down", http.StatusInternalServerError)
		return
	}
	if r.Header.Get("If-None-Match") == etag {
		d.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "text/csv")
	if mode == "healthy" {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
		return
	}
	w.WriteHeader(http.StatusOK)
	sent := 0
	defer func() {
		d.mu.Lock()
		d.trickled = append(d.trickled, trickled{sent: sent, total: len(body)})
		d.mu.Unlock()
	}()
	for sent < len(body) {
		n, err := w.Write(body[sent:min(sent+trickleBytes, len(body))])
		sent += n
		if err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-d.quit:
			return
		case <-time.After(trickleEvery):
		}
	}
}

// csvDoc is rows ids from..to of the document, and their exact sums.
type csvDoc struct {
	body               []byte
	rows, ids, amounts int64
}

func makeDoc(from, to int) csvDoc {
	var b strings.Builder
	b.WriteString("id,name,amount\n")
	var d csvDoc
	for id := from; id <= to; id++ {
		amount := (id * 37) % 1000
		fmt.Fprintf(&b, "%d,name-%d,%d\n", id, id, amount)
		d.rows++
		d.ids += int64(id)
		d.amounts += int64(amount)
	}
	d.body = []byte(b.String())
	return d
}

// TestHTTPSlowThen500 breaks the HTTP server under a materialized view and
// a pipeline in three ways while both read a new version of the document:
// it stalls (no headers), it trickles the body (each wait shorter than the
// source's 1 s timeout, so only the statement's timeout can end the read),
// and it answers 500. The source has retries = 2 and timeout = '1s'; the
// view and the pipeline have timeout = '5s' (above the ~3.5 s that three
// stalled attempts and their backoff take, so the stall is the source's
// error, not the timeout). Each failure must give its SQLSTATE after
// exactly the requests the source's retry policy allows, keep the view's
// v1 and the pipeline's rows and position exactly, and leave the session
// usable. Then the server recovers: the view publishes v2 exactly, the
// pipeline appends v2's rows once, and a further run costs one conditional
// request answered 304 and adds nothing. A plain SELECT under
// statement_timeout, the third run of its text in the session, is stopped
// the same way.
func TestHTTPSlowThen500(t *testing.T) {
	doc := startDocServer(t)
	v1, v2 := makeDoc(1, 1000), makeDoc(1001, 2500)
	doc.publish(`"v1"`, v1.body)

	s := startServer(t, t.TempDir(), nil)
	conn := s.Connect(t)
	mustExec(t, conn, `CREATE SOURCE src FROM HTTP '`+doc.url()+`' WITH (retries = 2, timeout = '1s')`)
	mustExec(t, conn, `CREATE MATERIALIZED VIEW mv WITH (timeout = '5s') AS SELECT id, name, amount FROM src`)
	mustExec(t, conn, `CREATE PIPELINE copied WITH (timeout = '5s') AS SELECT id, name, amount FROM src`)
	pid := one(t, conn, `SELECT id FROM sluice.pipelines WHERE name = 'copied'`)
	mustExec(t, conn, `REFRESH PIPELINE copied`)

	// sums reads rel's count, id and amount sums and a checksum of every
	// value.
	sums := func(rel string) []string {
		t.Helper()
		return mustQueryText(t, conn, `SELECT count(*), count(DISTINCT id), sum(id), sum(amount), sum(hash(id, name, amount)) FROM `+rel)[0]
	}
	exact := func(what string, got []string, d csvDoc) {
		t.Helper()
		want := []string{fmt.Sprint(d.rows), fmt.Sprint(d.rows), fmt.Sprint(d.ids), fmt.Sprint(d.amounts)}
		if !reflect.DeepEqual(got[:4], want) {
			t.Fatalf("%s: count, distinct ids, sum(id), sum(amount) = %v, want %v", what, got[:4], want)
		}
	}
	mvV1 := sums("mv")
	exact("the view's v1", mvV1, v1)
	pipeV1 := sums("copied")
	exact("the pipeline's first run", pipeV1, v1)
	position := func() string {
		t.Helper()
		return one(t, conn, `SELECT position FROM sluice.pipeline_positions WHERE object_id = `+pid)
	}
	posV1 := position()
	if !strings.Contains(posV1, `v1`) {
		t.Fatalf("the pipeline's position after v1: %s, want v1's ETag", posV1)
	}

	// v2 is on the server from now on; each fault hits its read.
	doc.publish(`"v2"`, v2.body)
	// fail runs sql in mode and checks its SQLSTATE, that the message
	// holds each of msgs, the requests it made, and that nothing changed.
	fail := func(mode, sql, code string, requests int64, msgs ...string) time.Duration {
		t.Helper()
		doc.set(mode)
		defer doc.set("healthy")
		before := doc.requests.Load()
		start := time.Now()
		_, err := conn.Exec(context.Background(), sql)
		took := time.Since(start)
		msg := wantCode(t, mode+": "+sql, err, code)
		for _, m := range msgs {
			if !strings.Contains(msg, m) {
				t.Fatalf("%s: %s: message %q does not say %q", mode, sql, msg, m)
			}
		}
		if got := doc.requests.Load() - before; got != requests {
			t.Fatalf("%s: %s made %d requests, want %d", mode, sql, got, requests)
		}
		if got := one(t, conn, `SELECT 1`); got != "1" {
			t.Fatalf("%s: the session after the failure: %s", mode, got)
		}
		if got := sums("mv"); !reflect.DeepEqual(got, mvV1) {
			t.Fatalf("%s: the view reads %v after the failure, want v1 %v", mode, got, mvV1)
		}
		if got := sums("copied"); !reflect.DeepEqual(got, pipeV1) {
			t.Fatalf("%s: the pipeline holds %v after the failure, want %v", mode, got, pipeV1)
		}
		if got := position(); got != posV1 {
			t.Fatalf("%s: the pipeline's position after the failure: %s, want %s", mode, got, posV1)
		}
		object := "mv"
		if strings.Contains(sql, "PIPELINE") {
			object = "copied"
		}
		if got := mustQueryText(t, conn, `SELECT status, sqlstate FROM sluice.runs WHERE object = '`+object+`' ORDER BY run_id DESC LIMIT 1`); !reflect.DeepEqual(got, [][]string{{"failed", code}}) {
			t.Fatalf("%s: sluice.runs records %v for the failed run, want failed %s", mode, got, code)
		}
		t.Logf("%s: %s: %s after %v, requests: %d: %s", mode, sql, code, took.Round(10*time.Millisecond), requests, msg)
		return took
	}

	// Stalled: each attempt waits the source's 1 s for headers; three
	// attempts (1 + 2 retries) fail with 08001, under the 5 s timeout. The
	// view's refresh reads the document (one GET per attempt); the
	// pipeline's run first asks whether it changed (a conditional GET
	// per attempt), which is what stalls.
	for _, sql := range []string{`REFRESH MATERIALIZED VIEW mv`, `REFRESH PIPELINE copied`} {
		took := fail("stall", sql, "08001", 3, "no response from "+doc.url()+" within 1s (after 3 attempts)")
		if took < 3*time.Second || took >= 5*time.Second {
			t.Fatalf("stall: %s took %v; three 1 s attempts take 3 s and more, the timeout is 5 s", sql, took)
		}
	}
	// 500: three attempts, then 58030 with the status.
	for _, sql := range []string{`REFRESH MATERIALIZED VIEW mv`, `REFRESH PIPELINE copied`} {
		fail("500", sql, "58030", 3, doc.url()+" answered HTTP 500 Internal Server Error (after 3 attempts)")
	}
	// Trickled: the body never goes quiet for 1 s, so only the 5 s
	// timeout can end the read, and it must end it then, not when the
	// last byte arrives. The pipeline's check is answered (its headers
	// come at once) before its read trickles: two requests.
	for _, tc := range []struct {
		sql      string
		requests int64
	}{{`REFRESH MATERIALIZED VIEW mv`, 1}, {`REFRESH PIPELINE copied`, 2}} {
		took := fail("trickle", tc.sql, "57014", tc.requests, "statement timeout")
		if took < 5*time.Second || took >= 15*time.Second {
			t.Fatalf("trickle: %s returned after %v; its timeout is 5 s (the whole body would take %v)",
				tc.sql, took, time.Duration(len(v2.body)/trickleBytes)*trickleEvery)
		}
		for _, tr := range doc.trickles(t, int(tc.requests)) {
			if tr.sent >= tr.total {
				t.Fatalf("trickle: %s: the server sent the whole body (%d bytes): the read was not stopped", tc.sql, tr.total)
			}
			t.Logf("trickle: %s: the gateway dropped a request after %d of %d bytes", tc.sql, tr.sent, tr.total)
		}
	}

	// A query under statement_timeout, run a third time: by the plan
	// cache's rules (internal/gateway/plancache.go: same text, no SET nor
	// catalog change between) the session runs the plan the first run
	// bound, and this run's timeout must reach its read.
	mustExec(t, conn, `SET statement_timeout = '2s'`)
	const count = `SELECT count(*) FROM src`
	for range 2 {
		if got := one(t, conn, count); got != fmt.Sprint(v2.rows) {
			t.Fatalf("%s: %s, want %d", count, got, v2.rows)
		}
	}
	doc.set("trickle")
	start := time.Now()
	_, err := queryText(context.Background(), conn, count)
	took := time.Since(start)
	doc.set("healthy")
	wantCode(t, "trickle: "+count+" under statement_timeout", err, "57014")
	if took < 2*time.Second || took >= 10*time.Second {
		t.Fatalf("trickle: %s under a 2 s statement_timeout returned after %v", count, took)
	}
	if tr := doc.trickles(t, 1)[0]; tr.sent >= tr.total {
		t.Fatalf("trickle: %s: the whole body was sent", count)
	}
	t.Logf("trickle: %s under statement_timeout = 2s: 57014 after %v", count, took.Round(10*time.Millisecond))
	if got := one(t, conn, count); got != fmt.Sprint(v2.rows) {
		t.Fatalf("%s after the timed-out one: %s, want %d", count, got, v2.rows)
	}
	mustExec(t, conn, `RESET statement_timeout`)

	// Recovered: v2, exactly.
	before := doc.requests.Load()
	mustExec(t, conn, `REFRESH MATERIALIZED VIEW mv`)
	if got := doc.requests.Load() - before; got != 1 {
		t.Fatalf("the healthy refresh made %d requests, want 1", got)
	}
	exact("the view after recovery", sums("mv"), v2)
	if got := mustQueryText(t, conn, `SELECT min(id), max(id) FROM mv`); !reflect.DeepEqual(got, [][]string{{"1001", "2500"}}) {
		t.Fatalf("the view's ids after recovery: %v, want 1001..2500", got)
	}
	before = doc.requests.Load()
	mustExec(t, conn, `REFRESH PIPELINE copied`)
	if got := doc.requests.Load() - before; got != 2 {
		t.Fatalf("the healthy run made %d requests, want 2 (the check and the read)", got)
	}
	both := csvDoc{rows: v1.rows + v2.rows, ids: v1.ids + v2.ids, amounts: v1.amounts + v2.amounts}
	exact("the pipeline after recovery", sums("copied"), both)
	posV2 := position()
	if !strings.Contains(posV2, `v2`) {
		t.Fatalf("the pipeline's position after v2: %s, want v2's ETag", posV2)
	}
	// Unchanged: one conditional request, 304, nothing added.
	before, not := doc.requests.Load(), doc.notModified.Load()
	mustExec(t, conn, `REFRESH PIPELINE copied`)
	if got, got304 := doc.requests.Load()-before, doc.notModified.Load()-not; got != 1 || got304 != 1 {
		t.Fatalf("the run over an unchanged document made %d requests (%d answered 304), want 1 answered 304", got, got304)
	}
	after := sums("copied")
	exact("the pipeline after the 304", after, both)
	if got := mustQueryText(t, conn, `SELECT min(id), max(id) FROM copied`); !reflect.DeepEqual(got, [][]string{{"1", "2500"}}) {
		t.Fatalf("the pipeline's ids: %v, want 1..2500", got)
	}
	if got := position(); got != posV2 {
		t.Fatalf("the pipeline's position after the 304: %s, want %s", got, posV2)
	}
	t.Logf("runs: %v", mustQueryText(t, conn, `SELECT object, status, sqlstate, rows_out FROM sluice.runs ORDER BY run_id`))
}

// trickles waits (at most 10 s) until every trickled answer begun since
// the last call has ended (the server saw its client go away), checks
// that they were n, and returns how they ended.
func (d *docServer) trickles(t *testing.T, n int) []trickled {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		begun, ended := d.trickling, d.trickled
		if begun == len(ended) {
			d.trickling, d.trickled = 0, nil
		}
		d.mu.Unlock()
		if begun == len(ended) {
			if begun != n {
				t.Fatalf("%d trickled answers, want %d", begun, n)
			}
			return ended
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d trickled answers still going 10 s after the statement ended", begun-len(ended), begun)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
