package sqlplan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-db/sluice/connectors"
)

// SourceScanSQL reads connector source id between positions from and to
// through the engine's table function fn, casting the columns the function
// returns as text to their real types: decimals to DECIMAL(p, s), and
// fields marked json or uuid (connectors.TypeKey) to JSON and UUID.
func SourceScanSQL(fn string, id int64, schema *arrow.Schema, from, to string) string {
	cols := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		name := ident(f.Name)
		cols[i] = name
		if t := columnCast(f); t != "" {
			cols[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", name, t, name)
		}
	}
	return fmt.Sprintf("SELECT %s FROM %s(%s, %s, %s)", strings.Join(cols, ", "), fn,
		quote(strconv.FormatInt(id, 10)), quote(from), quote(to))
}

func columnCast(f arrow.Field) string {
	if i := f.Metadata.FindKey(connectors.TypeKey); i >= 0 {
		switch f.Metadata.Values()[i] {
		case "json":
			if _, ok := f.Type.(*arrow.ListType); ok {
				return "JSON[]"
			}
			return "JSON"
		case "uuid":
			if _, ok := f.Type.(*arrow.ListType); ok {
				return "UUID[]"
			}
			return "UUID"
		}
	}
	switch t := f.Type.(type) {
	case *arrow.Decimal128Type:
		return fmt.Sprintf("DECIMAL(%d, %d)", t.Precision, t.Scale)
	case *arrow.ListType:
		if d, ok := t.Elem().(*arrow.Decimal128Type); ok {
			return fmt.Sprintf("DECIMAL(%d, %d)[]", d.Precision, d.Scale)
		}
	}
	return ""
}
