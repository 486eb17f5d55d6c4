package kafka

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A decoder turns one message value into the value columns: every call
// appends exactly one value or NULL to each column. A value that is not
// valid for the format (bad JSON, an unterminated CSV quote) is a row of
// NULLs; a field the column cannot hold is NULL. A read never fails
// because of a message's contents.
type decoder interface {
	decode(v []byte)
}

// textDecoder: the whole value is one text column.
type textDecoder struct{ col *column }

func (d *textDecoder) decode(v []byte) {
	if v == nil {
		d.col.appendNull()
		return
	}
	d.col.appendValue(vText, v)
}

// csvDecoder: the value is one CSV record (RFC 4180 quoting, no header);
// field i fills column i. Missing fields and unquoted empty fields are
// NULL (as in PostgreSQL's COPY CSV); extra fields are ignored.
type csvDecoder struct {
	cols    []*column
	delim   byte
	fields  []csvField
	scratch []byte
}

type csvField struct {
	start, end int
	quoted     bool
	esc        bool // holds a doubled quote
}

func (d *csvDecoder) decode(v []byte) {
	var ok bool
	if v != nil {
		d.fields, ok = splitCSV(v, d.delim, d.fields[:0])
	}
	if !ok {
		for _, c := range d.cols {
			c.appendNull()
		}
		return
	}
	for i, c := range d.cols {
		if i >= len(d.fields) {
			c.appendNull()
			continue
		}
		f := d.fields[i]
		if f.start == f.end && !f.quoted {
			c.appendNull()
			continue
		}
		val := v[f.start:f.end]
		if f.esc {
			d.scratch = d.scratch[:0]
			for j := 0; j < len(val); j++ {
				d.scratch = append(d.scratch, val[j])
				if val[j] == '"' {
					j++
				}
			}
			val = d.scratch
		}
		c.appendValue(vText, val)
	}
}

// splitCSV splits one record into fields (a trailing line break is not
// part of it); ok is false for a malformed quoted field.
func splitCSV(b []byte, delim byte, fields []csvField) ([]csvField, bool) {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
		if n > 0 && b[n-1] == '\r' {
			n--
		}
	}
	i := 0
	for {
		if i < n && b[i] == '"' {
			f := csvField{start: i + 1, quoted: true}
			j := i + 1
			for {
				if j >= n {
					return fields, false
				}
				if b[j] == '"' {
					if j+1 < n && b[j+1] == '"' {
						f.esc = true
						j += 2
						continue
					}
					break
				}
				j++
			}
			f.end = j
			fields = append(fields, f)
			j++
			if j == n {
				return fields, true
			}
			if b[j] != delim {
				return fields, false
			}
			i = j + 1
			continue
		}
		j := i
		for j < n && b[j] != delim {
			j++
		}
		fields = append(fields, csvField{start: i, end: j})
		if j >= n {
			return fields, true
		}
		i = j + 1
	}
}

// vNull marks a slot set to JSON null (only in jsonScanner slots).
const vNull valueType = 255

// slot is where one field's value lies in the message being decoded.
type slot struct {
	gen        uint32 // == jsonScanner.gen when set by the current message
	t          valueType
	esc        bool // vText holding escapes
	ascii      bool // vText of ASCII bytes only
	start, end int32
}

// jsonScanner finds the values of known top-level fields in a JSON object
// without building any intermediate values: one pass validates the whole
// document and records, per known field, where its value lies. Unknown
// fields are skipped (validated, not decoded). When grow is set (schema
// inference) every field becomes known in order of first appearance.
type jsonScanner struct {
	index map[string]int
	names []string
	slots []slot
	raw   []bool // the field's value is kept as raw JSON
	gen   uint32
	grow  bool
	keys  []byte // unescaped key scratch

	// Messages of a topic mostly name the same fields in the same order:
	// the key at position k of the last message and its column (-1 for
	// an unknown field) are tried before the map.
	lastKey []string
	lastCol []int
}

func newJSONScanner(names []string, raw []bool, grow bool) *jsonScanner {
	s := &jsonScanner{index: make(map[string]int, len(names)), grow: grow}
	for i, n := range names {
		s.index[n] = i
	}
	s.names = append(s.names, names...)
	s.slots = make([]slot, len(names))
	s.raw = append(make([]bool, 0, len(names)), raw...)
	for len(s.raw) < len(names) {
		s.raw = append(s.raw, false)
	}
	return s
}

