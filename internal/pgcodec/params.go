package pgcodec

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Interval is a decoded interval parameter, in PostgreSQL's (and DuckDB's)
// three fields.
type Interval struct {
	Months int32
	Days   int32
	Micros int64
}

// DecodeParam decodes one Bind parameter of type oid in format (0 text,
// 1 binary) into the Go value the engine binds:
//
//	nil data                  nil (SQL NULL)
//	int2, int4, int8          int64
//	float4, float8            float64
//	bool                      bool
//	date, timestamp(tz)       time.Time (UTC; infinities as the strings "infinity", "-infinity")
//	bytea                     []byte
//	interval (binary)         Interval
//	anything else             string, which DuckDB casts to the parameter's type
//	                          (numeric, uuid, time, interval text, json, text, unknown)
//
// Malformed text is 22P02 (22007 for dates and times); a binary value of the
// wrong length is 08P01.
func DecodeParam(oid uint32, format int16, data []byte) (any, error) {
	if data == nil {
		return nil, nil
	}
	if format == 1 {
		return decodeBinary(oid, data)
	}
	if format != 0 {
		return nil, pgerr.New(pgerrcode.ProtocolViolation, "unsupported format code: %d", format)
	}
	s := string(data)
	switch oid {
	case Int2OID, Int4OID, Int8OID:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, invalidText(oid, s)
		}
		return v, nil
	case Float4OID, Float8OID:
		v, err := parseFloatText(s)
		if err != nil {
			return nil, invalidText(oid, s)
		}
		return v, nil
	case BoolOID:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "y", "yes", "on", "1":
			return true, nil
		case "f", "false", "n", "no", "off", "0":
			return false, nil
		}
		return nil, invalidText(oid, s)
	case ByteaOID:
		return decodeByteaText(s)
	case DateOID:
		return parseTimeText(s, []string{"2006-01-02"}, "date")
	case TimestampOID:
		return parseTimeText(s, timestampLayouts, "timestamp")
	case TimestamptzOID:
		return parseTimeText(s, timestamptzLayouts, "timestamp with time zone")
	}
	return s, nil
}

var timestampLayouts = []string{
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02",
}

var timestamptzLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00:00", "2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02",
}

// parseTimeText parses the ISO forms clients send. Values without a zone
// are read as UTC (the engine runs with TimeZone UTC).
func parseTimeText(s string, layouts []string, typ string) (any, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "infinity", "-infinity":
		return strings.ToLower(t), nil
	}
	bc := strings.HasSuffix(t, " BC")
	t = strings.TrimSuffix(t, " BC")
	for _, l := range layouts {
		if v, err := time.Parse(l, t); err == nil {
			v = v.UTC()
			if bc {
				v = v.AddDate(1-2*v.Year(), 0, 0)
			}
			return v, nil
		}
	}
	return nil, pgerr.New(pgerrcode.InvalidDatetimeFormat, "invalid input syntax for type %s: %q", typ, s)
}

func parseFloatText(s string) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "infinity", "+infinity", "inf", "+inf":
		return math.Inf(1), nil
	case "-infinity", "-inf":
		return math.Inf(-1), nil
	case "nan":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

// decodeByteaText decodes bytea's hex (\x0a0b) or escape format.
func decodeByteaText(s string) (any, error) {
	if strings.HasPrefix(s, `\x`) {
		b, err := hex.DecodeString(s[2:])
		if err != nil {
			return nil, invalidText(ByteaOID, s)
		}
		return b, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			out = append(out, '\\')
			i++
		case i+3 < len(s):
			v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err != nil {
				return nil, invalidText(ByteaOID, s)
			}
			out = append(out, byte(v))
			i += 3
		default:
			return nil, invalidText(ByteaOID, s)
		}
	}
	return out, nil
}

func invalidText(oid uint32, s string) error {
	return pgerr.New(pgerrcode.InvalidTextRepresentation, "invalid input syntax for type %s: %q", typeName(oid), s)
}

func typeName(oid uint32) string {
	switch oid {
	case Int2OID:
		return "smallint"
	case Int4OID:
		return "integer"
	case Int8OID:
		return "bigint"
	case Float4OID:
		return "real"
	case Float8OID:
		return "double precision"
	case BoolOID:
		return "boolean"
	case ByteaOID:
		return "bytea"
	case NumericOID:
		return "numeric"
	case UUIDOID:
		return "uuid"
	}
	return "oid " + strconv.FormatUint(uint64(oid), 10)
}

