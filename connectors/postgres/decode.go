package postgres

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// The binary COPY format (PostgreSQL docs, "COPY: Binary Format"): a
// header (signature, flags, extension), then per row a 16-bit field count
// and each field as a 32-bit length (-1 = NULL) and that many bytes in the
// type's binary send form, then the count -1 as trailer.
var copySignature = []byte("PGCOPY\n\xff\r\n\x00")

const (
	// pgEpochDays and pgEpochMicros move PostgreSQL's 2000-01-01 epoch to
	// Unix's.
	pgEpochDays   = 10957
	pgEpochMicros = 946684800 * 1_000_000
)

// copyDecoder turns a binary COPY stream into record batches. It is the
// io.Writer pgconn's CopyTo hands each CopyData payload to: values go
// straight from the payload into Arrow builders (no row values, no
// per-value allocation), and every batchRows rows or batchBytes bytes
// the batch goes to emit, which may block (backpressure).
type copyDecoder struct {
	cols       []column
	rb         *array.RecordBuilder
	decs       []func([]byte) error // per column, for a non-NULL value
	builders   []array.Builder
	batchRows  int
	batchBytes int
	emit       func(arrow.RecordBatch) error

	rows    int   // in the current batch
	bytes   int   // in the current batch
	full    bool  // a batch of batchRows rows was read: size the next ones so
	dataLen []int // each binary column's bytes in the last full batch
	pending []byte
	header  bool // read
	trailer bool // read
}

func newCopyDecoder(cols []column, rb *array.RecordBuilder, batchRows, batchBytes int, emit func(arrow.RecordBatch) error) *copyDecoder {
	d := &copyDecoder{cols: cols, rb: rb, batchRows: batchRows, batchBytes: batchBytes, emit: emit}
	for i := range cols {
		b := rb.Field(i)
		d.builders = append(d.builders, b)
		if cols[i].array {
			d.decs = append(d.decs, arrayDecoder(cols[i], b.(*array.ListBuilder)))
		} else {
			d.decs = append(d.decs, valueDecoder(cols[i], b))
		}
	}
	return d
}

// Write decodes p, keeping an incomplete row for the next call (p is only
// valid during the call).
func (d *copyDecoder) Write(p []byte) (int, error) {
	n := len(p)
	buf := p
	if len(d.pending) > 0 {
		d.pending = append(d.pending, p...)
		buf = d.pending
	}
	used, err := d.consume(buf)
	if err != nil {
		return 0, err
	}
	d.pending = append(d.pending[:0], buf[used:]...)
	return n, nil
}

// consume decodes the complete rows at the start of buf and says how many
// bytes they took.
func (d *copyDecoder) consume(buf []byte) (int, error) {
	off := 0
	if !d.header {
		if len(buf) < 19 {
			return 0, nil
		}
		if !bytes.Equal(buf[:11], copySignature) {
			return 0, protocolError("the COPY stream does not start with the binary signature")
		}
		if flags := binary.BigEndian.Uint32(buf[11:]); flags&(1<<16) != 0 {
			return 0, protocolError("the COPY stream carries OIDs")
		}
		ext := int(int32(binary.BigEndian.Uint32(buf[15:])))
		if ext < 0 {
			return 0, protocolError("bad COPY header extension length %d", ext)
		}
		if len(buf) < 19+ext {
			return 0, nil
		}
		off = 19 + ext
		d.header = true
	}
	ncols := len(d.cols)
	for len(buf)-off >= 2 {
		if d.trailer {
			return 0, protocolError("data after the COPY trailer")
		}
		nf := int16(binary.BigEndian.Uint16(buf[off:]))
		if nf == -1 {
			d.trailer = true
			off += 2
			continue
		}
		if int(nf) != ncols {
			return 0, protocolError("a COPY row has %d fields, want %d", nf, ncols)
		}
		// Is the whole row here?
		q := off + 2
		for range ncols {
			if len(buf)-q < 4 {
				return off, nil
			}
			l := int(int32(binary.BigEndian.Uint32(buf[q:])))
			q += 4
			if l > 0 {
				if len(buf)-q < l {
					return off, nil
				}
				q += l
			} else if l < -1 {
				return 0, protocolError("a COPY field has length %d", l)
			}
		}
		q = off + 2
		for i := range ncols {
			l := int(int32(binary.BigEndian.Uint32(buf[q:])))
			q += 4
			if l < 0 {
				d.builders[i].AppendNull()
				continue
			}
			if err := d.decs[i](buf[q : q+l]); err != nil {
				return 0, columnError(d.cols[i].name, err)
			}
			q += l
		}
		d.bytes += q - off
		off = q
		d.rows++
		if d.rows >= d.batchRows || d.bytes >= d.batchBytes {
			if err := d.flush(); err != nil {
				return 0, err
			}
		}
	}
	return off, nil
}

