package pgcodec

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
)

// CopyFormat is the data format of COPY TO STDOUT / FROM STDIN.
type CopyFormat int

const (
	CopyText   CopyFormat = iota // PostgreSQL's text COPY format
	CopyCSV                      // CSV
	CopyBinary                   // PGCOPY binary format
)

// CopyOptions describe how COPY rows are written.
type CopyOptions struct {
	Format    CopyFormat
	Header    bool   // CSV: a first line of column names
	Delimiter byte   // '\t' for text, ',' for CSV
	Null      string // `\N` for text, "" for CSV
	Quote     byte   // CSV quote, '"'
	Escape    byte   // CSV escape, '"'
}

// DefaultCopyOptions returns PostgreSQL's defaults for format f.
func DefaultCopyOptions(f CopyFormat) CopyOptions {
	switch f {
	case CopyCSV:
		return CopyOptions{Format: f, Delimiter: ',', Quote: '"', Escape: '"'}
	default:
		return CopyOptions{Format: f, Delimiter: '\t', Null: `\N`}
	}
}

// binaryCopySignature starts PGCOPY data: signature, flags, extension length.
var binaryCopySignature = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// CopyEncoder encodes Arrow record batches as the CopyData messages of COPY
// TO STDOUT, reusing the DataRow encoders' text and binary forms of each
// value. Like PostgreSQL's copy-out, it sends one CopyData message per row
// (clients such as psycopg's Copy.rows() read a message as a row); the
// binary format's signature rides in the first message and its trailer in a
// message of its own, and a CSV header line is a message of its own, as
// PostgreSQL sends them.
type CopyEncoder struct {
	row     *RowEncoder
	opts    CopyOptions
	scratch []byte
	// signature is set while the binary signature is still to be sent, at
	// the start of the next message.
	signature bool
}

// NewCopyEncoder returns the encoder of COPY data for cols.
func NewCopyEncoder(cols []Column, opts CopyOptions) (*CopyEncoder, error) {
	var formats []int16
	if opts.Format == CopyBinary {
		formats = []int16{1}
	}
	row, err := NewRowEncoder(cols, formats)
	if err != nil {
		return nil, err
	}
	return &CopyEncoder{row: row, opts: opts, signature: opts.Format == CopyBinary}, nil
}

// beginMessage appends the start of a CopyData message (its length is
// filled in by endMessage) and the binary signature if it is still due.
func (e *CopyEncoder) beginMessage(dst []byte) []byte {
	dst = append(dst, 'd', 0, 0, 0, 0)
	if e.signature {
		e.signature = false
		dst = append(dst, binaryCopySignature...)
	}
	return dst
}

// endMessage sets the length of the CopyData message starting at start.
func endMessage(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
	return dst
}

// AppendHeader appends the CopyData message that precedes the rows, if
// any: the CSV header line. (The binary signature goes out with the first
// row, or with the trailer when there is none.)
func (e *CopyEncoder) AppendHeader(dst []byte) []byte {
	if e.opts.Format != CopyCSV || !e.opts.Header {
		return dst
	}
	start := len(dst)
	dst = e.beginMessage(dst)
	for i, c := range e.row.cols {
		if i > 0 {
			dst = append(dst, e.opts.Delimiter)
		}
		dst = e.appendCSV(dst, []byte(c.Name))
	}
	return endMessage(append(dst, '\n'), start)
}

// AppendTrailer appends the CopyData message that follows the rows, if
// any: the binary format's -1 (after the signature when no row was sent).
func (e *CopyEncoder) AppendTrailer(dst []byte) []byte {
	if e.opts.Format != CopyBinary {
		return dst
	}
	start := len(dst)
	dst = e.beginMessage(dst)
	return endMessage(append(dst, 0xff, 0xff), start)
}

// AppendRows appends one CopyData message per row of rec. A row whose
// message would exceed MaxMessageLen is not appended: dst holds the rows
// before it, and the error is 54000.
func (e *CopyEncoder) AppendRows(dst []byte, rec arrow.RecordBatch) ([]byte, error) {
	r := e.row
	nc := len(r.cols)
	for c := range nc {
		arr := rec.Column(c)
		r.fns[c] = r.appender(c, arr)
		r.nulls[c] = nil
		if arr.NullN() > 0 {
			r.nulls[c] = arr
		}
	}
	for i := range int(rec.NumRows()) {
		start := len(dst)
		dst = e.beginMessage(dst)
		if e.opts.Format == CopyBinary {
			dst = append(dst, byte(nc>>8), byte(nc))
		}
		for c, fn := range r.fns {
			null := r.nulls[c] != nil && r.nulls[c].IsNull(i)
			switch e.opts.Format {
			case CopyBinary:
				if null {
					dst = append(dst, 0xff, 0xff, 0xff, 0xff)
					continue
				}
				lp := len(dst)
				dst = fn(append(dst, 0, 0, 0, 0), i)
				binary.BigEndian.PutUint32(dst[lp:], uint32(len(dst)-lp-4))
				continue
			}
			if c > 0 {
				dst = append(dst, e.opts.Delimiter)
			}
			if null {
				dst = append(dst, e.opts.Null...)
				continue
			}
			e.scratch = fn(e.scratch[:0], i)
			if e.opts.Format == CopyCSV {
				dst = e.appendCSV(dst, e.scratch)
			} else {
				dst = e.appendText(dst, e.scratch)
			}
		}
		if e.opts.Format != CopyBinary {
			dst = append(dst, '\n')
		}
		if n := len(dst) - start - 1; n > maxMessageLen {
			return dst[:start], tooLong("CopyData", n)
		}
		dst = endMessage(dst, start)
	}
	return dst, nil
}

// appendText appends v with the text format's backslash escapes.
func (e *CopyEncoder) appendText(dst, v []byte) []byte {
	for _, b := range v {
		switch b {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if b == e.opts.Delimiter {
				dst = append(dst, '\\')
			}
			dst = append(dst, b)
		}
	}
	return dst
}

// appendCSV appends v, quoted when it holds the delimiter, a quote, a line
// break, or could be read as NULL.
func (e *CopyEncoder) appendCSV(dst, v []byte) []byte {
	q := len(v) == 0 || string(v) == e.opts.Null
	for _, b := range v {
		if b == e.opts.Delimiter || b == e.opts.Quote || b == e.opts.Escape || b == '\n' || b == '\r' {
			q = true
			break
		}
	}
	if !q {
		return append(dst, v...)
	}
	dst = append(dst, e.opts.Quote)
	for _, b := range v {
		if b == e.opts.Quote || b == e.opts.Escape {
			dst = append(dst, e.opts.Escape)
		}
		dst = append(dst, b)
	}
	return append(dst, e.opts.Quote)
}
