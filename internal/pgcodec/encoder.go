package pgcodec

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// appendFunc appends the encoding of row i of one column (never NULL).
type appendFunc func(dst []byte, i int) []byte

// RowEncoder encodes Arrow record batches as PostgreSQL DataRow messages.
// It resolves one append function per column per batch, so the per-value
// work is a slice index and an strconv/binary append. It is not safe for
// concurrent use.
type RowEncoder struct {
	cols   []Column
	binary []bool
	fns    []appendFunc
	nulls  []arrow.Array // columns with NULLs in the current batch, else nil
}

// NewRowEncoder returns an encoder for cols with the result-format codes of
// a Bind message: none means all text, one applies to all columns, else one
// per column. Codes other than 0 (text) and 1 (binary) or a count that is
// neither 0, 1 nor len(cols) are a protocol violation.
func NewRowEncoder(cols []Column, formats []int16) (*RowEncoder, error) {
	e := &RowEncoder{
		cols:   cols,
		binary: make([]bool, len(cols)),
		fns:    make([]appendFunc, len(cols)),
		nulls:  make([]arrow.Array, len(cols)),
	}
	switch len(formats) {
	case 0:
	case 1, len(cols):
		for i := range cols {
			f := formats[0]
			if len(formats) > 1 {
				f = formats[i]
			}
			if f != 0 && f != 1 {
				return nil, pgerr.New(pgerrcode.ProtocolViolation, "unsupported format code: %d", f)
			}
			e.binary[i] = f == 1
		}
	default:
		return nil, pgerr.New(pgerrcode.ProtocolViolation,
			"bind message has %d result formats but query has %d columns", len(formats), len(cols))
	}
	return e, nil
}

// MaxMessageLen is the longest message a backend sends, its length field
// included: PostgreSQL builds each in a buffer of at most MaxAllocSize
// (1 GB - 1) bytes. DuckDB has no such bound on a value, so a row may encode
// to more; its message is not sent (its length would not fit the protocol's
// int32 past 2 GB, and clients refuse messages past 1 GB).
const MaxMessageLen = 1<<30 - 1

// maxMessageLen is MaxMessageLen, lowered by the package's tests.
var maxMessageLen = MaxMessageLen

// tooLong is the error of a row whose message would exceed MaxMessageLen,
// PostgreSQL's for a buffer that cannot grow.
func tooLong(kind string, n int) error {
	e := pgerr.New(pgerrcode.ProgramLimitExceeded, "out of memory")
	e.Detail = fmt.Sprintf("A %s message of %d bytes exceeds the %d bytes a protocol message may hold.", kind, n, maxMessageLen)
	return e
}

// AppendDataRows appends one DataRow message per row of rec to dst. A row
// whose message would exceed MaxMessageLen is not appended: dst holds the
// rows before it, and the error is 54000.
func (e *RowEncoder) AppendDataRows(dst []byte, rec arrow.RecordBatch) ([]byte, error) {
	nc := len(e.cols)
	for c := range nc {
		arr := rec.Column(c)
		e.fns[c] = e.appender(c, arr)
		e.nulls[c] = nil
		if arr.NullN() > 0 {
			e.nulls[c] = arr
		}
	}
	rows := int(rec.NumRows())
	for i := range rows {
		start := len(dst)
		dst = append(dst, 'D', 0, 0, 0, 0, byte(nc>>8), byte(nc))
		for c, fn := range e.fns {
			if a := e.nulls[c]; a != nil && a.IsNull(i) {
				dst = append(dst, 0xff, 0xff, 0xff, 0xff)
				continue
			}
			lp := len(dst)
			dst = fn(append(dst, 0, 0, 0, 0), i)
			binary.BigEndian.PutUint32(dst[lp:], uint32(len(dst)-lp-4))
		}
		if n := len(dst) - start - 1; n > maxMessageLen {
			return dst[:start], tooLong("DataRow", n)
		}
		binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
	}
	return dst, nil
}

