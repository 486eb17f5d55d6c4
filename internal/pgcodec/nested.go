package pgcodec

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Nested values have no PostgreSQL type Sluice describes them with, so they
// are sent as text (OID 25) in both formats:
//
//   - a LIST or ARRAY as a PostgreSQL array literal, {1,2,NULL}, elements
//     quoted as array_out quotes them ("a b", "", "NULL", "x\"y"), a list of
//     lists as a multi-dimensional literal {{1,2},{3}};
//   - a STRUCT or MAP as DuckDB prints it, {'a': 1, 'b': x} and {k=v}, which
//     keeps the field names a PostgreSQL row literal would lose; values
//     inside are written as DuckDB writes them (lists as [1, 2]).

// pgArrayText writes a list as a PostgreSQL array literal.
func pgArrayText(a array.ListLike) appendFunc {
	child := a.ListValues()
	_, nestedList := child.(array.ListLike)
	if _, isMap := child.(*array.Map); isMap {
		nestedList = false
	}
	elem := fieldText(elemField(a), child, false)
	var scratch []byte
	return func(dst []byte, i int) []byte {
		start, end := a.ValueOffsets(i)
		dst = append(dst, '{')
		for j := start; j < end; j++ {
			if j > start {
				dst = append(dst, ',')
			}
			if child.IsNull(int(j)) {
				dst = append(dst, "NULL"...)
				continue
			}
			mark := len(dst)
			dst = elem(dst, int(j))
			if !nestedList && needsArrayQuote(dst[mark:]) {
				scratch = append(scratch[:0], dst[mark:]...)
				dst = append(dst[:mark], '"')
				for _, c := range scratch {
					if c == '"' || c == '\\' {
						dst = append(dst, '\\')
					}
					dst = append(dst, c)
				}
				dst = append(dst, '"')
			}
		}
		return append(dst, '}')
	}
}

// needsArrayQuote reports whether array_out would quote element b.
func needsArrayQuote(b []byte) bool {
	if len(b) == 0 || (len(b) == 4 && strings.EqualFold(string(b), "NULL")) {
		return true
	}
	for _, c := range b {
		switch c {
		case '{', '}', ',', '"', '\\', ' ', '\t', '\n', '\r', '\v', '\f':
			return true
		}
	}
	return false
}

// duckListText writes a list nested in a struct or map: [1, 2, NULL].
func duckListText(a array.ListLike) appendFunc {
	child := a.ListValues()
	elem := fieldText(elemField(a), child, true)
	return func(dst []byte, i int) []byte {
		start, end := a.ValueOffsets(i)
		dst = append(dst, '[')
		for j := start; j < end; j++ {
			if j > start {
				dst = append(dst, ", "...)
			}
			if child.IsNull(int(j)) {
				dst = append(dst, "NULL"...)
			} else {
				dst = elem(dst, int(j))
			}
		}
		return append(dst, ']')
	}
}

// structText writes a struct as DuckDB prints it: {'a': 1, 'b': x}.
func structText(a *array.Struct) appendFunc {
	st := a.DataType().(*arrow.StructType)
	n := a.NumField()
	fields := make([]appendFunc, n)
	for k := range n {
		fields[k] = fieldText(st.Field(k), a.Field(k), true)
	}
	return func(dst []byte, i int) []byte {
		dst = append(dst, '{')
		for k := range n {
			if k > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendDuckString(dst, st.Field(k).Name)
			dst = append(dst, ": "...)
			if f := a.Field(k); f.IsNull(i) {
				dst = append(dst, "NULL"...)
			} else {
				dst = fields[k](dst, i)
			}
		}
		return append(dst, '}')
	}
}

// mapText writes a map as DuckDB prints it: {k1=v1, k2=v2}.
func mapText(a *array.Map) appendFunc {
	keys, items := a.Keys(), a.Items()
	mt := a.DataType().(*arrow.MapType)
	kf, vf := fieldText(mt.KeyField(), keys, true), fieldText(mt.ItemField(), items, true)
	return func(dst []byte, i int) []byte {
		start, end := a.ValueOffsets(i)
		dst = append(dst, '{')
		for j := int(start); j < int(end); j++ {
			if j > int(start) {
				dst = append(dst, ", "...)
			}
			dst = kf(dst, j)
			dst = append(dst, '=')
			if items.IsNull(j) {
				dst = append(dst, "NULL"...)
			} else {
				dst = vf(dst, j)
			}
		}
		return append(dst, '}')
	}
}

// appendDuckString writes a string inside a struct as DuckDB does: quoted
// with single quotes, embedded quotes doubled.
func appendDuckString(dst []byte, s string) []byte {
	dst = append(dst, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			dst = append(dst, '\'')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '\'')
}

// duckScalar wraps a scalar's text function for use inside a struct, map
// or nested list: DuckDB quotes a value with single quotes when it is empty
// or holds whitespace or a character of its nested syntax.
func duckScalar(fn appendFunc) appendFunc {
	var scratch []byte
	return func(dst []byte, i int) []byte {
		mark := len(dst)
		dst = fn(dst, i)
		if !needsDuckQuote(dst[mark:]) {
			return dst
		}
		scratch = append(scratch[:0], dst[mark:]...)
		return appendDuckString(dst[:mark], string(scratch))
	}
}

func needsDuckQuote(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r', '\'', '"', ',', '{', '}', '[', ']', '(', ')', ':', '=', '\\':
			return true
		}
	}
	return false
}

// elemField returns the element field of a list type, with its metadata.
func elemField(a array.ListLike) arrow.Field {
	if lt, ok := a.DataType().(arrow.ListLikeType); ok {
		return lt.ElemField()
	}
	return arrow.Field{Type: a.ListValues().DataType()}
}
