package wire

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// flushThreshold is the buffered output size at which results are written to
// the client while a statement is still producing them.
const flushThreshold = 256 << 10

// msgWriter buffers backend messages and writes them in large chunks. Its
// first write error is sticky: every later call reports it.
type msgWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// send appends msg to the buffer.
func (m *msgWriter) send(msg pgproto3.BackendMessage) {
	if m.err != nil {
		return
	}
	buf, err := msg.Encode(m.buf)
	if err != nil {
		m.err = err
		return
	}
	m.buf = buf
}

// pending reports whether there is unwritten output.
func (m *msgWriter) pending() bool { return len(m.buf) > 0 && m.err == nil }

// flush writes the buffer to the client.
func (m *msgWriter) flush() error {
	if m.err != nil || len(m.buf) == 0 {
		return m.err
	}
	_, err := m.w.Write(m.buf)
	if err != nil {
		m.err = err
	}
	m.reset()
	return m.err
}

// maybeFlush flushes once the buffer has grown past flushThreshold.
func (m *msgWriter) maybeFlush() error {
	if len(m.buf) >= flushThreshold {
		return m.flush()
	}
	return m.err
}

// reset drops unwritten output, releasing an oversized buffer so memory
// stays flat after a large batch.
func (m *msgWriter) reset() {
	if cap(m.buf) > 4*flushThreshold {
		m.buf = nil
		return
	}
	m.buf = m.buf[:0]
}

// resultWriter implements ResultWriter for one simple query or one portal.
type resultWriter struct {
	out *msgWriter
	// describe is set in the simple protocol, where Columns sends a
	// RowDescription; in the extended protocol only Describe does.
	describe bool
	// formats are the result format codes from Bind (0, 1 or one per
	// column); nil in the simple protocol, where everything is text.
	formats []int16
	enc     rowEncoder
}

var _ ResultWriter = (*resultWriter)(nil)

// Columns starts a row-returning result.
func (w *resultWriter) Columns(cols []pgcodec.Column) error {
	formats, err := expandFormats(w.formats, len(cols))
	if err != nil {
		return err
	}
	enc, err := newRowEncoder(cols, formats)
	if err != nil {
		return pgerr.Wrap(pgerrcode.FeatureNotSupported, err)
	}
	w.enc = enc
	if w.describe {
		w.out.send(rowDescription(cols, formats))
	}
	return w.out.maybeFlush()
}

// Rows writes every row of rec as a DataRow.
func (w *resultWriter) Rows(rec arrow.RecordBatch) error {
	if w.enc == nil {
		return pgerr.New(pgerrcode.InternalError, "result rows written before their columns")
	}
	if w.out.err != nil {
		return w.out.err
	}
	w.out.buf = w.enc.AppendDataRows(w.out.buf, rec)
	return w.out.maybeFlush()
}

// Complete ends the current statement with a CommandComplete.
func (w *resultWriter) Complete(tag string) error {
	w.enc = nil
	w.out.send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
	return w.out.maybeFlush()
}

// EmptyQuery sends an EmptyQueryResponse.
func (w *resultWriter) EmptyQuery() error {
	w.enc = nil
	w.out.send(&pgproto3.EmptyQueryResponse{})
	return w.out.maybeFlush()
}

// Notice sends a NoticeResponse.
func (w *resultWriter) Notice(n *pgerr.Error) error {
	w.out.send(noticeResponse(n))
	return w.out.maybeFlush()
}

// expandFormats turns Bind's format codes (none = all text, one for all, or
// one per column) into one code per column.
func expandFormats(codes []int16, n int) ([]int16, error) {
	out := make([]int16, n)
	switch len(codes) {
	case 0:
	case 1:
		for i := range out {
			out[i] = codes[0]
		}
	case n:
		copy(out, codes)
	default:
		return nil, protocolViolation("bind message has %d result formats but query has %d columns", len(codes), n)
	}
	return out, nil
}

// checkFormatCodes rejects format codes other than 0 (text) and 1 (binary).
func checkFormatCodes(codes []int16) error {
	for _, c := range codes {
		if c != 0 && c != 1 {
			return pgerr.New(pgerrcode.InvalidParameterValue, "unsupported format code: %d", c)
		}
	}
	return nil
}

// rowDescription describes cols with one format code per column (nil = text).
func rowDescription(cols []pgcodec.Column, formats []int16) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, col := range cols {
		fields[i] = pgproto3.FieldDescription{
			Name:         []byte(col.Name),
			DataTypeOID:  col.OID,
			DataTypeSize: col.TypeSize,
			TypeModifier: col.TypeMod,
		}
		if i < len(formats) {
			fields[i].Format = formats[i]
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}
