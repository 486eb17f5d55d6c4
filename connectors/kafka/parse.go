package kafka

// Parsing the text of a value: integers, booleans, timestamps and UUIDs
// as a value column accepts them.

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

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
