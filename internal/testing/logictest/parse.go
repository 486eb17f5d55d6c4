// Package logictest runs SQL logic test files (sqllogictest / CockroachDB
// logictest style) against a PostgreSQL-wire server through pgx.
//
// # File format
//
// A file is a sequence of records separated by blank lines. Lines starting
// with '#' are comments. The records:
//
//	statement ok
//	CREATE TABLE t (a INT, b TEXT)
//
//	statement count 2
//	INSERT INTO t VALUES (1, 'one'), (2, 'two')
//
//	statement error 42P01
//	SELECT * FROM missing
//
//	statement error 42601 syntax error at or near
//	SELEC 1
//
//	query IT rowsort
//	SELECT a, b FROM t
//	----
//	1 one
//	2 two
//
//	query error 42P01 does not exist
//	SELECT * FROM missing
//
//	halt
//
// The SQL of a record runs until a blank line (statements) or until "----"
// (queries); the expected rows of a query run until a blank line. A query
// without "----" expects no rows.
//
// "statement error" takes the expected SQLSTATE (or several separated by
// '|', any of which is accepted: 58P01|58030) and, optionally, the rest of
// the line as a regular expression that must match the error message.
//
// "query" takes one type letter per result column: T text (any value),
// I integer, R floating point or numeric, B boolean. A value must parse as
// its letter's type (or be NULL). The optional sort mode is nosort (the
// default: rows in the order the server sent them), rowsort (rows compared
// as sorted lines) or valuesort (all values sorted, one value per line).
//
// Values are compared as PostgreSQL text: what the server sends in text
// format, or, for columns pgx reads in binary format, the pgx text encoding
// of the decoded value (bool is t/f, timestamps 2024-11-14 08:30:00). SQL
// NULL is written NULL and the empty string (empty). Columns are separated
// by whitespace; runs of spaces and tabs compare as one space, so columns
// may be aligned.
//
// "user NAME" makes the records after it run as the role NAME, on a
// connection of its own opened at the first such record (the server must
// let the role log in; the logic tests' gateway trusts loopback clients);
// "user sluice" returns to the first connection's role. Each role's
// connection keeps its session state (transactions, settings) across
// switches.
//
// Before a record, "onlyif simple" / "onlyif extended" / "skipif simple" /
// "skipif extended" lines restrict it to (or exclude it from) one protocol:
// each file runs twice, once with pgx's default extended protocol and once
// with QueryExecModeSimpleProtocol. "halt" ends the file.
//
// In SQL and expected rows, ${TESTDATA} is replaced by the absolute path of
// the repository's testdata directory, ${TMPDIR} by a fresh temporary
// directory of the run and ${DATADIR} by the gateway's data directory (see
// Options.Vars). The gateway's file roots are the repository and the
// system's temporary directory; a line "# gateway: secrets_key http" gives it a
// secrets key and the HTTP connector.
package logictest

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Kind is a record's kind.
type Kind int

const (
	KindStatement Kind = iota // statement ok / count / error
	KindQuery                 // query <types> [sort]
	KindHalt                  // halt
	KindUser                  // user <name>
)

// SortMode says how a query's rows are compared.
type SortMode int

const (
	NoSort SortMode = iota
	RowSort
	ValueSort
)

func (s SortMode) String() string {
	switch s {
	case RowSort:
		return "rowsort"
	case ValueSort:
		return "valuesort"
	}
	return "nosort"
}

// Protocol is the query protocol a run uses.
type Protocol string

const (
	Extended Protocol = "extended" // pgx's default: Parse/Bind/Execute, binary results where pgx can
	Simple   Protocol = "simple"   // pgx.QueryExecModeSimpleProtocol
)

