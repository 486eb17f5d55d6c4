package wire

import (
	"errors"
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
	obs Observer // told of every write
	// rows counts the rows sent as DataRow or COPY data, for the
	// Observer's QueryDone.
	rows int64
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
	n, err := m.w.Write(m.buf)
	if err != nil {
		m.err = err
	}
	if n > 0 && m.obs != nil {
		m.obs.BytesSent(n)
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
	// in receives the client's messages during COPY FROM STDIN.
	in *pgproto3.Backend
	// copyEnc is set between CopyOut and Complete.
	copyEnc *pgcodec.CopyEncoder
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
	if w.enc == nil && w.copyEnc == nil {
		return pgerr.New(pgerrcode.InternalError, "result rows written before their columns")
	}
	if w.out.err != nil {
		return w.out.err
	}
	w.out.rows += rec.NumRows()
	var err error
	if w.copyEnc != nil {
		w.out.buf, err = w.copyEnc.AppendRows(w.out.buf, rec)
	} else {
		w.out.buf, err = w.enc.AppendDataRows(w.out.buf, rec)
	}
	return errors.Join(err, w.out.maybeFlush())
}

// Complete ends the current statement with a CommandComplete.
func (w *resultWriter) Complete(tag string) error {
	if w.copyEnc != nil {
		w.out.buf = w.copyEnc.AppendTrailer(w.out.buf)
		w.out.send(&pgproto3.CopyDone{})
		w.copyEnc = nil
	}
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

// ParameterStatus sends a ParameterStatus message.
func (w *resultWriter) ParameterStatus(name, value string) error {
	w.out.send(&pgproto3.ParameterStatus{Name: name, Value: value})
	return w.out.maybeFlush()
}

// CopyOut starts COPY TO STDOUT.
func (w *resultWriter) CopyOut(cols []pgcodec.Column, opts pgcodec.CopyOptions) error {
	enc, err := pgcodec.NewCopyEncoder(cols, opts)
	if err != nil {
		return pgerr.Wrap(pgerrcode.FeatureNotSupported, err)
	}
	w.enc = nil
	w.copyEnc = enc
	w.out.send(&pgproto3.CopyOutResponse{OverallFormat: copyFormatCode(opts.Format), ColumnFormatCodes: columnFormats(len(cols), opts.Format)})
	w.out.buf = enc.AppendHeader(w.out.buf)
	return w.out.maybeFlush()
}

// CopyIn starts COPY FROM STDIN and returns the reader of its data.
func (w *resultWriter) CopyIn(ncols int, format pgcodec.CopyFormat) (io.Reader, error) {
	if w.in == nil {
		return nil, pgerr.Unsupported("COPY FROM STDIN is not possible here")
	}
	w.out.send(&pgproto3.CopyInResponse{OverallFormat: copyFormatCode(format), ColumnFormatCodes: columnFormats(ncols, format)})
	if err := w.out.flush(); err != nil {
		return nil, err
	}
	return &copyReader{in: w.in}, nil
}

func copyFormatCode(f pgcodec.CopyFormat) byte {
	if f == pgcodec.CopyBinary {
		return 1
	}
	return 0
}

func columnFormats(n int, f pgcodec.CopyFormat) []uint16 {
	codes := make([]uint16, n)
	for i := range codes {
		codes[i] = uint16(copyFormatCode(f))
	}
	return codes
}

// maxCopyMessages bounds the non-data messages tolerated during COPY FROM
// STDIN (Flush and Sync, which PostgreSQL ignores there).
const maxCopyMessages = 1 << 16

// copyReader reads the CopyData of COPY FROM STDIN until CopyDone or
// CopyFail.
type copyReader struct {
	in     *pgproto3.Backend
	buf    []byte // the unread part of the current CopyData, copied
	err    error  // sticky: io.EOF, the CopyFail or a protocol error
	others int
}

func (r *copyReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		msg, err := r.in.Receive()
		if err != nil {
			r.err = pgerr.Wrap(pgerrcode.ConnectionFailure, err)
			return 0, r.err
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			r.buf = append(r.buf[:0], m.Data...)
		case *pgproto3.CopyDone:
			r.err = io.EOF
		case *pgproto3.CopyFail:
			r.err = pgerr.New(pgerrcode.QueryCanceled, "COPY from stdin failed: %s", m.Message)
		case *pgproto3.Flush, *pgproto3.Sync:
			if r.others++; r.others > maxCopyMessages {
				r.err = protocolViolation("too many messages during COPY from stdin")
			}
		default:
			r.err = protocolViolation("unexpected message type %T during COPY from stdin", msg)
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
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