// maxDepth bounds the nesting of a JSON value.
const maxDepth = 512

// scan validates b as a JSON object and fills the slots of its known
// fields; a field given twice keeps its first value.
func (s *jsonScanner) scan(b []byte) bool {
	s.gen++
	if s.gen == 0 { // wrapped: forget every slot
		clear(s.slots)
		s.gen = 1
	}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for k := 0; ; {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ke, esc, ok := scanString(b, i)
		if !ok {
			return false
		}
		key := b[i+1 : ke-1]
		if esc {
			s.keys = unescapeJSON(s.keys[:0], key)
			key = s.keys
		}
		var col int
		var known bool
		if k < len(s.lastKey) && s.lastKey[k] == string(key) {
			col = s.lastCol[k]
			known = col >= 0
		} else {
			col, known = s.index[string(key)]
			if !known {
				col = -1
			}
			if !s.grow {
				s.remember(k, string(key), col)
			}
		}
		k++
		if !known && s.grow && len(key) > 0 {
			col, known = len(s.names), true
			name := string(key)
			s.index[name] = col
			s.names = append(s.names, name)
			s.slots = append(s.slots, slot{})
			s.raw = append(s.raw, false)
		}
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		var sl slot
		start := i
		switch c := b[i]; c {
		case '"':
			end, esc, ascii, ok := scanStringASCII(b, i)
			if !ok {
				return false
			}
			if known && s.raw[col] {
				sl = slot{t: vQuoted, ascii: ascii, start: int32(start), end: int32(end)}
			} else {
				sl = slot{t: vText, esc: esc, ascii: ascii, start: int32(start + 1), end: int32(end - 1)}
			}
			i = end
		case '{', '[':
			end, ok := skipValue(b, i, 0)
			if !ok {
				return false
			}
			sl = slot{t: vComposite, start: int32(start), end: int32(end)}
			i = end
		case 't':
			if !hasLit(b, i, "true") {
				return false
			}
			i += 4
			sl = slot{t: vTrue, start: int32(start), end: int32(i)}
		case 'f':
			if !hasLit(b, i, "false") {
				return false
			}
			i += 5
			sl = slot{t: vFalse, start: int32(start), end: int32(i)}
		case 'n':
			if !hasLit(b, i, "null") {
				return false
			}
			i += 4
			sl = slot{t: vNull}
		default:
			end, _, ok := scanNumber(b, i)
			if !ok {
				return false
			}
			sl = slot{t: vNumber, start: int32(start), end: int32(end)}
			i = end
		}
		if known && s.slots[col].gen != s.gen {
			sl.gen = s.gen
			s.slots[col] = sl
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return skipWS(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// remember notes that the k-th key of a message was key, of column col.
func (s *jsonScanner) remember(k int, key string, col int) {
	if k > len(s.lastKey) || k >= maxColumns {
		return
	}
	if k == len(s.lastKey) {
		s.lastKey = append(s.lastKey, "")
		s.lastCol = append(s.lastCol, 0)
	}
	if s.lastKey[k] != key {
		s.lastKey[k] = strings.Clone(key)
	}
	s.lastCol[k] = col
}

// jsonDecoder: the value is a JSON object; its top-level fields fill the
// columns of the same name (case-sensitive).
type jsonDecoder struct {
	cols    []*column
	sc      *jsonScanner
	scratch []byte
}

func newJSONDecoder(cols []*column) *jsonDecoder {
	names := make([]string, len(cols))
	raw := make([]bool, len(cols))
	for i, c := range cols {
		names[i], raw[i] = c.name, c.wantsRaw()
	}
	return &jsonDecoder{cols: cols, sc: newJSONScanner(names, raw, false)}
}

func (d *jsonDecoder) decode(v []byte) {
	if v == nil || !d.sc.scan(v) {
		for _, c := range d.cols {
			c.appendNull()
		}
		return
	}
	gen := d.sc.gen
	for j, c := range d.cols {
		sl := &d.sc.slots[j]
		if sl.gen != gen || sl.t == vNull {
			c.appendNull()
			continue
		}
		val := v[sl.start:sl.end]
		if sl.esc {
			d.scratch = unescapeJSON(d.scratch[:0], val)
			val = d.scratch
		}
		if sl.ascii && (sl.t == vText || sl.t == vQuoted) {
			c.appendValidValue(sl.t, val)
		} else {
			c.appendValue(sl.t, val)
		}
	}
}

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