// decodeBinary decodes PostgreSQL's binary send formats.
func decodeBinary(oid uint32, b []byte) (any, error) {
	size := func(n int) error {
		if len(b) != n {
			return pgerr.New(pgerrcode.ProtocolViolation,
				"incorrect binary data format in bind parameter: %s needs %d bytes, got %d", typeName(oid), n, len(b))
		}
		return nil
	}
	be := binary.BigEndian
	switch oid {
	case BoolOID:
		if err := size(1); err != nil {
			return nil, err
		}
		return b[0] != 0, nil
	case Int2OID:
		if err := size(2); err != nil {
			return nil, err
		}
		return int64(int16(be.Uint16(b))), nil
	case Int4OID:
		if err := size(4); err != nil {
			return nil, err
		}
		return int64(int32(be.Uint32(b))), nil
	case Int8OID:
		if err := size(8); err != nil {
			return nil, err
		}
		return int64(be.Uint64(b)), nil
	case Float4OID:
		if err := size(4); err != nil {
			return nil, err
		}
		return float64(math.Float32frombits(be.Uint32(b))), nil
	case Float8OID:
		if err := size(8); err != nil {
			return nil, err
		}
		return math.Float64frombits(be.Uint64(b)), nil
	case DateOID:
		if err := size(4); err != nil {
			return nil, err
		}
		switch d := int32(be.Uint32(b)); d {
		case math.MaxInt32:
			return "infinity", nil
		case math.MinInt32:
			return "-infinity", nil
		default:
			return time.Unix((int64(d)+unixToPGDays)*86400, 0).UTC(), nil
		}
	case TimeOID:
		if err := size(8); err != nil {
			return nil, err
		}
		return string(appendClock(nil, int64(be.Uint64(b)))), nil
	case TimestampOID, TimestamptzOID:
		if err := size(8); err != nil {
			return nil, err
		}
		switch us := int64(be.Uint64(b)); us {
		case math.MaxInt64:
			return "infinity", nil
		case math.MinInt64:
			return "-infinity", nil
		default:
			return time.UnixMicro(us + unixToPGMicros).UTC(), nil
		}
	case IntervalOID:
		if err := size(16); err != nil {
			return nil, err
		}
		return Interval{Micros: int64(be.Uint64(b)), Days: int32(be.Uint32(b[8:])), Months: int32(be.Uint32(b[12:]))}, nil
	case UUIDOID:
		if err := size(16); err != nil {
			return nil, err
		}
		return string(appendUUIDText(nil, b)), nil
	case NumericOID:
		return decodeNumericBinary(b)
	case ByteaOID:
		return append([]byte(nil), b...), nil
	}
	// text, varchar, json, unknown and unspecified types: the bytes are text.
	return string(b), nil
}

// decodeNumericBinary turns numeric_send's format into decimal text.
func decodeNumericBinary(b []byte) (any, error) {
	bad := pgerr.New(pgerrcode.ProtocolViolation, "incorrect binary data format in bind parameter: numeric")
	if len(b) < 8 {
		return nil, bad
	}
	be := binary.BigEndian
	n := int(int16(be.Uint16(b)))
	weight := int(int16(be.Uint16(b[2:])))
	sign := be.Uint16(b[4:])
	dscale := int(int16(be.Uint16(b[6:])))
	if n < 0 || len(b) != 8+2*n || dscale < 0 {
		return nil, bad
	}
	switch sign {
	case 0xC000:
		return "NaN", nil
	case 0xD000:
		return "Infinity", nil
	case 0xF000:
		return "-Infinity", nil
	}
	if sign != 0 && sign != numericNeg {
		return nil, bad
	}
	for k := range n {
		if be.Uint16(b[8+2*k:]) >= 10000 { // a base-10000 digit, as numeric_recv checks
			return nil, bad
		}
	}
	var sb strings.Builder
	if sign == numericNeg {
		sb.WriteByte('-')
	}
	digit := func(k int) int {
		if k < 0 || k >= n {
			return 0
		}
		return int(be.Uint16(b[8+2*k:]))
	}
	if weight < 0 {
		sb.WriteByte('0')
	} else {
		for k := 0; k <= weight; k++ {
			d := strconv.Itoa(digit(k))
			if k > 0 {
				sb.WriteString(strings.Repeat("0", 4-len(d)))
			}
			sb.WriteString(d)
		}
	}
	if dscale > 0 {
		var frac strings.Builder
		for k := weight + 1; frac.Len() < dscale; k++ {
			d := strconv.Itoa(digit(k))
			frac.WriteString(strings.Repeat("0", 4-len(d)) + d)
		}
		sb.WriteByte('.')
		sb.WriteString(frac.String()[:dscale])
	}
	return sb.String(), nil
}
