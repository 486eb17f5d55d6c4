package kafka

// The value columns at read time: what a message holds for a column
// (valueType) and the column that converts it and appends it to the
// column's Arrow builder.

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// valueType is what a message holds for a column: a JSON token's kind, or
// text (CSV fields, JSON strings after unescaping).
type valueType uint8

const (
	vText   valueType = iota // text: a CSV field or an unescaped JSON string
	vNumber                  // JSON number (raw)
	vTrue
	vFalse
	vComposite // JSON object or array (raw)
	vQuoted    // JSON string, raw with its quotes (json columns only)
)

// column appends the values of one value field to its builder.
type column struct {
	name     string
	kind     colKind
	fromJSON bool // values come from JSON documents (json columns keep them raw)

	i64   *array.Int64Builder
	i32   *array.Int32Builder
	i16   *array.Int16Builder
	f64   *array.Float64Builder
	f32   *array.Float32Builder
	bl    *array.BooleanBuilder
	str   *array.StringBuilder
	ts    *array.TimestampBuilder
	date  *array.Date32Builder
	dec   *array.Decimal128Builder
	prec  int32
	scale int32

	scratch []byte
}

func newColumn(f arrow.Field, b array.Builder, fromJSON bool) (*column, error) {
	k, err := kindOf(f)
	if err != nil {
		return nil, err
	}
	c := &column{name: f.Name, kind: k, fromJSON: fromJSON}
	switch k {
	case kInt64:
		c.i64 = b.(*array.Int64Builder)
	case kInt32:
		c.i32 = b.(*array.Int32Builder)
	case kInt16:
		c.i16 = b.(*array.Int16Builder)
	case kFloat64:
		c.f64 = b.(*array.Float64Builder)
	case kFloat32:
		c.f32 = b.(*array.Float32Builder)
	case kBool:
		c.bl = b.(*array.BooleanBuilder)
	case kString, kJSON, kUUID:
		c.str = b.(*array.StringBuilder)
	case kTimestamp:
		c.ts = b.(*array.TimestampBuilder)
	case kDate:
		c.date = b.(*array.Date32Builder)
	case kDecimal:
		c.dec = b.(*array.Decimal128Builder)
		dt := f.Type.(*arrow.Decimal128Type)
		c.prec, c.scale = dt.Precision, dt.Scale
	}
	return c, nil
}

// wantsRaw reports whether the column takes JSON values raw (quotes kept).
func (c *column) wantsRaw() bool { return c.kind == kJSON && c.fromJSON }

func (c *column) appendNull() {
	switch c.kind {
	case kInt64:
		c.i64.AppendNull()
	case kInt32:
		c.i32.AppendNull()
	case kInt16:
		c.i16.AppendNull()
	case kFloat64:
		c.f64.AppendNull()
	case kFloat32:
		c.f32.AppendNull()
	case kBool:
		c.bl.AppendNull()
	case kString, kJSON, kUUID:
		c.str.AppendNull()
	case kTimestamp:
		c.ts.AppendNull()
	case kDate:
		c.date.AppendNull()
	case kDecimal:
		c.dec.AppendNull()
	}
}

// appendValidValue is appendValue for v known to be valid UTF-8.
func (c *column) appendValidValue(t valueType, v []byte) {
	if c.kind == kString || c.kind == kJSON && t == vQuoted {
		c.str.BinaryBuilder.Append(v)
		return
	}
	c.appendValue(t, v)
}

// appendValue converts v (of type t) and appends it; a value the column
// cannot hold is NULL.
func (c *column) appendValue(t valueType, v []byte) {
	switch c.kind {
	case kInt64:
		if n, ok := parseInt(t, v, math.MinInt64, math.MaxInt64); ok {
			c.i64.Append(n)
			return
		}
	case kInt32:
		if n, ok := parseInt(t, v, math.MinInt32, math.MaxInt32); ok {
			c.i32.Append(int32(n))
			return
		}
	case kInt16:
		if n, ok := parseInt(t, v, math.MinInt16, math.MaxInt16); ok {
			c.i16.Append(int16(n))
			return
		}
	case kFloat64:
		if t == vNumber || t == vText {
			if t == vText {
				v = bytes.TrimSpace(v)
			}
			if f, err := strconv.ParseFloat(bstr(v), 64); err == nil || isRangeErr(err) {
				c.f64.Append(f)
				return
			}
		}
	case kFloat32:
		if t == vNumber || t == vText {
			if f, err := strconv.ParseFloat(bstr(bytes.TrimSpace(v)), 32); err == nil || isRangeErr(err) {
				c.f32.Append(float32(f))
				return
			}
		}
	case kBool:
		switch t {
		case vTrue:
			c.bl.Append(true)
			return
		case vFalse:
			c.bl.Append(false)
			return
		case vText, vNumber:
			if b, ok := parseBool(v); ok {
				c.bl.Append(b)
				return
			}
		}
	case kString:
		c.appendString(v)
		return
	case kJSON:
		if t != vText || json.Valid(v) {
			c.appendString(v)
			return
		}
	case kUUID:
		if t == vText {
			if u, ok := normUUID(c.scratch[:0], v); ok {
				c.scratch = u
				c.str.BinaryBuilder.Append(u)
				return
			}
		}
	case kTimestamp:
		if t == vText {
			if ts, ok := parseTimestamp(bstr(bytes.TrimSpace(v))); ok {
				c.ts.Append(arrow.Timestamp(ts.UnixMicro()))
				return
			}
		}
	case kDate:
		if t == vText {
			if d, err := time.Parse(time.DateOnly, bstr(bytes.TrimSpace(v))); err == nil {
				c.date.Append(arrow.Date32FromTime(d))
				return
			}
		}
	case kDecimal:
		if t == vNumber || t == vText {
			if n, err := decimal128.FromString(string(bytes.TrimSpace(v)), c.prec, c.scale); err == nil {
				c.dec.Append(n)
				return
			}
		}
	}
	c.appendNull()
}

func (c *column) appendString(v []byte) {
	if !utf8.Valid(v) {
		v = bytes.ToValidUTF8(v, []byte("\uFFFD"))
	}
	c.str.BinaryBuilder.Append(v)
}
