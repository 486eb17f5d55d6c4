package gateway

import (
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/sql"
)

// Kept answers: the fast path of constant queries and of catalog reads
// (catalogreads.go, which says when a query is one). A query made of
// literals only (SELECT 1, SELECT 'x'::text AS name, the SELECT that
// answers SHOW of a setting the session keeps: sql.IsConstantQuery) reads
// nothing but its text, so once DuckDB has answered it, the same text
// bound in the same state (planGen: the catalog's generation and the
// session's epoch, which SET, RESET, PRAGMA and the like move, as for kept
// plans) has the same answer: the same columns (names, types, type
// modifiers) and the same row. The session keeps that answer, as DuckDB
// gave it (its Arrow columns, copied), and replays it through the same
// cursor and ResultWriter as a DuckDB result: the wire layer encodes it in
// the formats the client asked for, exactly as it encodes DuckDB's.
//
// Nothing is skipped but DuckDB: the statement is still authorized
// (authorize), refused in a failed transaction block, counted by the
// wire's observer and timed by statement_timeout like any other. An
// answer is kept only from a run that succeeded to its end.
//
// A catalog read's answer is kept the same way, with the larger state it
// depends on (answerKey), all its rows up to maxAnswerBytes, and the
// values of its parameters as part of what it is kept under.

// maxAnswers bounds a session's kept answers; maxAnswerText the text of
// one constant query; maxAnswerBytes the rows of one answer and
// maxSessionAnswerBytes those of all a session keeps. When full, the
// answers are dropped and kept again as they come.
const (
	maxAnswers            = 64
	maxAnswerText         = 1 << 10
	maxAnswerBytes        = 1 << 20
	maxSessionAnswerBytes = 8 << 20
)

// answerKey is the state an answer was computed in. A constant query's
// answer depends on plan only; a catalog read's (catalogreads.go) on all of
// it.
type answerKey struct {
	plan    planGen
	changes uint64 // the catalog's change count
	writes  uint64 // the gateway's count of writes
}

// answerKey returns the current state. It is read before DuckDB runs the
// query whose answer is kept under it.
func (s *session) answerKey() answerKey {
	return answerKey{plan: s.planGen(), changes: s.g.cat.Changes(), writes: s.g.writes.Load()}
}

// answer is a query's result as DuckDB gave it.
type answer struct {
	key     answerKey
	catalog bool // a catalog read: key.changes and key.writes count
	cols    []pgcodec.Column
	batches []arrow.RecordBatch
	bytes   int
}

// answerText is what an answer is kept under: the query's text, and when
// it has parameters their types (oids, as the client declared them: they
// decide the result's types) and values (only catalog reads with
// parameters are kept). ok is false for a parameter of a kind not encoded.
func answerText(text string, oids []uint32, args []any) (key string, ok bool) {
	if len(args) == 0 {
		return text, true
	}
	var b strings.Builder
	b.WriteString(text)
	for _, o := range oids {
		b.WriteString("\x00o" + strconv.FormatUint(uint64(o), 10))
	}
	for _, a := range args {
		b.WriteByte(0)
		switch v := a.(type) {
		case nil:
			b.WriteString("n")
		case string: // length-prefixed: a value may hold the separator
			b.WriteString("s" + strconv.Itoa(len(v)) + ":" + v)
		case []byte:
			b.WriteString("b" + strconv.Itoa(len(v)) + ":" + string(v))
		case bool:
			b.WriteString("t" + strconv.FormatBool(v))
		case int64:
			b.WriteString("i" + strconv.FormatInt(v, 10))
		case int32:
			b.WriteString("i" + strconv.FormatInt(int64(v), 10))
		case int16:
			b.WriteString("i" + strconv.FormatInt(int64(v), 10))
		case float64:
			b.WriteString("f" + strconv.FormatFloat(v, 'g', -1, 64))
		case float32:
			b.WriteString("g" + strconv.FormatFloat(float64(v), 'g', -1, 32))
		default:
			return "", false
		}
	}
	return b.String(), true
}

// answerFor returns the answer kept under key in state now, or nil: the
// session's own, or one shared by a session started alike.
func (s *session) answerFor(key string, now answerKey) *answer {
	a := s.answers[key]
	if a != nil && (a.key.plan != now.plan || a.catalog && a.key != now) {
		s.dropAnswer(key, a)
		a = nil
	}
	if a == nil && s.shares() {
		a = s.g.shared.get(s.startedAs+"\x00"+key, now)
	}
	return a
}

// shares reports whether the session's answers are those of every session
// started with the same role and parameters: nothing it ran changed its
// own state (SET, DDL, a temporary object), and it is not in a transaction
// block (whose snapshot may be older than the state).
func (s *session) shares() bool { return !s.changed && !s.created && s.tx == txIdle }

// sharedAnswers are catalog reads' answers kept for all the sessions
// started alike, under the role and startup parameters they started with
// (session.startedAs) and the query's key: what a pool of BI connections,
// or a client connecting for each query, asks again and again. An entry
// holds while the catalog's generation and change count and the count of
// writes are as they were; the session epoch, which counts only a
// session's own changes, is not compared (shares excludes sessions that
// made any).
type sharedAnswers struct {
	mu    sync.Mutex
	m     map[string]*answer
	bytes int
}

