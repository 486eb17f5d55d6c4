package httpsource

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// jsonRows reads JSON content one object at a time: newline-delimited
// objects, or one top-level array of objects (told apart by the first
// byte that is not white space). json.Decoder validates each object whole;
// split then cuts it into keys and values without decoding them.
type jsonRows struct {
	dec   *json.Decoder
	array bool
	done  bool
	n     int64           // rows read
	raw   json.RawMessage // the current row (buffer reused)
	keys  [][]byte        // its keys, unquoted, in order
	vals  [][]byte        // and values, as JSON text (slices of raw)
}

func newJSONRows(r io.Reader) (*jsonRows, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := firstByte(br)
	if err == io.EOF {
		return &jsonRows{done: true}, nil
	}
	if err != nil {
		return nil, err
	}
	rows := &jsonRows{dec: json.NewDecoder(br)}
	switch first {
	case '[':
		rows.array = true
		if _, err := rows.dec.Token(); err != nil {
			return nil, rows.fail(err)
		}
	case '{':
	default:
		return nil, pgerr.New(pgerrcode.InvalidTextRepresentation,
			"JSON content must be newline-delimited objects or an array of objects; it starts with %q", first)
	}
	return rows, nil
}

// firstByte skips a UTF-8 byte order mark and white space and returns the
// next byte, left unread.
func firstByte(br *bufio.Reader) (byte, error) {
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c, br.UnreadByte()
	}
}

// next reads the next object into keys and vals; false at the end.
func (r *jsonRows) next() (bool, error) {
	if r.done {
		return false, nil
	}
	if r.array && !r.dec.More() {
		if _, err := r.dec.Token(); err != nil { // the closing ']'
			return false, r.fail(err)
		}
		r.done = true
		return false, nil
	}
	if err := r.dec.Decode(&r.raw); err != nil {
		if err == io.EOF && !r.array {
			r.done = true
			return false, nil
		}
		return false, r.fail(err)
	}
	if len(r.raw) == 0 || r.raw[0] != '{' {
		r.done = true
		return false, pgerr.New(pgerrcode.InvalidTextRepresentation, "JSON content: row %d is not an object", r.n+1)
	}
	if err := r.split(r.raw); err != nil {
		return false, r.fail(err)
	}
	r.n++
	return true, nil
}

// split cuts obj, a valid JSON object, into keys and values.
func (r *jsonRows) split(obj []byte) error {
	r.keys, r.vals = r.keys[:0], r.vals[:0]
	i := skipSpace(obj, 1)
	if obj[i] == '}' {
		return nil
	}
	for {
		end := stringEnd(obj, i)
		key := obj[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if err := json.Unmarshal(obj[i:end], &k); err != nil {
				return err
			}
			key = []byte(k)
		}
		i = skipSpace(obj, skipSpace(obj, end)+1) // past the ':'
		vend := valueEnd(obj, i)
		r.keys = append(r.keys, key)
		r.vals = append(r.vals, obj[i:vend])
		i = skipSpace(obj, vend)
		if obj[i] != ',' {
			return nil // the closing '}'
		}
		i = skipSpace(obj, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd is the index after the string starting at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// valueEnd is the index after the value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\r' && b[j] != '\n' {
		j++
	}
	return j
}

// fail gives a decoding error its SQLSTATE; read errors keep theirs.
func (r *jsonRows) fail(err error) error {
	r.done = true
	var pe *pgerr.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errorf(pgerrcode.InvalidTextRepresentation, err, "JSON content ends inside row %d", r.n+1)
	}
	return errorf(pgerrcode.InvalidTextRepresentation, err, "JSON content: row %d, byte %d: %v", r.n+1, r.dec.InputOffset(), err)
}

// inferJSON infers the columns from up to limit rows: in the order keys
// first appear, each typed by the kinds of its values (see field).
func inferJSON(rows *jsonRows, limit int) (*arrow.Schema, error) {
	var (
		names []string
		kinds []kind
		index = map[string]int{}
	)
	for i := 0; i < limit; i++ {
		ok, err := rows.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		for j, k := range rows.keys {
			c, seen := index[string(k)]
			if !seen {
				c = len(names)
				index[string(k)] = c
				names = append(names, string(k))
				kinds = append(kinds, 0)
			}
			kinds[c] |= kindOf(rows.vals[j])
		}
	}
	if len(names) == 0 {
		return nil, pgerr.New(pgerrcode.InvalidTextRepresentation, "cannot infer columns: the JSON content holds no object with a key")
	}
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = field(n, kinds[i])
	}
	return arrow.NewSchema(fields, nil), nil
}

// jsonReader builds record batches from JSON content: each object's keys
// fill the columns of the same name; missing keys are nulls and keys the
// schema lacks are ignored.
type jsonReader struct {
	batchReader
	rows  *jsonRows
	index map[string]int
	app   []func(array.Builder, []byte) error
	at    []int // per column, the current row's value index, -1 if none
}

func newJSONReader(ctx context.Context, schema *arrow.Schema, alloc memory.Allocator, body io.ReadCloser) (*jsonReader, error) {
	rows, err := newJSONRows(body)
	if err != nil {
		body.Close()
		return nil, err
	}
	r := &jsonReader{batchReader: newBatchReader(ctx, schema, alloc, body), rows: rows, index: map[string]int{}}
	for i, f := range schema.Fields() {
		if _, dup := r.index[f.Name]; !dup {
			r.index[f.Name] = i
		}
		r.app = append(r.app, jsonAppender(f))
		r.at = append(r.at, -1)
	}
	return r, nil
}

func (r *jsonReader) Next() (arrow.RecordBatch, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.ctx.Err() != nil {
		r.err = canceled(r.ctx, "the read")
		return nil, r.err
	}
	n := 0
	for n < batchRows {
		ok, err := r.rows.next()
		if err != nil {
			r.err = err
			return nil, err
		}
		if !ok {
			break
		}
		for i := range r.at {
			r.at[i] = -1
		}
		for j, k := range r.rows.keys {
			if c, ok := r.index[string(k)]; ok {
				r.at[c] = j
			}
		}
		for c, j := range r.at {
			b := r.bld.Field(c)
			if j < 0 || r.rows.vals[j][0] == 'n' {
				b.AppendNull()
				continue
			}
			if err := r.app[c](b, r.rows.vals[j]); err != nil {
				r.err = valueError(r.schema.Field(c).Name, r.rows.n, err)
				return nil, r.err
			}
		}
		n++
		if err := r.rowDone(n); err != nil {
			return nil, err
		}
	}
	return r.batch(n)
}

// valueError is a value that does not fit its column.
func valueError(column string, row int64, err error) error {
	e := errorf(pgerrcode.InvalidTextRepresentation, err, "column %q, row %d: %v", column, row, err)
	e.(*pgerr.Error).Hint = fmt.Sprintf("the column types were inferred when the source was created, from its first %d rows", inferRows)
	return e
}
