package httpsource

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// csvRows reads CSV content one record at a time.
type csvRows struct {
	r *csv.Reader
}

func newCSV(r io.Reader, delim rune) *csvRows {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.ReuseRecord = true
	return &csvRows{r: cr}
}

// next returns the next record (valid until the next call), nil at the end.
func (c *csvRows) next() ([]string, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		var pe *pgerr.Error
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, errorf(pgerrcode.BadCopyFileFormat, err, "CSV content: %v", err)
	}
	return rec, nil
}

func (c *csvRows) checkWidth(rec []string, width int) error {
	if len(rec) == width {
		return nil
	}
	line, _ := c.r.FieldPos(0)
	return pgerr.New(pgerrcode.BadCopyFileFormat, "CSV content: line %d has %d fields, want %d", line, len(rec), width)
}

// columnNames are the header's names, with empty ones named columnN and
// repeated ones suffixed _1, _2 ... (as DuckDB names them).
func columnNames(header []string) []string {
	names := make([]string, len(header))
	seen := map[string]bool{}
	for i, n := range header {
		if n == "" {
			n = fmt.Sprintf("column%d", i)
		}
		for k, base := 1, n; seen[n]; k++ {
			n = fmt.Sprintf("%s_%d", base, k)
		}
		seen[n] = true
		names[i] = n
	}
	return names
}

// inferCSV infers the columns from the header (or names them column0,
// column1 ...) and types them from up to limit records: bigint, double,
// boolean, date, timestamp (with a zone: UTC) or text; an empty field is
// null.
func inferCSV(rows *csvRows, header bool, limit int) (*arrow.Schema, error) {
	first, err := rows.next()
	if err != nil {
		return nil, err
	}
	if first == nil {
		return nil, pgerr.New(pgerrcode.BadCopyFileFormat, "cannot infer columns: the CSV content is empty")
	}
	width := len(first)
	kinds := make([]kind, width)
	var names []string
	if header {
		names = columnNames(first)
	} else {
		names = make([]string, width)
		for i := range names {
			names[i] = fmt.Sprintf("column%d", i)
		}
		for i, v := range first {
			kinds[i] |= textKind(v)
		}
		limit--
	}
	for i := 0; i < limit; i++ {
		rec, err := rows.next()
		if err != nil {
			return nil, err
		}
		if rec == nil {
			break
		}
		if err := rows.checkWidth(rec, width); err != nil {
			return nil, err
		}
		for j, v := range rec {
			kinds[j] |= textKind(v)
		}
	}
	fields := make([]arrow.Field, width)
	for i, n := range names {
		fields[i] = field(n, kinds[i])
	}
	return arrow.NewSchema(fields, nil), nil
}

// csvReader builds record batches from CSV content. With a header, columns
// are matched by name (a column the content lacks is null); without, by
// position.
type csvReader struct {
	batchReader
	rows   *csvRows
	header bool
	app    []func(array.Builder, string) error
	src    []int // per column, its field in a record, -1 if none
	width  int
	line   int64
}

func newCSVReader(ctx context.Context, schema *arrow.Schema, alloc memory.Allocator, body io.ReadCloser, delim rune, header bool) (*csvReader, error) {
	r := &csvReader{batchReader: newBatchReader(ctx, schema, alloc, body), rows: newCSV(body, delim), header: header, width: -1}
	for i, f := range schema.Fields() {
		r.app = append(r.app, textAppender(f))
		r.src = append(r.src, i)
	}
	return r, nil
}

// start reads the header, if any, and matches its names to the columns.
func (r *csvReader) start() error {
	r.width = len(r.src)
	if !r.header {
		return nil
	}
	rec, err := r.rows.next()
	if err != nil || rec == nil {
		return err
	}
	r.width = len(rec)
	at := map[string]int{}
	for i, n := range columnNames(rec) {
		at[n] = i
	}
	for c, f := range r.schema.Fields() {
		i, ok := at[f.Name]
		if !ok {
			i = -1
		}
		r.src[c] = i
	}
	return nil
}

func (r *csvReader) Next() (arrow.RecordBatch, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.ctx.Err() != nil {
		r.err = canceled(r.ctx, "the read")
		return nil, r.err
	}
	if r.width < 0 {
		if r.err = r.start(); r.err != nil {
			return nil, r.err
		}
	}
	n := 0
	for n < batchRows {
		rec, err := r.rows.next()
		if err != nil {
			r.err = err
			return nil, err
		}
		if rec == nil {
			break
		}
		r.line++
		if err := r.rows.checkWidth(rec, r.width); err != nil {
			r.err = err
			return nil, err
		}
		for c, j := range r.src {
			b := r.bld.Field(c)
			if j < 0 || rec[j] == "" {
				b.AppendNull()
				continue
			}
			if err := r.app[c](b, rec[j]); err != nil {
				r.err = valueError(r.schema.Field(c).Name, r.line, err)
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