// Record is one record of a file.
type Record struct {
	Kind Kind
	Line int // 1-based line of the record's first line (after conditions)

	SQL string

	// Statements and "query error".
	ExpectError bool
	SQLState    string         // expected SQLSTATE when ExpectError; "A|B" accepts either
	ErrorRE     *regexp.Regexp // optional message pattern
	ExpectCount int64          // statement count N; -1 when not given

	// Queries.
	Types    string
	Sort     SortMode
	Expected []string // expected lines, as written
	// HasResults tells whether the record has a "----" line; ResultStart
	// and ResultEnd are the 0-based line indexes (end exclusive) of the
	// expected rows in the file, for -rewrite.
	HasResults  bool
	ResultStart int
	ResultEnd   int
	SQLEnd      int // 0-based index of the line after the SQL (where "----" goes)

	OnlyIf []Protocol
	SkipIf []Protocol

	// User is the role of a user record.
	User string
}

// RunsIn tells whether the record runs with protocol p.
func (r *Record) RunsIn(p Protocol) bool {
	for _, s := range r.SkipIf {
		if s == p {
			return false
		}
	}
	if len(r.OnlyIf) == 0 {
		return true
	}
	for _, o := range r.OnlyIf {
		if o == p {
			return true
		}
	}
	return false
}

// File is a parsed logic test file.
type File struct {
	Name    string
	Lines   []string // the file's lines, for -rewrite
	Records []*Record
}

// ParseError is a syntax error in a test file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Parse reads a logic test file.
func Parse(name string, r io.Reader) (*File, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := &File{Name: name, Lines: lines}
	p := &parser{f: f, lines: lines}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return f, nil
}

type parser struct {
	f     *File
	lines []string
	i     int // next line index
}

