package httpsource

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluice-db/sluice/connectors"
)

// Column types of JSON and CSV content (the types inference chooses; a
// fixed schema may also use the narrower integers and Float32).
var (
	tsUTC   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tsLocal = &arrow.TimestampType{Unit: arrow.Microsecond}
)

// jsonMeta marks a String column holding JSON text.
var jsonMeta = arrow.NewMetadata([]string{connectors.TypeKey}, []string{"json"})

func isJSONField(f arrow.Field) bool {
	v, ok := f.Metadata.GetValue(connectors.TypeKey)
	return ok && v == "json"
}

// textType reports whether JSON and CSV content can fill a column of dt.
func textType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.BOOL, arrow.INT16, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.DATE32:
		return true
	case arrow.TIMESTAMP:
		ts := dt.(*arrow.TimestampType)
		return ts.Unit == arrow.Microsecond && (ts.TimeZone == "" || ts.TimeZone == "UTC")
	}
	return false
}

// Timestamp layouts of text: with a zone (UTC columns) and without.
var (
	zonedLayouts = []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999 Z07:00"}
	localLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"}
)

func parseTime(layouts []string, s string) (time.Time, bool) {
	if len(s) < len("2006-01-02 15:04") || (s[10] != 'T' && s[10] != ' ') {
		return time.Time{}, false
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseDate(s string) (time.Time, bool) {
	if len(s) != len("2006-01-02") {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", s)
	return t, err == nil
}

// textAppender appends a text value (CSV, or a JSON string) to a builder of
// f's type. The caller handles nulls.
func textAppender(f arrow.Field) func(array.Builder, string) error {
	switch dt := f.Type.(type) {
	case *arrow.BooleanType:
		return func(b array.Builder, s string) error {
			switch {
			case strings.EqualFold(s, "true"):
				b.(*array.BooleanBuilder).Append(true)
			case strings.EqualFold(s, "false"):
				b.(*array.BooleanBuilder).Append(false)
			default:
				return fmt.Errorf("%q is not a boolean", s)
			}
			return nil
		}
	case *arrow.Int16Type:
		return func(b array.Builder, s string) error {
			v, err := strconv.ParseInt(s, 10, 16)
			if err != nil {
				return fmt.Errorf("%q is not a smallint", s)
			}
			b.(*array.Int16Builder).Append(int16(v))
			return nil
		}
	case *arrow.Int32Type:
		return func(b array.Builder, s string) error {
			v, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return fmt.Errorf("%q is not an integer", s)
			}
			b.(*array.Int32Builder).Append(int32(v))
			return nil
		}
	case *arrow.Int64Type:
		return func(b array.Builder, s string) error {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a bigint", s)
			}
			b.(*array.Int64Builder).Append(v)
			return nil
		}
	case *arrow.Float32Type:
		return func(b array.Builder, s string) error {
			v, err := strconv.ParseFloat(s, 32)
			if err != nil {
				return fmt.Errorf("%q is not a real", s)
			}
			b.(*array.Float32Builder).Append(float32(v))
			return nil
		}
	case *arrow.Float64Type:
		return func(b array.Builder, s string) error {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("%q is not a double precision", s)
			}
			b.(*array.Float64Builder).Append(v)
			return nil
		}
	case *arrow.Date32Type:
		return func(b array.Builder, s string) error {
			t, ok := parseDate(s)
			if !ok {
				return fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
			}
			b.(*array.Date32Builder).Append(arrow.Date32FromTime(t))
			return nil
		}
	case *arrow.TimestampType:
		layouts := localLayouts
		if dt.TimeZone != "" {
			layouts = zonedLayouts
		}
		return func(b array.Builder, s string) error {
			t, ok := parseTime(layouts, s)
			if !ok {
				if dt.TimeZone != "" {
					return fmt.Errorf("%q is not a timestamp with a time zone", s)
				}
				return fmt.Errorf("%q is not a timestamp without a time zone", s)
			}
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(t.UnixMicro()))
			return nil
		}
	default: // String
		return func(b array.Builder, s string) error {
			b.(*array.StringBuilder).Append(s)
			return nil
		}
	}
}

