package kafka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluice-db/sluice/connectors"
)

// The metadata columns every Kafka source starts with, in this order.
const (
	colPartition = "_partition"
	colOffset    = "_offset"
	colTimestamp = "_timestamp"
	colKey       = "_key"
	numMeta      = 4
)

// maxColumns bounds an inferred or declared schema (PostgreSQL's own limit).
const maxColumns = 1600

var timestampTZ = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// metaFields are the metadata columns.
func metaFields() []arrow.Field {
	return []arrow.Field{
		{Name: colPartition, Type: arrow.PrimitiveTypes.Int32},
		{Name: colOffset, Type: arrow.PrimitiveTypes.Int64},
		{Name: colTimestamp, Type: timestampTZ},
		{Name: colKey, Type: arrow.BinaryTypes.String, Nullable: true},
	}
}

func isMetaName(name string) bool {
	switch name {
	case colPartition, colOffset, colTimestamp, colKey:
		return true
	}
	return false
}

// colKind is how a value column converts what a message holds.
type colKind uint8

const (
	kInt64 colKind = iota
	kInt32
	kInt16
	kFloat64
	kFloat32
	kBool
	kString
	kJSON
	kUUID
	kTimestamp
	kDate
	kDecimal
)

// jsonField is a String field whose values are JSON documents.
func jsonField(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true,
		Metadata: arrow.NewMetadata([]string{connectors.TypeKey}, []string{"json"})}
}

// parseColumns parses the columns option: "name type, ...", names as SQL
// identifiers (unquoted ones fold to lower case, "Quoted" ones keep their
// case), types among those in typeField.
func parseColumns(text string) ([]arrow.Field, error) {
	var fields []arrow.Field
	seen := map[string]bool{}
	for _, item := range splitTopLevel(text) {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("empty column definition in %q", text)
		}
		name, rest, err := splitIdent(item)
		if err != nil {
			return nil, err
		}
		if isMetaName(name) {
			return nil, fmt.Errorf("column %q clashes with a metadata column (_partition, _offset, _timestamp, _key)", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("column %q is declared twice", name)
		}
		seen[name] = true
		f, err := typeField(name, rest)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("no columns declared")
	}
	if len(fields) > maxColumns {
		return nil, fmt.Errorf("%d columns declared, at most %d allowed", len(fields), maxColumns)
	}
	return fields, nil
}

// splitTopLevel splits s at commas outside parentheses and double quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, start, quoted := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// splitIdent splits "name type" into the identifier and the rest.
func splitIdent(item string) (name, rest string, err error) {
	if item[0] == '"' {
		var b strings.Builder
		for i := 1; i < len(item); i++ {
			if item[i] != '"' {
				b.WriteByte(item[i])
				continue
			}
			if i+1 < len(item) && item[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			if b.Len() == 0 {
				return "", "", fmt.Errorf("empty column name in %q", item)
			}
			return b.String(), strings.TrimSpace(item[i+1:]), nil
		}
		return "", "", fmt.Errorf("unterminated quoted column name in %q", item)
	}
	i := strings.IndexAny(item, " \t\r\n")
	if i < 0 {
		return "", "", fmt.Errorf("column %q has no type", item)
	}
	name = strings.ToLower(item[:i])
	for _, r := range name {
		if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= utf8.RuneSelf) {
			return "", "", fmt.Errorf("column name %q must be quoted", item[:i])
		}
	}
	return name, strings.TrimSpace(item[i:]), nil
}

// typeField is the field for a declared SQL type.
func typeField(name, typ string) (arrow.Field, error) {
	t := strings.Join(strings.Fields(strings.ToLower(typ)), " ")
	base, args := t, ""
	if i := strings.IndexByte(t, '('); i >= 0 {
		if !strings.HasSuffix(t, ")") {
			return arrow.Field{}, fmt.Errorf("column %q: bad type %q", name, typ)
		}
		base, args = strings.TrimSpace(t[:i]), t[i+1:len(t)-1]
	}
	f := arrow.Field{Name: name, Nullable: true}
	noArgs := func() error {
		if args != "" {
			return fmt.Errorf("column %q: type %q takes no arguments", name, base)
		}
		return nil
	}
	switch base {
	case "bigint", "int8":
		f.Type = arrow.PrimitiveTypes.Int64
	case "integer", "int", "int4":
		f.Type = arrow.PrimitiveTypes.Int32
	case "smallint", "int2":
		f.Type = arrow.PrimitiveTypes.Int16
	case "double", "double precision", "float8", "float":
		f.Type = arrow.PrimitiveTypes.Float64
	case "real", "float4":
		f.Type = arrow.PrimitiveTypes.Float32
	case "boolean", "bool":
		f.Type = arrow.FixedWidthTypes.Boolean
	case "text", "varchar", "character varying", "string":
		f.Type = arrow.BinaryTypes.String
		return f, nil // varchar(n): the length is not enforced
	case "timestamp", "timestamp without time zone":
		f.Type = &arrow.TimestampType{Unit: arrow.Microsecond}
	case "timestamptz", "timestamp with time zone":
		f.Type = timestampTZ
	case "date":
		f.Type = arrow.FixedWidthTypes.Date32
	case "json", "jsonb":
		f = jsonField(name)
	case "uuid":
		f.Type = arrow.BinaryTypes.String
		f.Metadata = arrow.NewMetadata([]string{connectors.TypeKey}, []string{"uuid"})
	case "numeric", "decimal":
		prec, scale := int64(18), int64(3) // DuckDB's default DECIMAL
		if args != "" {
			ps := strings.Split(args, ",")
			var err1, err2 error
			prec, err1 = strconv.ParseInt(strings.TrimSpace(ps[0]), 10, 32)
			scale = 0
			if len(ps) == 2 {
				scale, err2 = strconv.ParseInt(strings.TrimSpace(ps[1]), 10, 32)
			}
			if err1 != nil || err2 != nil || len(ps) > 2 {
				return arrow.Field{}, fmt.Errorf("column %q: bad type %q", name, typ)
			}
		}
		if prec < 1 || prec > 38 || scale < 0 || scale > prec {
			return arrow.Field{}, fmt.Errorf("column %q: numeric(%d,%d) needs 1 <= precision <= 38 and 0 <= scale <= precision", name, prec, scale)
		}
		f.Type = &arrow.Decimal128Type{Precision: int32(prec), Scale: int32(scale)}
		return f, nil
	default:
		return arrow.Field{}, fmt.Errorf("column %q: unsupported type %q (use bigint, integer, smallint, double, real, boolean, text, varchar, timestamp, timestamptz, date, numeric(p,s), json or uuid)", name, typ)
	}
	if err := noArgs(); err != nil {
		return arrow.Field{}, err
	}
	return f, nil
}

