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
	if t, ok := parseTimestampUTC(s); ok {
		return t, true
	}
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

// parseTimestampUTC is the common case without time.Parse: exactly
// "YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z]", whose fields it checks as
// time.Parse does. Anything else (zones, other forms, out of range
// fields) is false, and parseTimestamp tries the layouts.
func parseTimestampUTC(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	if day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	rest, nsec := s[19:], 0
	if len(rest) > 0 && rest[0] == '.' {
		digits := 0
		for digits+1 < len(rest) && rest[digits+1] >= '0' && rest[digits+1] <= '9' {
			digits++
		}
		if digits == 0 || digits > 9 {
			return time.Time{}, false
		}
		nsec = num(20, digits)
		for range 9 - digits {
			nsec *= 10
		}
		rest = rest[1+digits:]
	}
	if rest != "" && rest != "Z" {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int(m-1)%7%2
}