// jsonAppender appends a JSON value (not null) to a builder of f's type.
// A String column takes strings as their text and other values as JSON
// text; a JSON column takes every value as JSON text.
func jsonAppender(f arrow.Field) func(array.Builder, []byte) error {
	text := textAppender(f)
	switch f.Type.ID() {
	case arrow.STRING:
		if isJSONField(f) {
			return func(b array.Builder, raw []byte) error {
				b.(*array.StringBuilder).BinaryBuilder.Append(raw)
				return nil
			}
		}
		return func(b array.Builder, raw []byte) error {
			if raw[0] != '"' {
				b.(*array.StringBuilder).BinaryBuilder.Append(raw)
				return nil
			}
			s, err := unquote(raw)
			if err != nil {
				return err
			}
			b.(*array.StringBuilder).Append(s)
			return nil
		}
	case arrow.BOOL:
		return func(b array.Builder, raw []byte) error {
			switch string(raw) {
			case "true":
				b.(*array.BooleanBuilder).Append(true)
			case "false":
				b.(*array.BooleanBuilder).Append(false)
			default:
				return fmt.Errorf("%s is not a boolean", clip(raw))
			}
			return nil
		}
	case arrow.INT16, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64:
		return func(b array.Builder, raw []byte) error {
			if kindOf(raw)&(kindInt|kindFloat) == 0 {
				return fmt.Errorf("%s is not a number", clip(raw))
			}
			return text(b, string(raw))
		}
	default: // dates and timestamps, from strings
		return func(b array.Builder, raw []byte) error {
			if raw[0] != '"' {
				return fmt.Errorf("%s is not a string", clip(raw))
			}
			s, err := unquote(raw)
			if err != nil {
				return err
			}
			return text(b, s)
		}
	}
}

// unquote decodes a JSON string.
func unquote(raw []byte) (string, error) {
	inner := raw[1 : len(raw)-1]
	if !strings.ContainsRune(string(inner), '\\') && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// clip shortens a value quoted in an error.
func clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	return string(raw)
}

// kind is a set of the kinds of value seen in a column.
type kind uint8

const (
	kindBool kind = 1 << iota
	kindInt
	kindFloat
	kindString
	kindNested
	// CSV only:
	kindDate
	kindTS
	kindTSZone
)

// kindOf is the kind of a JSON value (0 for null).
func kindOf(raw []byte) kind {
	switch raw[0] {
	case 'n':
		return 0
	case 't', 'f':
		return kindBool
	case '"':
		return kindString
	case '{', '[':
		return kindNested
	}
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			return kindFloat
		}
	}
	if _, err := strconv.ParseInt(string(raw), 10, 64); err != nil {
		return kindFloat // an integer beyond int64
	}
	return kindInt
}

// textKind is the kind of a CSV value ("" is null).
func textKind(s string) kind {
	if s == "" {
		return 0
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return kindInt
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return kindFloat
	}
	if strings.EqualFold(s, "true") || strings.EqualFold(s, "false") {
		return kindBool
	}
	if _, ok := parseDate(s); ok {
		return kindDate
	}
	if _, ok := parseTime(localLayouts, s); ok {
		return kindTS
	}
	if _, ok := parseTime(zonedLayouts, s); ok {
		return kindTSZone
	}
	return kindString
}

// field is the column a set of kinds infers: one kind gives its type,
// integers and floats give float64, anything else mixed gives string, and
// nested values alone give JSON text.
func field(name string, k kind) arrow.Field {
	f := arrow.Field{Name: name, Nullable: true, Type: arrow.BinaryTypes.String}
	switch k {
	case kindBool:
		f.Type = arrow.FixedWidthTypes.Boolean
	case kindInt:
		f.Type = arrow.PrimitiveTypes.Int64
	case kindFloat, kindInt | kindFloat:
		f.Type = arrow.PrimitiveTypes.Float64
	case kindDate:
		f.Type = arrow.FixedWidthTypes.Date32
	case kindTS:
		f.Type = tsLocal
	case kindTSZone:
		f.Type = tsUTC
	case kindNested:
		f.Metadata = jsonMeta
	}
	return f
}
