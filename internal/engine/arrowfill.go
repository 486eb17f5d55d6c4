//go:build duckdb_arrow

package engine

import (
	"encoding/binary"
	"reflect"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"
)

// The columnar fill: most Arrow columns are laid out as DuckDB lays out its
// vectors (fixed-width values, microsecond timestamps, days since the
// epoch), so a chunk's column is written with one copy of its values and
// one pass over its validity words instead of a call per value. Strings
// of up to 12 ASCII bytes are written inline (DuckDB's string_t keeps
// them in the 16-byte slot, no heap); longer or non-ASCII strings go
// through duckdb_vector_assign_string_element_len, as before, which copies
// them into the vector's heap and turns invalid UTF-8 into NULL. Every
// other type, and any column when the raw vector is not reachable, takes
// the per-value path (fillColumn): the values written are the same.

// duckdb-go does not export a Vector's C handle. rawVectorAt finds it from
// the struct layout, which is checked once here: the Vector's field v
// (*vector) and that struct's field vec (mapping.Vector). When either is
// missing (another duckdb-go), the fast fill is off.
var rawVectorAt = func() func(v *duckdb.Vector) (mapping.Vector, bool) {
	outer, ok := reflect.TypeFor[duckdb.Vector]().FieldByName("v")
	if !ok || len(outer.Index) != 1 || outer.Type.Kind() != reflect.Pointer || outer.Type.Elem().Kind() != reflect.Struct {
		return nil
	}
	inner, ok := outer.Type.Elem().FieldByName("vec")
	if !ok || len(inner.Index) != 1 || inner.Type != reflect.TypeFor[mapping.Vector]() {
		return nil
	}
	return func(v *duckdb.Vector) (mapping.Vector, bool) {
		p := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(v), outer.Offset))
		if p == nil {
			return mapping.Vector{}, false
		}
		raw := *(*mapping.Vector)(unsafe.Add(p, inner.Offset))
		return raw, raw.Ptr != nil
	}
}()

// fastFill is off in tests that compare it with the per-value path.
var fastFill = true

// fillColumnFast writes rows [off, off+n) of arr into vec, the chunk's
// column; false means the column's type has no fast path (nothing was
// written).
func fillColumnFast(vec *duckdb.Vector, arr arrow.Array, off, n int) bool {
	if !fastFill || rawVectorAt == nil || n == 0 {
		return false
	}
	switch a := arr.(type) {
	case *array.Boolean, *array.Int16, *array.Int32, *array.Int64, *array.Float32, *array.Float64,
		*array.String, *array.Binary, *array.Date32:
	case *array.Decimal128:
		if a.DataType().(*arrow.Decimal128Type).Precision > MaxInt64Decimal {
			return false
		}
	case *array.Timestamp:
		if a.DataType().(*arrow.TimestampType).Unit != arrow.Microsecond {
			return false
		}
	default:
		return false
	}
	raw, ok := rawVectorAt(vec)
	if !ok {
		return false
	}
	data := mapping.VectorGetData(raw)
	mapping.VectorEnsureValidityWritable(raw)
	mask := mapping.VectorGetValidity(raw)
	if data == nil || mask == nil {
		return false
	}
	writeValidity(unsafe.Slice((*uint64)(mask), (n+63)/64), arr, off, n)
	switch a := arr.(type) {
	case *array.Boolean:
		dst := unsafe.Slice((*byte)(data), n)
		for i := range dst {
			dst[i] = 0
			if a.Value(off + i) {
				dst[i] = 1
			}
		}
	case *array.Int16:
		copy(unsafe.Slice((*int16)(data), n), a.Int16Values()[off:off+n])
	case *array.Int32:
		copy(unsafe.Slice((*int32)(data), n), a.Int32Values()[off:off+n])
	case *array.Int64:
		copy(unsafe.Slice((*int64)(data), n), a.Int64Values()[off:off+n])
	case *array.Float32:
		copy(unsafe.Slice((*float32)(data), n), a.Float32Values()[off:off+n])
	case *array.Float64:
		copy(unsafe.Slice((*float64)(data), n), a.Float64Values()[off:off+n])
	case *array.Date32:
		copy(unsafe.Slice((*arrow.Date32)(data), n), a.Date32Values()[off:off+n])
	case *array.Timestamp:
		copy(unsafe.Slice((*arrow.Timestamp)(data), n), a.TimestampValues()[off:off+n])
	case *array.Decimal128:
		dst := unsafe.Slice((*int64)(data), n)
		vals := a.Values()[off : off+n]
		for i := range dst {
			dst[i] = int64(vals[i].LowBits())
		}
	case *array.String:
		fillStrings(raw, data, a, off, n, func(i int) []byte {
			s := a.Value(i)
			return unsafe.Slice(unsafe.StringData(s), len(s))
		}, true)
	case *array.Binary:
		fillStrings(raw, data, a, off, n, a.Value, false)
	}
	return true
}

// writeValidity sets DuckDB's validity words (bit i of word i/64 is row
// i, 1 = valid, the same order as Arrow's bitmaps) from arr's rows
// [off, off+n).
func writeValidity(words []uint64, arr arrow.Array, off, n int) {
	if arr.NullN() == 0 {
		for w := range words {
			words[w] = ^uint64(0)
		}
		return
	}
	bits := arr.NullBitmapBytes()
	start := arr.Data().Offset() + off
	for w := range words {
		words[w] = bitmapWord(bits, start+64*w, min(64, n-64*w))
	}
}

// bitmapWord is the k bits (k <= 64) of an Arrow bitmap from bit pos on,
// bit 0 first; bits past k are set (DuckDB ignores rows past the chunk's
// size).
func bitmapWord(bits []byte, pos, k int) uint64 {
	var w uint64
	if pos%8 == 0 && pos/8+8 <= len(bits) {
		w = binary.LittleEndian.Uint64(bits[pos/8:])
	} else {
		for j := range k {
			p := pos + j
			w |= uint64(bits[p/8]>>(p%8)&1) << j
		}
	}
	if k < 64 {
		w |= ^uint64(0) << k
	}
	return w
}

// fillStrings writes a string column: inline when short (and ASCII for
// VARCHAR, so that validity is never in question), through DuckDB's heap
// otherwise. Rows already NULL in the validity words get an empty string.
func fillStrings(raw mapping.Vector, data unsafe.Pointer, a arrow.Array, off, n int, value func(int) []byte, text bool) {
	dst := unsafe.Slice((*[16]byte)(data), n)
	nulls := a.NullN() > 0
	for i := range n {
		row := off + i
		if nulls && a.IsNull(row) {
			dst[i] = [16]byte{}
			continue
		}
		b := value(row)
		if len(b) <= 12 && (!text || isASCII(b)) {
			var e [16]byte
			binary.LittleEndian.PutUint32(e[:4], uint32(len(b)))
			copy(e[4:], b)
			dst[i] = e
			continue
		}
		mapping.VectorAssignStringElementLen(raw, mapping.IdxT(i), b)
	}
}

func isASCII(b []byte) bool {
	var or byte
	for _, c := range b {
		or |= c
	}
	return or < 0x80
}