// appender resolves the append function of column c for one batch.
func (e *RowEncoder) appender(c int, arr arrow.Array) appendFunc {
	col := &e.cols[c]
	bin := e.binary[c]
	if ea, ok := arr.(array.ExtensionArray); ok {
		arr = ea.Storage()
	}
	if f := extAppender(col.ext, arr, bin); f != nil {
		return f
	}
	if bin {
		if f := binaryAppender(arr); f != nil {
			return f
		}
	}
	return textAppender(arr, false)
}

// extAppender returns the append function for values of a DuckDB extension
// or opaque type, nil for plain types.
func extAppender(ext string, arr arrow.Array, bin bool) appendFunc {
	switch ext {
	case opaqueHugeint, opaqueUhugeint:
		a := arr.(*array.FixedSizeBinary)
		signed := ext == opaqueHugeint
		if bin {
			return func(dst []byte, i int) []byte { return appendHugeint(dst, a.Value(i), signed, true) }
		}
		return func(dst []byte, i int) []byte { return appendHugeint(dst, a.Value(i), signed, false) }
	case opaqueTimeTZ:
		a := arr.(*array.FixedSizeBinary)
		return func(dst []byte, i int) []byte {
			bits := binary.LittleEndian.Uint64(a.Value(i))
			micros, offset := int64(bits>>24), int32(16*3600-1)-int32(bits&0xffffff)
			if bin {
				return appendInt32(appendInt64(dst, micros), -offset)
			}
			return appendTimetzText(dst, micros, offset)
		}
	case opaqueBit:
		return func(dst []byte, i int) []byte { return appendBitText(dst, binaryValue(arr, i)) }
	case extUUID:
		a := arr.(*array.FixedSizeBinary)
		if bin {
			return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
		}
		return func(dst []byte, i int) []byte { return appendUUIDText(dst, a.Value(i)) }
	case extBool8:
		v := arr.(*array.Int8).Int8Values()
		if bin {
			return func(dst []byte, i int) []byte { return append(dst, b2u8(v[i] != 0)) }
		}
		return func(dst []byte, i int) []byte { return appendBoolText(dst, v[i] != 0) }
	}
	return nil
}

// fieldText returns the text append function for a nested field's values.
func fieldText(f arrow.Field, arr arrow.Array, duck bool) appendFunc {
	if ea, ok := arr.(array.ExtensionArray); ok {
		arr = ea.Storage()
	}
	fn := extAppender(columnFor(f).ext, arr, false)
	if fn == nil {
		fn = textAppender(arr, duck)
	}
	if !duck {
		return fn
	}
	switch arr.(type) {
	case array.ListLike, *array.Struct:
		return fn
	}
	return duckScalar(fn)
}

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// binaryValue returns the bytes of a binary-like array's value i.
func binaryValue(a arrow.Array, i int) []byte {
	switch a := a.(type) {
	case *array.Binary:
		return a.Value(i)
	case *array.LargeBinary:
		return a.Value(i)
	case *array.BinaryView:
		return a.Value(i)
	}
	return nil
}

// appendHugeint encodes a DuckDB HUGEINT/UHUGEINT (16 bytes, little endian,
// two's complement when signed) as numeric.
func appendHugeint(dst []byte, b []byte, signed, bin bool) []byte {
	lo := binary.LittleEndian.Uint64(b)
	hi := binary.LittleEndian.Uint64(b[8:])
	var neg bool
	var mag uint64
	switch {
	case hi == 0:
		mag = lo
	case signed && hi == ^uint64(0) && lo != 0:
		neg, mag = true, -lo
	default:
		v := new(big.Int).SetUint64(hi)
		v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(lo))
		if signed && int64(hi) < 0 {
			v.Sub(v, new(big.Int).Lsh(big.NewInt(1), 128))
		}
		if bin {
			return appendNumericBig(dst, v, 0)
		}
		return appendBigScaled(dst, v, 0)
	}
	if bin {
		return appendNumericUint(dst, neg, mag, 0)
	}
	return appendScaled(dst, neg, mag, 0)
}

