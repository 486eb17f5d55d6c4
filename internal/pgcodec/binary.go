package pgcodec

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
)

// Binary encodings of single values, in PostgreSQL's send formats.

const (
	numericPos = 0x0000
	numericNeg = 0x4000
)

func appendInt16(dst []byte, v int16) []byte { return binary.BigEndian.AppendUint16(dst, uint16(v)) }
func appendInt32(dst []byte, v int32) []byte { return binary.BigEndian.AppendUint32(dst, uint32(v)) }
func appendInt64(dst []byte, v int64) []byte { return binary.BigEndian.AppendUint64(dst, uint64(v)) }

func appendFloat4Binary(dst []byte, v float32) []byte {
	return binary.BigEndian.AppendUint32(dst, math.Float32bits(v))
}

func appendFloat8Binary(dst []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
}

// appendNumericBinary appends numeric_send's format for the decimal digits
// of a magnitude (ASCII, no sign) with scale digits after the point: int16
// ndigits, weight, sign, dscale, then ndigits base-10000 digits.
func appendNumericBinary(dst []byte, neg bool, digits []byte, scale int) []byte {
	var groups [48]int16
	n := 0
	// Integer part: the leading len(digits)-scale digits.
	ip := len(digits) - scale
	if ip > 0 {
		first := ip % 4
		if first == 0 {
			first = 4
		}
		for i := 0; i < ip; {
			end := i + first
			if i > 0 {
				end = i + 4
			}
			groups[n] = int16(atoi4(digits[i:end]))
			n++
			first, i = 4, end
		}
	}
	weight := n - 1
	// Fraction: the last scale digits, padded on the left with zeros when
	// the magnitude has fewer digits than the scale.
	if scale > 0 {
		var g, k int
		for i := 0; i < scale; i++ {
			pos := len(digits) - scale + i
			d := 0
			if pos >= 0 {
				d = int(digits[pos] - '0')
			}
			g = g*10 + d
			k++
			if k == 4 {
				groups[n] = int16(g)
				n++
				g, k = 0, 0
			}
		}
		if k > 0 {
			for ; k < 4; k++ {
				g *= 10
			}
			groups[n] = int16(g)
			n++
		}
	}
	start := 0
	for start < n && groups[start] == 0 {
		start++
		weight--
	}
	for n > start && groups[n-1] == 0 {
		n--
	}
	sign := int16(numericPos)
	if n == start {
		weight = 0
	} else if neg {
		sign = numericNeg
	}
	dst = appendInt16(dst, int16(n-start))
	dst = appendInt16(dst, int16(weight))
	dst = appendInt16(dst, sign)
	dst = appendInt16(dst, int16(max(scale, 0)))
	for _, g := range groups[start:n] {
		dst = appendInt16(dst, g)
	}
	return dst
}

func atoi4(b []byte) int {
	v := 0
	for _, c := range b {
		v = v*10 + int(c-'0')
	}
	return v
}

func appendNumericUint(dst []byte, neg bool, mag uint64, scale int) []byte {
	var buf [24]byte
	return appendNumericBinary(dst, neg, strconv.AppendUint(buf[:0], mag, 10), scale)
}

func appendNumericBig(dst []byte, v *big.Int, scale int) []byte {
	var buf [80]byte
	return appendNumericBinary(dst, v.Sign() < 0, new(big.Int).Abs(v).Append(buf[:0], 10), scale)
}

// pgDate converts days since 1970 to PostgreSQL's days since 2000, keeping
// infinities.
func pgDate(days int64) int32 {
	switch {
	case days >= dateInfinity:
		return math.MaxInt32
	case days <= dateNegInfinity:
		return math.MinInt32
	}
	return int32(days - unixToPGDays)
}

// pgTimestamp converts microseconds since 1970 to PostgreSQL's microseconds
// since 2000, keeping infinities.
func pgTimestamp(micros int64) int64 {
	switch {
	case micros >= tsInfinity:
		return math.MaxInt64
	case micros <= tsNegInfinity:
		return math.MinInt64
	}
	return micros - unixToPGMicros
}