func (p *parser) errf(line int, format string, args ...any) error {
	return &ParseError{File: p.f.Name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func isComment(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "#") }

func (p *parser) parse() error {
	var onlyIf, skipIf []Protocol
	for p.i < len(p.lines) {
		line := p.lines[p.i]
		lineNo := p.i + 1
		if isBlank(line) || isComment(line) {
			p.i++
			continue
		}
		fields := strings.Fields(line)
		switch fields[0] {
		case "onlyif", "skipif":
			if len(fields) != 2 || (fields[1] != string(Simple) && fields[1] != string(Extended)) {
				return p.errf(lineNo, "%s wants one of simple, extended: %q", fields[0], line)
			}
			if fields[0] == "onlyif" {
				onlyIf = append(onlyIf, Protocol(fields[1]))
			} else {
				skipIf = append(skipIf, Protocol(fields[1]))
			}
			p.i++
			continue
		case "halt":
			p.f.Records = append(p.f.Records, &Record{Kind: KindHalt, Line: lineNo})
			return nil
		case "user":
			if len(fields) != 2 {
				return p.errf(lineNo, "user wants one role name: %q", line)
			}
			p.f.Records = append(p.f.Records, &Record{Kind: KindUser, Line: lineNo, User: fields[1]})
			p.i++
			continue
		case "statement":
			rec, err := p.statement(fields, line, lineNo)
			if err != nil {
				return err
			}
			rec.OnlyIf, rec.SkipIf = onlyIf, skipIf
			p.f.Records = append(p.f.Records, rec)
		case "query":
			rec, err := p.query(fields, line, lineNo)
			if err != nil {
				return err
			}
			rec.OnlyIf, rec.SkipIf = onlyIf, skipIf
			p.f.Records = append(p.f.Records, rec)
		default:
			return p.errf(lineNo, "unknown directive %q (want statement, query, user, onlyif, skipif, halt or # comment)", fields[0])
		}
		onlyIf, skipIf = nil, nil
	}
	if len(onlyIf)+len(skipIf) > 0 {
		return p.errf(len(p.lines), "onlyif/skipif at the end of the file applies to no record")
	}
	return nil
}

// parseError reads "<SQLSTATE> [regexp]" from the rest of a line.
func (p *parser) parseError(rec *Record, rest string, lineNo int) error {
	rest = strings.TrimSpace(rest)
	code, re, _ := strings.Cut(rest, " ")
	for _, c := range strings.Split(code, "|") {
		if !isSQLState(c) {
			return p.errf(lineNo, "want a 5-character SQLSTATE (or several separated by |) after error, got %q", code)
		}
	}
	rec.ExpectError = true
	rec.SQLState = code
	if re = strings.TrimSpace(re); re != "" {
		r, err := regexp.Compile(re)
		if err != nil {
			return p.errf(lineNo, "bad error regexp %q: %v", re, err)
		}
		rec.ErrorRE = r
	}
	return nil
}

func isSQLState(s string) bool {
	if len(s) != 5 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// afterWord returns line after its first n whitespace-separated words.
func afterWord(line string, n int) string {
	s := strings.TrimSpace(line)
	for range n {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = strings.TrimSpace(s[i:])
	}
	return s
}

func (p *parser) statement(fields []string, line string, lineNo int) (*Record, error) {
	rec := &Record{Kind: KindStatement, Line: lineNo, ExpectCount: -1}
	if len(fields) < 2 {
		return nil, p.errf(lineNo, "statement wants ok, count N or error SQLSTATE")
	}
	switch fields[1] {
	case "ok":
		if len(fields) != 2 {
			return nil, p.errf(lineNo, "unexpected text after statement ok: %q", line)
		}
	case "count":
		if len(fields) != 3 {
			return nil, p.errf(lineNo, "statement count wants one number")
		}
		n, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil || n < 0 {
			return nil, p.errf(lineNo, "bad count %q", fields[2])
		}
		rec.ExpectCount = n
	case "error":
		if err := p.parseError(rec, afterWord(line, 2), lineNo); err != nil {
			return nil, err
		}
	default:
		return nil, p.errf(lineNo, "statement wants ok, count N or error SQLSTATE, got %q", fields[1])
	}
	p.i++
	sql, err := p.sql(lineNo, false)
	if err != nil {
		return nil, err
	}
	rec.SQL = sql
	return rec, nil
}

func (p *parser) query(fields []string, line string, lineNo int) (*Record, error) {
	rec := &Record{Kind: KindQuery, Line: lineNo, ExpectCount: -1}
	if len(fields) < 2 {
		return nil, p.errf(lineNo, "query wants type letters (e.g. query IT) or error SQLSTATE")
	}
	if fields[1] == "error" {
		if err := p.parseError(rec, afterWord(line, 2), lineNo); err != nil {
			return nil, err
		}
	} else {
		rec.Types = fields[1]
		for _, c := range rec.Types {
			if !strings.ContainsRune("TIRB", c) {
				return nil, p.errf(lineNo, "bad type letter %q in %q (want T, I, R or B)", c, rec.Types)
			}
		}
		if len(fields) > 3 {
			return nil, p.errf(lineNo, "unexpected text after the sort mode: %q", line)
		}
		if len(fields) == 3 {
			switch fields[2] {
			case "nosort":
				rec.Sort = NoSort
			case "rowsort":
				rec.Sort = RowSort
			case "valuesort":
				rec.Sort = ValueSort
			default:
				return nil, p.errf(lineNo, "bad sort mode %q (want nosort, rowsort or valuesort)", fields[2])
			}
		}
	}
	p.i++
	sql, err := p.sql(lineNo, true)
	if err != nil {
		return nil, err
	}
	rec.SQL = sql
	rec.SQLEnd = p.i
	if p.i < len(p.lines) && strings.TrimSpace(p.lines[p.i]) == "----" {
		if rec.ExpectError {
			return nil, p.errf(p.i+1, "query error has no expected rows")
		}
		rec.HasResults = true
		p.i++
		rec.ResultStart = p.i
		for p.i < len(p.lines) && !isBlank(p.lines[p.i]) {
			rec.Expected = append(rec.Expected, p.lines[p.i])
			p.i++
		}
		rec.ResultEnd = p.i
	} else {
		rec.ResultStart, rec.ResultEnd = p.i, p.i
	}
	return rec, nil
}

// sql reads SQL lines until a blank line (or "----" for queries).
func (p *parser) sql(lineNo int, query bool) (string, error) {
	var b strings.Builder
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if isBlank(l) || (query && strings.TrimSpace(l) == "----") {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
		p.i++
	}
	if b.Len() == 0 {
		return "", p.errf(lineNo, "record has no SQL")
	}
	return b.String(), nil
}