// flush hands the rows decoded so far to emit. After the first full
// batch the builders are sized for the next one up front (growing them by
// doubling costs copies), so small reads do not pay for big buffers.
func (d *copyDecoder) flush() error {
	full := d.rows >= d.batchRows
	if full {
		if d.dataLen == nil {
			d.dataLen = make([]int, len(d.builders))
		}
		for i, b := range d.builders {
			if bb := binaryOf(b); bb != nil {
				d.dataLen[i] = bb.DataLen()
			}
		}
	}
	d.rows, d.bytes = 0, 0
	err := d.emit(d.rb.NewRecordBatch())
	if err == nil && full {
		for i, b := range d.builders {
			b.Reserve(d.batchRows)
			if bb := binaryOf(b); bb != nil {
				bb.ReserveData(d.dataLen[i] + d.dataLen[i]/8)
			}
		}
	}
	return err
}

func binaryOf(b array.Builder) *array.BinaryBuilder {
	switch b := b.(type) {
	case *array.StringBuilder:
		return b.BinaryBuilder
	case *array.BinaryBuilder:
		return b
	}
	return nil
}

// finish checks the stream ended properly and flushes the last rows.
func (d *copyDecoder) finish() error {
	if !d.trailer || len(d.pending) > 0 {
		return protocolError("the COPY stream ended before its trailer")
	}
	if d.rows > 0 {
		return d.flush()
	}
	return nil
}

func protocolError(format string, args ...any) error {
	return pgerr.New(pgerrcode.ProtocolViolation, format, args...)
}

// columnError names the column a value of which could not be decoded.
func columnError(name string, err error) error {
	e := pgerr.As(err)
	c := *e
	c.Message = fmt.Sprintf("column %q: %s", name, e.Message)
	return &c
}

func sizeError(c column, got int) error {
	return protocolError("a value of type OID %d is %d bytes long", c.oid, got)
}

