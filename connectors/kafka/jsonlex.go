package kafka

// The JSON lexer under the scanner: white space, literals, strings,
// numbers, skipping a whole value, and unescaping a string's text.

import (
	"unicode/utf16"
	"unicode/utf8"
)

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func hasLit(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// strPlain marks the bytes a JSON string holds as they are.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString scans the string starting at b[i] == '"' and returns the index
// after its closing quote and whether it holds escapes.
func scanString(b []byte, i int) (end int, esc, ok bool) {
	end, esc, _, ok = scanStringASCII(b, i)
	return end, esc, ok
}

// scanStringASCII is scanString, also telling whether the string's bytes
// are all ASCII (so its text needs no UTF-8 check).
func scanStringASCII(b []byte, i int) (end int, esc, ascii, ok bool) {
	j := i + 1
	var high byte
	for {
		for j < len(b) && strPlain[b[j]] {
			high |= b[j]
			j++
		}
		if j >= len(b) {
			return 0, false, false, false
		}
		switch b[j] {
		case '"':
			return j + 1, esc, high < 0x80, true
		case '\\':
			esc = true
			if j+1 >= len(b) {
				return 0, false, false, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					return 0, false, false, false
				}
				for _, h := range b[j+2 : j+6] {
					if hexVal(h) < 0 {
						return 0, false, false, false
					}
				}
				high = 0x80 // \u escapes may spell anything
				j += 6
			default:
				return 0, false, false, false
			}
		default: // a control character
			return 0, false, false, false
		}
	}
}

// scanNumber scans a JSON number at b[i]; isInt is false when it has a
// fraction or an exponent.
func scanNumber(b []byte, i int) (end int, isInt, ok bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		return 0, false, false
	}
	isInt = true
	if j < len(b) && b[j] == '.' {
		isInt = false
		j++
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		isInt = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false, false
		}
	}
	return j, isInt, true
}

// skipValue validates the JSON value at b[i] and returns the index after it.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case 't':
		return i + 4, hasLit(b, i, "true")
	case 'f':
		return i + 5, hasLit(b, i, "false")
	case 'n':
		return i + 4, hasLit(b, i, "null")
	case '{', '[':
		if depth >= maxDepth {
			return 0, false
		}
		obj := b[i] == '{'
		closer := byte(']')
		if obj {
			closer = '}'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if obj {
				if i >= len(b) || b[i] != '"' {
					return 0, false
				}
				end, _, ok := scanString(b, i)
				if !ok {
					return 0, false
				}
				i = skipWS(b, end)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = skipWS(b, i+1)
			}
			end, ok := skipValue(b, i, depth+1)
			if !ok {
				return 0, false
			}
			i = skipWS(b, end)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = skipWS(b, i+1)
		}
	}
	end, _, ok := scanNumber(b, i)
	return end, ok
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// unescapeJSON appends the text of a JSON string's contents (already
// validated by scanString) to dst. Unpaired surrogates become U+FFFD.
func unescapeJSON(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(s[i+3:])); r2 != utf8.RuneError {
						r = r2
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // " \ /
			dst = append(dst, s[i])
		}
	}
	return dst
}

func hex4(b []byte) rune {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}
