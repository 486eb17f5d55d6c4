package gateway

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/sql"
)

// Kept answers: the fast path of constant queries. A query made of
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

// maxAnswers bounds a session's kept answers; maxAnswerText the text of
// one. When full, the answers are dropped and kept again as they come.
const (
	maxAnswers    = 64
	maxAnswerText = 1 << 10
)

// answer is a constant query's result as DuckDB gave it.
type answer struct {
	gen   planGen
	cols  []pgcodec.Column
	batch arrow.RecordBatch // nil: DuckDB returned no rows
}

// answerFor returns the answer kept for text in the current state, or nil.
func (s *session) answerFor(text string) *answer {
	a := s.answers[text]
	if a == nil {
		return nil
	}
	if a.gen != s.planGen() {
		delete(s.answers, text)
		return nil
	}
	return a
}

// keepAnswer returns rows, recording what they hold as text's answer when
// text is a constant query and they are read to their end without error.
func (s *session) keepAnswer(text string, rows rowSource) rowSource {
	if len(text) > maxAnswerText || !sql.IsConstantQuery(text) {
		return rows
	}
	return &recording{rows: rows, done: func(a *answer) {
		if s.answers == nil || len(s.answers) >= maxAnswers {
			s.answers = make(map[string]*answer)
		}
		a.gen = s.planGen()
		s.answers[text] = a
	}, a: &answer{cols: rows.Columns()}}
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
// it when the rows ended without error. A constant query has one row.
type recording struct {
	rows  rowSource
	a     *answer
	done  func(*answer)
	extra bool // more than one batch: not kept
}

func (r *recording) Columns() []pgcodec.Column { return r.rows.Columns() }
func (r *recording) Batch() arrow.RecordBatch  { return r.rows.Batch() }
func (r *recording) Err() error                { return r.rows.Err() }
func (r *recording) Close() error              { r.done = nil; return r.rows.Close() }

func (r *recording) Next() bool {
	if !r.rows.Next() {
		if r.rows.Err() == nil && r.done != nil && !r.extra {
			r.done(r.a)
		}
		r.done = nil
		return false
	}
	if r.a.batch != nil {
		r.extra = true
		return true
	}
	// DuckDB reuses the batch's memory: copy it.
	r.a.batch = copyBatch(r.rows.Batch())
	return true
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
	done bool
}

func (r *replay) Columns() []pgcodec.Column { return r.a.cols }
func (r *replay) Err() error                { return nil }
func (r *replay) Close() error              { return nil }

func (r *replay) Batch() arrow.RecordBatch {
	if r.done {
		return r.a.batch
	}
	return nil
}

func (r *replay) Next() bool {
	if r.done || r.a.batch == nil {
		r.done = true
		return false
	}
	r.done = true
	return true
}