// valueDecoder appends one non-NULL value in c's binary form to b.
func valueDecoder(c column, b array.Builder) func([]byte) error {
	be := binary.BigEndian
	switch c.kind {
	case kBool:
		bb := b.(*array.BooleanBuilder)
		return func(v []byte) error {
			if len(v) != 1 {
				return sizeError(c, len(v))
			}
			bb.Append(v[0] != 0)
			return nil
		}
	case kInt16:
		bb := b.(*array.Int16Builder)
		return func(v []byte) error {
			if len(v) != 2 {
				return sizeError(c, len(v))
			}
			bb.Append(int16(be.Uint16(v)))
			return nil
		}
	case kInt32:
		bb := b.(*array.Int32Builder)
		return func(v []byte) error {
			if len(v) != 4 {
				return sizeError(c, len(v))
			}
			bb.Append(int32(be.Uint32(v)))
			return nil
		}
	case kInt64:
		bb := b.(*array.Int64Builder)
		return func(v []byte) error {
			if len(v) != 8 {
				return sizeError(c, len(v))
			}
			bb.Append(int64(be.Uint64(v)))
			return nil
		}
	case kFloat32:
		bb := b.(*array.Float32Builder)
		return func(v []byte) error {
			if len(v) != 4 {
				return sizeError(c, len(v))
			}
			bb.Append(math.Float32frombits(be.Uint32(v)))
			return nil
		}
	case kFloat64:
		bb := b.(*array.Float64Builder)
		return func(v []byte) error {
			if len(v) != 8 {
				return sizeError(c, len(v))
			}
			bb.Append(math.Float64frombits(be.Uint64(v)))
			return nil
		}
	case kDecimal:
		bb := b.(*array.Decimal128Builder)
		return func(v []byte) error {
			n, err := decodeNumeric(v, c.scale)
			if err != nil {
				return err
			}
			bb.Append(n)
			return nil
		}
	case kText, kBytea:
		var bb *array.BinaryBuilder
		if sb, ok := b.(*array.StringBuilder); ok {
			bb = sb.BinaryBuilder
		} else {
			bb = b.(*array.BinaryBuilder)
		}
		return func(v []byte) error {
			bb.Append(v)
			return nil
		}
	case kJSONB:
		bb := b.(*array.StringBuilder).BinaryBuilder
		return func(v []byte) error {
			if len(v) < 1 || v[0] != 1 {
				return protocolError("unknown jsonb binary format version")
			}
			bb.Append(v[1:])
			return nil
		}
	case kUUID:
		bb := b.(*array.StringBuilder).BinaryBuilder
		var s [36]byte
		return func(v []byte) error {
			if len(v) != 16 {
				return sizeError(c, len(v))
			}
			hex.Encode(s[0:8], v[0:4])
			s[8] = '-'
			hex.Encode(s[9:13], v[4:6])
			s[13] = '-'
			hex.Encode(s[14:18], v[6:8])
			s[18] = '-'
			hex.Encode(s[19:23], v[8:10])
			s[23] = '-'
			hex.Encode(s[24:36], v[10:16])
			bb.Append(s[:])
			return nil
		}
	case kDate:
		bb := b.(*array.Date32Builder)
		return func(v []byte) error {
			if len(v) != 4 {
				return sizeError(c, len(v))
			}
			d := int32(be.Uint32(v))
			if d == math.MaxInt32 || d == math.MinInt32 {
				return infinityError(d > 0)
			}
			if d > math.MaxInt32-pgEpochDays {
				return pgerr.New(pgerrcode.DatetimeFieldOverflow, "date out of range")
			}
			bb.Append(arrow.Date32(d + pgEpochDays))
			return nil
		}
	case kTimestamp:
		bb := b.(*array.TimestampBuilder)
		return func(v []byte) error {
			if len(v) != 8 {
				return sizeError(c, len(v))
			}
			t := int64(be.Uint64(v))
			if t == math.MaxInt64 || t == math.MinInt64 {
				return infinityError(t > 0)
			}
			if t > math.MaxInt64-pgEpochMicros { // PostgreSQL's range ends in 294276, a little past int64's
				return pgerr.New(pgerrcode.DatetimeFieldOverflow, "timestamp out of range")
			}
			bb.Append(arrow.Timestamp(t + pgEpochMicros))
			return nil
		}
	case kTime:
		bb := b.(*array.Time64Builder)
		return func(v []byte) error {
			if len(v) != 8 {
				return sizeError(c, len(v))
			}
			bb.Append(arrow.Time64(be.Uint64(v)))
			return nil
		}
	}
	panic(fmt.Sprintf("postgres: no decoder for kind %d", c.kind))
}

func infinityError(positive bool) error {
	sign := "-"
	if positive {
		sign = ""
	}
	return pgerr.New(pgerrcode.DatetimeFieldOverflow, "%sinfinity has no Arrow date or timestamp value; filter it out or cast the column to text in a query source", sign)
}

