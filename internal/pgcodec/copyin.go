package pgcodec

// COPY ... FROM STDIN (FORMAT binary): PostgreSQL's binary COPY format
// (the "Binary Format" section of the COPY reference) decoded tuple by
// tuple, and each value turned into the text that DuckDB casts to the
// column's type.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// maxCopyField bounds one field of binary COPY data, as PostgreSQL's
// MaxAllocSize does (1 GB).
const maxCopyField = 1<<30 - 1

// BinaryCopyReader reads PGCOPY data: the header, tuples of
// length-prefixed fields, and the trailer. Its errors are 22P04
// (bad_copy_file_format) for a malformed stream; errors of the underlying
// reader (such as the client's CopyFail) are returned as they are.
type BinaryCopyReader struct {
	r      *bufio.Reader
	ncols  int
	row    int64
	bufs   []bytes.Buffer
	fields [][]byte
	done   bool
}

// NewBinaryCopyReader returns a reader of tuples of ncols fields.
func NewBinaryCopyReader(r io.Reader, ncols int) *BinaryCopyReader {
	return &BinaryCopyReader{
		r:      bufio.NewReaderSize(r, 64<<10),
		ncols:  ncols,
		bufs:   make([]bytes.Buffer, ncols),
		fields: make([][]byte, ncols),
	}
}

// Row is the 1-based number of the tuple last read (0 before the first).
func (b *BinaryCopyReader) Row() int64 { return b.row }

func badCopy(format string, args ...any) *pgerr.Error {
	return pgerr.New(pgerrcode.BadCopyFileFormat, format, args...)
}

// rowError gives e the tuple it happened in.
func (b *BinaryCopyReader) rowError(e *pgerr.Error) *pgerr.Error {
	e.Detail = "COPY line " + strconv.FormatInt(b.row, 10)
	return e
}

// readFull reads len(p) bytes; a short read at the end of the data is
// io.ErrUnexpectedEOF (io.EOF when nothing at all was read).
func (b *BinaryCopyReader) readFull(p []byte) error {
	_, err := io.ReadFull(b.r, p)
	return err
}

// ReadHeader reads and checks the signature, the flags and the header
// extension (which is skipped).
func (b *BinaryCopyReader) ReadHeader() error {
	var sig [11]byte
	if err := b.readFull(sig[:]); err != nil {
		if isEOF(err) {
			return badCopy("COPY file signature not recognized")
		}
		return err
	}
	if !bytes.Equal(sig[:], binaryCopySignature[:11]) {
		return badCopy("COPY file signature not recognized")
	}
	var word [4]byte
	if err := b.readFull(word[:]); err != nil {
		if isEOF(err) {
			return badCopy("invalid COPY file header (missing flags)")
		}
		return err
	}
	flags := binary.BigEndian.Uint32(word[:])
	if flags&(1<<16) != 0 {
		return badCopy("invalid COPY file header (WITH OIDS)")
	}
	if flags>>17 != 0 {
		return badCopy("unrecognized critical flags in COPY file header")
	}
	if err := b.readFull(word[:]); err != nil {
		if isEOF(err) {
			return badCopy("invalid COPY file header (missing length)")
		}
		return err
	}
	ext := int32(binary.BigEndian.Uint32(word[:]))
	if ext < 0 {
		return badCopy("invalid COPY file header (bad length)")
	}
	if n, err := io.CopyN(io.Discard, b.r, int64(ext)); n != int64(ext) {
		if err == nil || isEOF(err) {
			return badCopy("invalid COPY file header (wrong length)")
		}
		return err
	}
	return nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }

// Next reads the next tuple. It returns ok = false at the trailer, or at
// the end of the data right after a tuple (which PostgreSQL accepts too).
// fields[i] is nil for NULL; the slices are valid until the next call.
func (b *BinaryCopyReader) Next() (fields [][]byte, ok bool, err error) {
	if b.done {
		return nil, false, nil
	}
	b.row++
	var word [4]byte
	if err := b.readFull(word[:2]); err != nil {
		if errors.Is(err, io.EOF) {
			b.done = true
			return nil, false, nil
		}
		if isEOF(err) {
			return nil, false, b.rowError(badCopy("unexpected EOF in COPY data"))
		}
		return nil, false, err
	}
	count := int16(binary.BigEndian.Uint16(word[:2]))
	if count == -1 {
		b.done = true
		// Nothing may follow the trailer.
		if _, err := b.r.ReadByte(); err == nil {
			return nil, false, badCopy("received copy data after EOF marker")
		} else if !errors.Is(err, io.EOF) {
			return nil, false, err
		}
		return nil, false, nil
	}
	if int(count) != b.ncols {
		return nil, false, b.rowError(badCopy("row field count is %d, expected %d", count, b.ncols))
	}
	for i := range b.fields {
		if err := b.readFull(word[:]); err != nil {
			if isEOF(err) {
				return nil, false, b.rowError(badCopy("unexpected EOF in COPY data"))
			}
			return nil, false, err
		}
		n := int32(binary.BigEndian.Uint32(word[:]))
		switch {
		case n == -1:
			b.fields[i] = nil
			continue
		case n < -1 || n > maxCopyField:
			return nil, false, b.rowError(badCopy("invalid field size"))
		}
		buf := &b.bufs[i]
		buf.Reset()
		// CopyN grows the buffer as data arrives, so a length larger than
		// the data sent allocates no more than the data.
		if got, err := io.CopyN(buf, b.r, int64(n)); got != int64(n) {
			if err == nil || isEOF(err) {
				return nil, false, b.rowError(badCopy("unexpected EOF in COPY data"))
			}
			return nil, false, err
		}
		b.fields[i] = buf.Bytes()
	}
	return b.fields, true, nil
}