// abs64 splits v into sign and magnitude.
func abs64(v int64) (bool, uint64) {
	if v < 0 {
		return true, uint64(-v)
	}
	return false, uint64(v)
}

// decimal128Parts returns sign and magnitude when |v| fits in 64 bits.
func decimal128Parts(hi int64, lo uint64) (neg bool, mag uint64, ok bool) {
	switch {
	case hi == 0:
		return false, lo, true
	case hi == -1 && lo != 0:
		return true, -lo, true
	}
	return false, 0, false
}

// microsOf converts a value in unit to microseconds, keeping the DuckDB
// infinity sentinels.
func microsOf(v int64, unit arrow.TimeUnit) int64 {
	if v >= tsInfinity || v <= tsNegInfinity {
		return v
	}
	switch unit {
	case arrow.Second:
		return v * microsPerSecond
	case arrow.Millisecond:
		return v * 1000
	case arrow.Nanosecond:
		return floorDiv(v, 1000)
	}
	return v
}

// intervalParts reads an interval-like array's value i as months, days and
// microseconds.
func intervalParts(arr arrow.Array) func(i int) (int32, int32, int64) {
	switch a := arr.(type) {
	case *array.MonthDayNanoInterval:
		v := a.MonthDayNanoIntervalValues()
		return func(i int) (int32, int32, int64) { return v[i].Months, v[i].Days, v[i].Nanoseconds / 1000 }
	case *array.MonthInterval:
		v := a.MonthIntervalValues()
		return func(i int) (int32, int32, int64) { return int32(v[i]), 0, 0 }
	case *array.DayTimeInterval:
		v := a.DayTimeIntervalValues()
		return func(i int) (int32, int32, int64) { return 0, v[i].Days, int64(v[i].Milliseconds) * 1000 }
	case *array.Duration:
		v := a.DurationValues()
		unit := a.DataType().(*arrow.DurationType).Unit
		return func(i int) (int32, int32, int64) { return 0, 0, microsOf(int64(v[i]), unit) }
	}
	return nil
}

