package kafka

import (
	"fmt"
	"log/slog"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
)

// sampleSize is how many messages Open reads to infer a schema.
const sampleSize = 1000

// What a sampled field held, as bits.
const (
	sawInt uint8 = 1 << iota
	sawFloat
	sawBool
	sawString
	sawComposite
)

// inferJSON infers value fields from sampled JSON messages: numbers are
// bigint when every one is integral, else double; booleans boolean;
// strings text; objects and arrays json; a field holding values of more
// than one of those kinds (or only nulls) is text. Fields come in order of
// first appearance. Messages that are not JSON objects are ignored; valid
// is how many were.
func inferJSON(values [][]byte, log *slog.Logger) (fields []arrow.Field, valid int, err error) {
	sc := newJSONScanner(nil, nil, true)
	var saw []uint8
	for _, v := range values {
		n := len(sc.names)
		if v == nil || !sc.scan(v) {
			// Forget fields only a malformed message named.
			for _, name := range sc.names[n:] {
				delete(sc.index, name)
			}
			sc.names, sc.slots, sc.raw = sc.names[:n], sc.slots[:n], sc.raw[:n]
			continue
		}
		valid++
		for len(saw) < len(sc.slots) {
			saw = append(saw, 0)
		}
		for j := range sc.slots {
			sl := &sc.slots[j]
			if sl.gen != sc.gen {
				continue
			}
			switch sl.t {
			case vNumber:
				num := v[sl.start:sl.end]
				if _, isInt, _ := scanNumber(num, 0); isInt {
					if _, err := strconv.ParseInt(string(num), 10, 64); err == nil {
						saw[j] |= sawInt
						continue
					}
				}
				saw[j] |= sawFloat
			case vText:
				saw[j] |= sawString
			case vTrue, vFalse:
				saw[j] |= sawBool
			case vComposite:
				saw[j] |= sawComposite
			}
		}
		if len(sc.names) > maxColumns {
			return nil, valid, fmt.Errorf("the messages hold more than %d distinct fields", maxColumns)
		}
	}
	for j, name := range sc.names {
		if isMetaName(name) {
			log.Warn("kafka: a JSON field has the name of a metadata column and is not read; declare columns to read it under another name", "field", name)
			continue
		}
		f := arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
		switch saw[j] {
		case sawInt:
			f.Type = arrow.PrimitiveTypes.Int64
		case sawFloat, sawInt | sawFloat:
			f.Type = arrow.PrimitiveTypes.Float64
		case sawBool:
			f.Type = arrow.FixedWidthTypes.Boolean
		case sawComposite:
			f = jsonField(name)
		}
		fields = append(fields, f)
	}
	return fields, valid, nil
}

// inferCSV is c1..cN as text, N the most fields any sampled message has.
func inferCSV(values [][]byte, delim byte) []arrow.Field {
	n := 0
	var fs []csvField
	for _, v := range values {
		var ok bool
		if v == nil {
			continue
		}
		if fs, ok = splitCSV(v, delim, fs[:0]); ok && len(fs) > n {
			n = len(fs)
		}
	}
	n = min(n, maxColumns)
	fields := make([]arrow.Field, n)
	for i := range fields {
		fields[i] = arrow.Field{Name: "c" + strconv.Itoa(i+1), Type: arrow.BinaryTypes.String, Nullable: true}
	}
	return fields
}

// textFields is the text format's one value column.
func textFields() []arrow.Field {
	return []arrow.Field{{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true}}
}

// arrowSchema is the metadata columns followed by the value columns.
func arrowSchema(value []arrow.Field) *arrow.Schema {
	return arrow.NewSchema(append(metaFields(), value...), nil)
}
