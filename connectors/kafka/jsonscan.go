package kafka

// The JSON scanner: one pass over a message that validates it and notes
// where the values of the known top-level fields lie (slots).

import (
	"strings"
)

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