// binaryAppender returns the binary send function for arr's type, or nil
// when the binary format is the text format (text, json, nested types).
func binaryAppender(arr arrow.Array) appendFunc {
	switch a := arr.(type) {
	case *array.Boolean:
		return func(dst []byte, i int) []byte { return append(dst, b2u8(a.Value(i))) }
	case *array.Int8:
		v := a.Int8Values()
		return func(dst []byte, i int) []byte { return appendInt16(dst, int16(v[i])) }
	case *array.Int16:
		v := a.Int16Values()
		return func(dst []byte, i int) []byte { return appendInt16(dst, v[i]) }
	case *array.Int32:
		v := a.Int32Values()
		return func(dst []byte, i int) []byte { return appendInt32(dst, v[i]) }
	case *array.Uint8:
		v := a.Uint8Values()
		return func(dst []byte, i int) []byte { return appendInt32(dst, int32(v[i])) }
	case *array.Uint16:
		v := a.Uint16Values()
		return func(dst []byte, i int) []byte { return appendInt32(dst, int32(v[i])) }
	case *array.Int64:
		v := a.Int64Values()
		return func(dst []byte, i int) []byte { return appendInt64(dst, v[i]) }
	case *array.Uint32:
		v := a.Uint32Values()
		return func(dst []byte, i int) []byte { return appendInt64(dst, int64(v[i])) }
	case *array.Uint64:
		v := a.Uint64Values()
		return func(dst []byte, i int) []byte { return appendNumericUint(dst, false, v[i], 0) }
	case *array.Float16:
		return func(dst []byte, i int) []byte { return appendFloat4Binary(dst, a.Value(i).Float32()) }
	case *array.Float32:
		v := a.Float32Values()
		return func(dst []byte, i int) []byte { return appendFloat4Binary(dst, v[i]) }
	case *array.Float64:
		v := a.Float64Values()
		return func(dst []byte, i int) []byte { return appendFloat8Binary(dst, v[i]) }
	case *array.Decimal32:
		v, s := a.Values(), int(a.DataType().(arrow.DecimalType).GetScale())
		return func(dst []byte, i int) []byte {
			neg, m := abs64(int64(v[i]))
			return appendNumericUint(dst, neg, m, s)
		}
	case *array.Decimal64:
		v, s := a.Values(), int(a.DataType().(arrow.DecimalType).GetScale())
		return func(dst []byte, i int) []byte {
			neg, m := abs64(int64(v[i]))
			return appendNumericUint(dst, neg, m, s)
		}
	case *array.Decimal128:
		v, s := a.Values(), int(a.DataType().(arrow.DecimalType).GetScale())
		return func(dst []byte, i int) []byte {
			if neg, m, ok := decimal128Parts(v[i].HighBits(), v[i].LowBits()); ok {
				return appendNumericUint(dst, neg, m, s)
			}
			return appendNumericBig(dst, v[i].BigInt(), s)
		}
	case *array.Decimal256:
		v, s := a.Values(), int(a.DataType().(arrow.DecimalType).GetScale())
		return func(dst []byte, i int) []byte { return appendNumericBig(dst, v[i].BigInt(), s) }
	case *array.Binary:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
	case *array.LargeBinary:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
	case *array.BinaryView:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
	case *array.FixedSizeBinary:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
	case *array.Date32:
		v := a.Date32Values()
		return func(dst []byte, i int) []byte { return appendInt32(dst, pgDate(int64(v[i]))) }
	case *array.Date64:
		v := a.Date64Values()
		return func(dst []byte, i int) []byte { return appendInt32(dst, pgDate(floorDiv(int64(v[i]), 86400000))) }
	case *array.Time32:
		v, unit := a.Time32Values(), a.DataType().(*arrow.Time32Type).Unit
		return func(dst []byte, i int) []byte { return appendInt64(dst, microsOf(int64(v[i]), unit)) }
	case *array.Time64:
		v, unit := a.Time64Values(), a.DataType().(*arrow.Time64Type).Unit
		return func(dst []byte, i int) []byte { return appendInt64(dst, microsOf(int64(v[i]), unit)) }
	case *array.Timestamp:
		v, unit := a.TimestampValues(), a.DataType().(*arrow.TimestampType).Unit
		return func(dst []byte, i int) []byte { return appendInt64(dst, pgTimestamp(microsOf(int64(v[i]), unit))) }
	case *array.MonthDayNanoInterval, *array.MonthInterval, *array.DayTimeInterval, *array.Duration:
		parts := intervalParts(arr)
		return func(dst []byte, i int) []byte {
			m, d, us := parts(i)
			return appendInt32(appendInt32(appendInt64(dst, us), d), m)
		}
	}
	return nil
}