// AppendCastText appends the text form of v, a value in the binary send
// format of type oid, that DuckDB casts to the column's type: PostgreSQL's
// text form for most types, DuckDB's \xNN escapes for bytea. Types without
// a binary form of their own here (text, varchar, json, and DuckDB types
// sent as text) are text already and must be valid UTF-8. A value of the
// wrong size is 22P03, as in PostgreSQL.
func AppendCastText(dst []byte, oid uint32, v []byte) ([]byte, error) {
	be := binary.BigEndian
	size := func(n int) error {
		if len(v) != n {
			return pgerr.New(pgerrcode.InvalidBinaryRepresentation, "incorrect binary data format: %s needs %d bytes, got %d", typeName(oid), n, len(v))
		}
		return nil
	}
	switch oid {
	case BoolOID:
		if err := size(1); err != nil {
			return dst, err
		}
		return strconv.AppendBool(dst, v[0] != 0), nil
	case Int2OID:
		if err := size(2); err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(int16(be.Uint16(v))), 10), nil
	case Int4OID:
		if err := size(4); err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(int32(be.Uint32(v))), 10), nil
	case Int8OID:
		if err := size(8); err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, int64(be.Uint64(v)), 10), nil
	case Float4OID:
		if err := size(4); err != nil {
			return dst, err
		}
		return appendCastFloat(dst, float64(math.Float32frombits(be.Uint32(v))), 32), nil
	case Float8OID:
		if err := size(8); err != nil {
			return dst, err
		}
		return appendCastFloat(dst, math.Float64frombits(be.Uint64(v)), 64), nil
	case NumericOID:
		s, err := decodeNumericBinary(v)
		if err != nil {
			return dst, pgerr.New(pgerrcode.InvalidBinaryRepresentation, "incorrect binary data format: numeric")
		}
		return append(dst, s.(string)...), nil
	case DateOID:
		if err := size(4); err != nil {
			return dst, err
		}
		switch d := int32(be.Uint32(v)); d {
		case math.MaxInt32:
			return append(dst, "infinity"...), nil
		case math.MinInt32:
			return append(dst, "-infinity"...), nil
		default:
			return appendCastBC(appendDateText(dst, int64(d)+unixToPGDays), len(dst)), nil
		}
	case TimeOID:
		if err := size(8); err != nil {
			return dst, err
		}
		us := int64(be.Uint64(v))
		if us < 0 || us > microsPerDay {
			return dst, pgerr.New(pgerrcode.InvalidBinaryRepresentation, "time out of range")
		}
		return appendClock(dst, us), nil
	case TimetzOID:
		if err := size(12); err != nil {
			return dst, err
		}
		us := int64(be.Uint64(v))
		if us < 0 || us > microsPerDay {
			return dst, pgerr.New(pgerrcode.InvalidBinaryRepresentation, "time out of range")
		}
		// PostgreSQL sends the zone in seconds west of UTC.
		return appendTimetzText(dst, us, -int32(be.Uint32(v[8:]))), nil
	case TimestampOID, TimestamptzOID:
		if err := size(8); err != nil {
			return dst, err
		}
		switch us := int64(be.Uint64(v)); us {
		case math.MaxInt64:
			return append(dst, "infinity"...), nil
		case math.MinInt64:
			return append(dst, "-infinity"...), nil
		default:
			if us > math.MaxInt64-unixToPGMicros {
				return dst, pgerr.New(pgerrcode.DatetimeFieldOverflow, "timestamp out of range")
			}
			return appendCastBC(appendTimestampText(dst, us+unixToPGMicros, oid == TimestamptzOID), len(dst)), nil
		}
	case IntervalOID:
		if err := size(16); err != nil {
			return dst, err
		}
		dst = strconv.AppendInt(dst, int64(int32(be.Uint32(v[12:]))), 10)
		dst = append(dst, " months "...)
		dst = strconv.AppendInt(dst, int64(int32(be.Uint32(v[8:]))), 10)
		dst = append(dst, " days "...)
		dst = strconv.AppendInt(dst, int64(be.Uint64(v)), 10)
		return append(dst, " microseconds"...), nil
	case UUIDOID:
		if err := size(16); err != nil {
			return dst, err
		}
		return appendUUIDText(dst, v), nil
	case ByteaOID:
		const digits = "0123456789ABCDEF"
		for _, c := range v {
			dst = append(dst, '\\', 'x', digits[c>>4], digits[c&15])
		}
		return dst, nil
	}
	if !utf8.Valid(v) || bytes.IndexByte(v, 0) >= 0 {
		return dst, pgerr.New(pgerrcode.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"")
	}
	return append(dst, v...), nil
}

// appendCastFloat appends f as the shortest text that reads back to the
// same value, with the spellings DuckDB accepts for the special values.
func appendCastFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendCastBC rewrites PostgreSQL's " BC" suffix of the date or
// timestamp appended after start as DuckDB reads it: " (BC)" right after
// the date ("0044-03-15 (BC) 12:00:00").
func appendCastBC(dst []byte, start int) []byte {
	if !bytes.HasSuffix(dst[start:], []byte(" BC")) {
		return dst
	}
	dst = dst[:len(dst)-3]
	rest := append([]byte(nil), dst[start:]...)
	date, clock, hasClock := bytes.Cut(rest, []byte(" "))
	dst = append(append(dst[:start], date...), " (BC)"...)
	if hasClock {
		dst = append(append(dst, ' '), clock...)
	}
	return dst
}