// arrayDecoder appends one non-NULL one-dimensional array to b as a list.
// An empty array becomes an empty list; more dimensions are an error
// (Arrow lists here have one level).
func arrayDecoder(c column, b *array.ListBuilder) func([]byte) error {
	elem := valueDecoder(c, b.ValueBuilder())
	vb := b.ValueBuilder()
	be := binary.BigEndian
	return func(v []byte) error {
		if len(v) < 12 {
			return sizeError(c, len(v))
		}
		switch ndim := int32(be.Uint32(v)); {
		case ndim == 0:
			b.Append(true)
			return nil
		case ndim != 1:
			return pgerr.Unsupported("a %d-dimensional array cannot be read (one dimension is supported; cast to text in a query source)", ndim)
		}
		if len(v) < 20 {
			return sizeError(c, len(v))
		}
		n := int(int32(be.Uint32(v[12:])))
		p := v[20:]
		b.Append(true)
		for range n {
			if len(p) < 4 {
				return sizeError(c, len(v))
			}
			l := int(int32(be.Uint32(p)))
			p = p[4:]
			if l < 0 {
				vb.AppendNull()
				continue
			}
			if len(p) < l {
				return sizeError(c, len(v))
			}
			if err := elem(p[:l]); err != nil {
				return err
			}
			p = p[l:]
		}
		return nil
	}
}

// decodeNumeric reads numeric's binary form (digit count, weight of the
// first digit, sign, display scale, then base-10000 digits) as an integer
// scaled by 10^scale. The column's typmod guarantees the value has at most
// scale fractional digits and fits the precision.
func decodeNumeric(v []byte, scale int32) (decimal128.Num, error) {
	be := binary.BigEndian
	if len(v) < 8 {
		return decimal128.Num{}, protocolError("numeric value of %d bytes", len(v))
	}
	nd := int(int16(be.Uint16(v)))
	weight := int(int16(be.Uint16(v[2:])))
	sign := be.Uint16(v[4:])
	if nd < 0 || len(v) != 8+2*nd {
		return decimal128.Num{}, protocolError("numeric value of %d bytes with %d digits", len(v), nd)
	}
	switch sign {
	case 0x0000, 0x4000:
	case 0xC000:
		return decimal128.Num{}, pgerr.New(pgerrcode.NumericValueOutOfRange, "NaN has no decimal value; filter it out or cast the column to text in a query source")
	default:
		return decimal128.Num{}, pgerr.New(pgerrcode.NumericValueOutOfRange, "infinity has no decimal value")
	}
	// value = sum of digit[i] * 10^(4*(weight-i)); scaled, digit i counts
	// 10^(4*(weight-i)+scale). Horner over the digits, then the power of
	// ten of the last one.
	var acc decimal128.Num
	last := 0
	ten4 := decimal128.FromU64(10000)
	for i := range nd {
		d := uint64(be.Uint16(v[8+2*i:]))
		k := 4*(weight-i) + int(scale)
		switch {
		case k >= 0:
			acc = acc.Mul(ten4).Add(decimal128.FromU64(d))
			last = k
		case k > -4:
			p := uint64(pow10[-k])
			if d%p != 0 {
				return decimal128.Num{}, pgerr.New(pgerrcode.NumericValueOutOfRange, "a numeric value has more than %d fractional digits", scale)
			}
			acc = acc.Mul(decimal128.FromU64(uint64(pow10[4+k]))).Add(decimal128.FromU64(d / p))
			last = 0
		case d != 0:
			return decimal128.Num{}, pgerr.New(pgerrcode.NumericValueOutOfRange, "a numeric value has more than %d fractional digits", scale)
		}
	}
	if last > 38 {
		return decimal128.Num{}, pgerr.New(pgerrcode.NumericValueOutOfRange, "a numeric value does not fit 38 digits")
	}
	if last > 0 {
		acc = acc.Mul(decimal128.GetScaleMultiplier(last))
	}
	if sign == 0x4000 {
		acc = acc.Negate()
	}
	return acc, nil
}

var pow10 = [...]int{1, 10, 100, 1000, 10000}