// textAppender returns the text output function for arr's type. Inside a
// struct or map (duck is true) values are written as DuckDB prints them.
func textAppender(arr arrow.Array, duck bool) appendFunc {
	switch a := arr.(type) {
	case *array.Boolean:
		if duck {
			return func(dst []byte, i int) []byte { return strconv.AppendBool(dst, a.Value(i)) }
		}
		return func(dst []byte, i int) []byte { return appendBoolText(dst, a.Value(i)) }
	case *array.Int8:
		v := a.Int8Values()
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(v[i]), 10) }
	case *array.Int16:
		v := a.Int16Values()
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(v[i]), 10) }
	case *array.Int32:
		v := a.Int32Values()
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(v[i]), 10) }
	case *array.Int64:
		v := a.Int64Values()
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, v[i], 10) }
	case *array.Uint8:
		v := a.Uint8Values()
		return func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(v[i]), 10) }
	case *array.Uint16:
		v := a.Uint16Values()
		return func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(v[i]), 10) }
	case *array.Uint32:
		v := a.Uint32Values()
		return func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(v[i]), 10) }
	case *array.Uint64:
		v := a.Uint64Values()
		return func(dst []byte, i int) []byte { return strconv.AppendUint(dst, v[i], 10) }
	case *array.Float16:
		return func(dst []byte, i int) []byte { return appendFloatText(dst, float64(a.Value(i).Float32()), 32) }
	case *array.Float32:
		v := a.Float32Values()
		return func(dst []byte, i int) []byte { return appendFloatText(dst, float64(v[i]), 32) }
	case *array.Float64:
		v := a.Float64Values()
		return func(dst []byte, i int) []byte { return appendFloatText(dst, v[i], 64) }
	case *array.Decimal32:
		v, s := a.Values(), int(a.DataType().(arrow.DecimalType).GetScale())
		return func(dst []byte, i int) []byte {
			neg, m := abs64(int64(v[i]))
			return appendScaled(dst, neg, m, s)
		}
	case *array.Decimal64:
		v, s := a.Values(), int(a.DataType().(arrow.DecimalType).GetScale())
		return func(dst []byte, i int) []byte {
			neg, m := abs64(int64(v[i]))
			return appendScaled(dst, neg, m, s)
		}
	case *array.Decimal128:
		v, s := a.Values(), int(a.DataType().(arrow.DecimalType).GetScale())
		return func(dst []byte, i int) []byte {
			if neg, m, ok := decimal128Parts(v[i].HighBits(), v[i].LowBits()); ok {
				return appendScaled(dst, neg, m, s)
			}
			return appendBigScaled(dst, v[i].BigInt(), s)
		}
	case *array.Decimal256:
		v, s := a.Values(), int(a.DataType().(arrow.DecimalType).GetScale())
		return func(dst []byte, i int) []byte { return appendBigScaled(dst, v[i].BigInt(), s) }
	case *array.String:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
	case *array.LargeString:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
	case *array.StringView:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
	case *array.Binary:
		return func(dst []byte, i int) []byte { return appendByteaText(dst, a.Value(i)) }
	case *array.LargeBinary:
		return func(dst []byte, i int) []byte { return appendByteaText(dst, a.Value(i)) }
	case *array.BinaryView:
		return func(dst []byte, i int) []byte { return appendByteaText(dst, a.Value(i)) }
	case *array.FixedSizeBinary:
		return func(dst []byte, i int) []byte { return appendByteaText(dst, a.Value(i)) }
	case *array.Date32:
		v := a.Date32Values()
		return func(dst []byte, i int) []byte { return appendDateText(dst, int64(v[i])) }
	case *array.Date64:
		v := a.Date64Values()
		return func(dst []byte, i int) []byte { return appendDateText(dst, floorDiv(int64(v[i]), 86400000)) }
	case *array.Time32:
		v, unit := a.Time32Values(), a.DataType().(*arrow.Time32Type).Unit
		return func(dst []byte, i int) []byte { return appendClock(dst, microsOf(int64(v[i]), unit)) }
	case *array.Time64:
		v, unit := a.Time64Values(), a.DataType().(*arrow.Time64Type).Unit
		return func(dst []byte, i int) []byte { return appendClock(dst, microsOf(int64(v[i]), unit)) }
	case *array.Timestamp:
		t := a.DataType().(*arrow.TimestampType)
		v, unit, tz := a.TimestampValues(), t.Unit, t.TimeZone != ""
		return func(dst []byte, i int) []byte { return appendTimestampText(dst, microsOf(int64(v[i]), unit), tz) }
	case *array.MonthDayNanoInterval, *array.MonthInterval, *array.DayTimeInterval, *array.Duration:
		parts := intervalParts(arr)
		return func(dst []byte, i int) []byte {
			m, d, us := parts(i)
			return appendIntervalText(dst, m, d, us)
		}
	case *array.Dictionary:
		values := textAppender(a.Dictionary(), duck)
		return func(dst []byte, i int) []byte { return values(dst, a.GetValueIndex(i)) }
	case *array.Map:
		return mapText(a)
	case array.ListLike:
		if duck {
			return duckListText(a)
		}
		return pgArrayText(a)
	case *array.Struct:
		return structText(a)
	case array.ExtensionArray:
		return textAppender(a.Storage(), duck)
	}
	return func(dst []byte, i int) []byte { return append(dst, arr.ValueStr(i)...) }
}