// kindOf is the conversion for a value field of a schema.
func kindOf(f arrow.Field) (colKind, error) {
	switch t := f.Type.(type) {
	case *arrow.Int64Type:
		return kInt64, nil
	case *arrow.Int32Type:
		return kInt32, nil
	case *arrow.Int16Type:
		return kInt16, nil
	case *arrow.Float64Type:
		return kFloat64, nil
	case *arrow.Float32Type:
		return kFloat32, nil
	case *arrow.BooleanType:
		return kBool, nil
	case *arrow.StringType:
		if v, ok := f.Metadata.GetValue(connectors.TypeKey); ok {
			switch v {
			case "json":
				return kJSON, nil
			case "uuid":
				return kUUID, nil
			}
		}
		return kString, nil
	case *arrow.TimestampType:
		if t.Unit != arrow.Microsecond {
			break
		}
		return kTimestamp, nil
	case *arrow.Date32Type:
		return kDate, nil
	case *arrow.Decimal128Type:
		return kDecimal, nil
	}
	return 0, fmt.Errorf("column %q has type %s, which the Kafka connector cannot fill", f.Name, f.Type)
}

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

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseInt parses an integer (JSON number or text); an integral float
// (1.0, 1e3) in range counts, a fraction does not.
func parseInt(t valueType, v []byte, lo, hi int64) (int64, bool) {
	if t != vNumber && t != vText {
		return 0, false
	}
	if t == vText {
		v = bytes.TrimSpace(v)
	}
	if n, ok := fastInt(v); ok {
		return n, n >= lo && n <= hi
	}
	if n, err := strconv.ParseInt(bstr(v), 10, 64); err == nil {
		return n, n >= lo && n <= hi
	}
	f, err := strconv.ParseFloat(bstr(v), 64)
	if err != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) || f >= 0x1p63 {
		return 0, false
	}
	return int64(f), true
}

// fastInt parses an optionally signed decimal integer of at most 18 digits.
func fastInt(v []byte) (int64, bool) {
	neg := false
	if len(v) > 0 && (v[0] == '-' || v[0] == '+') {
		neg = v[0] == '-'
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func parseBool(v []byte) (bool, bool) {
	switch strings.ToLower(string(bytes.TrimSpace(v))) {
	case "t", "true", "y", "yes", "on", "1":
		return true, true
	case "f", "false", "n", "no", "off", "0":
		return false, true
	}
	return false, false
}

// timestampLayouts are the accepted timestamp texts: RFC 3339 and
// PostgreSQL's "YYYY-MM-DD HH:MM:SS[.ffffff][+hh[:mm]]", or a bare date.
var timestampLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999Z07",
	time.DateOnly,
}

// parseTimestamp parses s; a text without a zone is UTC, one with a zone
// is converted to UTC (timestamp columns hold UTC wall time).
func parseTimestamp(s string) (time.Time, bool) {
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// normUUID appends v's canonical form (lower case, hyphenated) to dst;
// it accepts 32 hex digits, hyphenated or not, optionally in braces.
func normUUID(dst, v []byte) ([]byte, bool) {
	v = bytes.TrimSpace(v)
	if len(v) >= 2 && v[0] == '{' && v[len(v)-1] == '}' {
		v = v[1 : len(v)-1]
	}
	var hex [32]byte
	n := 0
	for i, c := range v {
		if c == '-' {
			if len(v) != 36 || (i != 8 && i != 13 && i != 18 && i != 23) {
				return dst, false
			}
			continue
		}
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return dst, false
		}
		if n == 32 {
			return dst, false
		}
		hex[n] = c
		n++
	}
	if n != 32 {
		return dst, false
	}
	dst = append(dst, hex[0:8]...)
	dst = append(dst, '-')
	dst = append(dst, hex[8:12]...)
	dst = append(dst, '-')
	dst = append(dst, hex[12:16]...)
	dst = append(dst, '-')
	dst = append(dst, hex[16:20]...)
	dst = append(dst, '-')
	dst = append(dst, hex[20:32]...)
	return dst, true
}

// bstr views b as a string without copying; the string must not outlive
// b's contents.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
