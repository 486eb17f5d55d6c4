package pgcodec

import (
	"encoding/hex"
	"math"
	"math/big"
	"strconv"
	"time"
)

// Text encodings of single values, in PostgreSQL's output formats
// (DateStyle ISO, IntervalStyle postgres, extra_float_digits 1, TimeZone UTC).

// Special values PostgreSQL and DuckDB both use for infinite dates/timestamps.
const (
	dateInfinity     = math.MaxInt32
	dateNegInfinity  = -math.MaxInt32
	tsInfinity       = math.MaxInt64
	tsNegInfinity    = -math.MaxInt64
	unixToPGDays     = 10957 // days from 1970-01-01 to 2000-01-01
	unixToPGMicros   = unixToPGDays * 86400 * 1000000
	microsPerSecond  = 1000000
	microsPerDay     = 86400 * microsPerSecond
	microsPerHour    = 3600 * microsPerSecond
	microsPerMinute  = 60 * microsPerSecond
	pgNegInfinityI64 = math.MinInt64
)

func appendBoolText(dst []byte, v bool) []byte {
	if v {
		return append(dst, 't')
	}
	return append(dst, 'f')
}

// appendFloatText formats like PostgreSQL 12+ float4out/float8out: the
// shortest representation that round-trips, in fixed notation when the
// decimal exponent is in [-4, digits) (digits = 15 for float8, 6 for float4),
// else in exponent notation with a sign and at least two exponent digits.
func appendFloatText(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	a := math.Abs(f)
	if bits == 32 {
		a32 := float32(a)
		if a32 == 0 || (a32 >= 1e-4 && a32 < 1e6) {
			return strconv.AppendFloat(dst, f, 'f', -1, 32)
		}
		return strconv.AppendFloat(dst, f, 'e', -1, 32)
	}
	if a == 0 || (a >= 1e-4 && a < 1e15) {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'e', -1, 64)
}

// appendScaled appends the decimal digits of an unsigned magnitude with a
// decimal point scale digits from the right, as numeric_out prints it.
func appendScaled(dst []byte, neg bool, mag uint64, scale int) []byte {
	var buf [24]byte
	digits := strconv.AppendUint(buf[:0], mag, 10)
	return appendScaledDigits(dst, neg, digits, scale)
}