// Bounds of the shared answers, as a session's.
const (
	maxSharedAnswers     = 512
	maxSharedAnswerBytes = 32 << 20
)

func (c *sharedAnswers) get(key string, now answerKey) *answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.m[key]
	if a == nil {
		return nil
	}
	if a.key.plan.catalog != now.plan.catalog || a.key.changes != now.changes || a.key.writes != now.writes {
		delete(c.m, key)
		c.bytes -= a.bytes
		return nil
	}
	return a
}

func (c *sharedAnswers) put(key string, a *answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[key]; old != nil {
		delete(c.m, key)
		c.bytes -= old.bytes
	}
	if c.m == nil || len(c.m) >= maxSharedAnswers || c.bytes+a.bytes > maxSharedAnswerBytes {
		c.m, c.bytes = make(map[string]*answer), 0
	}
	c.m[key] = a
	c.bytes += a.bytes
}

func (s *session) dropAnswer(key string, a *answer) {
	delete(s.answers, key)
	s.answerBytes -= a.bytes
}

// keepAnswer returns rows, recording what they hold as the answer kept
// under key in state at when they are read to their end without error:
// when the query is a catalog read, or a constant query without
// parameters (text is then the whole key).
func (s *session) keepAnswer(key string, at answerKey, catalog, params bool, rows rowSource) rowSource {
	if !catalog && (params || len(key) > maxAnswerText || !sql.IsConstantQuery(key)) {
		return rows
	}
	shared := catalog && s.shares() // as the query started
	return &recording{rows: rows, done: func(a *answer) {
		if shared {
			s.g.shared.put(s.startedAs+"\x00"+key, a) // read only from now on
		}
		if old := s.answers[key]; old != nil {
			s.dropAnswer(key, old)
		}
		if s.answers == nil || len(s.answers) >= maxAnswers || s.answerBytes+a.bytes > maxSessionAnswerBytes {
			s.answers, s.answerBytes = make(map[string]*answer), 0
		}
		s.answers[key] = a
		s.answerBytes += a.bytes
	}, a: &answer{key: at, catalog: catalog, cols: rows.Columns()}}
}

// rowSource is what a cursor streams: DuckDB's rows (*engine.Rows) or a
// kept answer.
type rowSource interface {
	Columns() []pgcodec.Column
	Next() bool
	Batch() arrow.RecordBatch
	Err() error
	Close() error
}

// recording passes rows through, copying them into an answer; done gets
// it when the rows ended without error. A constant query has one row; a
// catalog read's rows are kept up to maxAnswerBytes.
type recording struct {
	rows rowSource
	a    *answer
	done func(*answer)
	over bool // too large (or, for a constant query, more than one batch): not kept
}

func (r *recording) Columns() []pgcodec.Column { return r.rows.Columns() }
func (r *recording) Batch() arrow.RecordBatch  { return r.rows.Batch() }
func (r *recording) Err() error                { return r.rows.Err() }
func (r *recording) Close() error              { r.done = nil; return r.rows.Close() }

func (r *recording) Next() bool {
	if !r.rows.Next() {
		if r.rows.Err() == nil && r.done != nil && !r.over {
			r.done(r.a)
		}
		r.done = nil
		return false
	}
	if r.over {
		return true
	}
	if !r.a.catalog && len(r.a.batches) > 0 {
		r.over = true
		return true
	}
	rec := r.rows.Batch()
	if n := batchBytes(rec); r.a.bytes+n <= maxAnswerBytes {
		// DuckDB reuses the batch's memory: copy it.
		r.a.batches = append(r.a.batches, copyBatch(rec))
		r.a.bytes += n
	} else {
		r.over, r.a.batches = true, nil
	}
	return true
}

// batchBytes is the size of rec's buffers.
func batchBytes(rec arrow.RecordBatch) int {
	n := 0
	var walk func(d arrow.ArrayData)
	walk = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			if b != nil {
				n += b.Len()
			}
		}
		for _, c := range d.Children() {
			walk(c)
		}
	}
	for _, c := range rec.Columns() {
		walk(c.Data())
	}
	return n
}

// copyBatch returns a copy of rec in memory of its own.
func copyBatch(rec arrow.RecordBatch) arrow.RecordBatch {
	cols := make([]arrow.Array, rec.NumCols())
	for i := range cols {
		c, err := array.Concatenate([]arrow.Array{rec.Column(i)}, memory.DefaultAllocator)
		if err != nil {
			panic(err) // only on mismatched types, impossible for one array
		}
		cols[i] = c
	}
	return array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
}

// replay streams a kept answer.
type replay struct {
	a    *answer
	next int // the batch Next moves to
}

func (r *replay) Columns() []pgcodec.Column { return r.a.cols }
func (r *replay) Err() error                { return nil }
func (r *replay) Close() error              { return nil }

func (r *replay) Batch() arrow.RecordBatch {
	if r.next == 0 || r.next > len(r.a.batches) {
		return nil
	}
	return r.a.batches[r.next-1]
}

func (r *replay) Next() bool {
	if r.next >= len(r.a.batches) {
		r.next = len(r.a.batches) + 1
		return false
	}
	r.next++
	return true
}