func appendScaledDigits(dst []byte, neg bool, digits []byte, scale int) []byte {
	if neg && !(len(digits) == 1 && digits[0] == '0') {
		dst = append(dst, '-')
	}
	if scale <= 0 {
		dst = append(dst, digits...)
		for range -scale {
			dst = append(dst, '0')
		}
		return dst
	}
	if len(digits) <= scale {
		dst = append(dst, '0', '.')
		for range scale - len(digits) {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	ip := len(digits) - scale
	dst = append(dst, digits[:ip]...)
	dst = append(dst, '.')
	return append(dst, digits[ip:]...)
}

// appendBigScaled formats a big integer with scale.
func appendBigScaled(dst []byte, n *big.Int, scale int) []byte {
	var buf [80]byte
	digits := new(big.Int).Abs(n).Append(buf[:0], 10)
	return appendScaledDigits(dst, n.Sign() < 0, digits, scale)
}

// appendDateText appends a date given in days since 1970-01-01.
func appendDateText(dst []byte, days int64) []byte {
	switch {
	case days >= dateInfinity:
		return append(dst, "infinity"...)
	case days <= dateNegInfinity:
		return append(dst, "-infinity"...)
	}
	y, m, d := time.Unix(days*86400, 0).UTC().Date()
	dst, bc := appendYear(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(m))
	dst = append(dst, '-')
	dst = append2(dst, d)
	if bc {
		dst = append(dst, " BC"...)
	}
	return dst
}

// appendYear appends a year with at least four digits; years <= 0 are
// printed as 1-year and reported as BC.
func appendYear(dst []byte, y int) ([]byte, bool) {
	bc := y <= 0
	if bc {
		y = 1 - y
	}
	for p := 1000; p > 1 && y < p; p /= 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(y), 10), bc
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// appendClock appends HH:MM:SS[.ffffff] for micros in [0, 24h], trimming
// trailing zeros of the fraction.
func appendClock(dst []byte, micros int64) []byte {
	h := micros / microsPerHour
	micros -= h * microsPerHour
	m := micros / microsPerMinute
	micros -= m * microsPerMinute
	dst = append2(dst, int(h))
	dst = append(dst, ':')
	dst = append2(dst, int(m))
	dst = append(dst, ':')
	return appendSeconds(dst, micros)
}

// appendSeconds appends SS[.ffffff] for micros < 60s, trimming trailing
// zeros of the fraction.
func appendSeconds(dst []byte, micros int64) []byte {
	s := micros / microsPerSecond
	frac := micros - s*microsPerSecond
	dst = append2(dst, int(s))
	if frac == 0 {
		return dst
	}
	var f [6]byte
	for i := 5; i >= 0; i-- {
		f[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 6
	for n > 0 && f[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, f[:n]...)
}

// appendTimestampText appends a timestamp given in microseconds since the
// Unix epoch; tz adds the UTC offset suffix "+00".
func appendTimestampText(dst []byte, micros int64, tz bool) []byte {
	switch {
	case micros >= tsInfinity:
		return append(dst, "infinity"...)
	case micros <= tsNegInfinity:
		return append(dst, "-infinity"...)
	}
	days := floorDiv(micros, microsPerDay)
	tod := micros - days*microsPerDay
	y, m, d := time.Unix(days*86400, 0).UTC().Date()
	dst, bc := appendYear(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(m))
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, ' ')
	dst = appendClock(dst, tod)
	if tz {
		dst = append(dst, "+00"...)
	}
	if bc {
		dst = append(dst, " BC"...)
	}
	return dst
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// appendTimetzText appends a time of day and an offset in seconds east of
// UTC as timetz_out prints it: 13:04:05+01, 13:04:05-05:30.
func appendTimetzText(dst []byte, micros int64, offset int32) []byte {
	dst = appendClock(dst, micros)
	if offset < 0 {
		dst = append(dst, '-')
		offset = -offset
	} else {
		dst = append(dst, '+')
	}
	dst = append2(dst, int(offset/3600))
	if mm, ss := offset/60%60, offset%60; mm != 0 || ss != 0 {
		dst = append(dst, ':')
		dst = append2(dst, int(mm))
		if ss != 0 {
			dst = append(dst, ':')
			dst = append2(dst, int(ss))
		}
	}
	return dst
}

// appendIntervalText appends an interval in IntervalStyle postgres, e.g.
// "1 year 2 mons 3 days 04:05:06.5", "-1 days +02:00:00", "00:00:00".
func appendIntervalText(dst []byte, months, days int32, micros int64) []byte {
	zero, before := true, false
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if !zero {
			dst = append(dst, ' ')
		}
		if before && v > 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, v, 10)
		dst = append(dst, ' ')
		dst = append(dst, unit...)
		if v != 1 {
			dst = append(dst, 's')
		}
		before, zero = v < 0, false
	}
	part(int64(months/12), "year")
	part(int64(months%12), "mon")
	part(int64(days), "day")
	if zero || micros != 0 {
		if !zero {
			dst = append(dst, ' ')
		}
		u := uint64(micros)
		if micros < 0 {
			dst = append(dst, '-')
			u = uint64(-micros)
		} else if before {
			dst = append(dst, '+')
		}
		h := u / microsPerHour
		u -= h * microsPerHour
		m := u / microsPerMinute
		u -= m * microsPerMinute
		if h < 10 {
			dst = append(dst, '0')
		}
		dst = strconv.AppendUint(dst, h, 10)
		dst = append(dst, ':')
		dst = append2(dst, int(m))
		dst = append(dst, ':')
		dst = appendSeconds(dst, int64(u))
	}
	return dst
}

// appendByteaText appends bytes in bytea_output hex: \x0a0b.
func appendByteaText(dst []byte, b []byte) []byte {
	dst = append(dst, '\\', 'x')
	return hex.AppendEncode(dst, b)
}

// appendUUIDText appends the lower-case canonical form of a 16-byte UUID.
func appendUUIDText(dst []byte, u []byte) []byte {
	dst = hex.AppendEncode(dst, u[0:4])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, u[4:6])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, u[6:8])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, u[8:10])
	dst = append(dst, '-')
	return hex.AppendEncode(dst, u[10:16])
}

// appendBitText appends a DuckDB BIT value (a padding count byte followed by
// the bits, the first padding bits unused) as a string of 0 and 1.
func appendBitText(dst []byte, b []byte) []byte {
	if len(b) == 0 {
		return dst
	}
	pad := int(b[0])
	for i := pad; i < (len(b)-1)*8; i++ {
		if b[1+i/8]&(0x80>>(i%8)) != 0 {
			dst = append(dst, '1')
		} else {
			dst = append(dst, '0')
		}
	}
	return dst
}
