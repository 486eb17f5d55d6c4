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
		if d, ok := f.Type.(*arrow.Decimal128Type); ok && d.Precision <= maxInt64Decimal {
			// The scan returns the unscaled integer: scale it back exactly.
			cols[i] = fmt.Sprintf("CAST(%s AS DECIMAL(%d, %d)) AS %s", scaled(name, d.Scale), d.Precision, d.Scale, name)
		} else if t := columnCast(f); t != "" {
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

// maxInt64Decimal is engine.MaxInt64Decimal: decimals up to this precision
// leave the scan as their unscaled BIGINT.
const maxInt64Decimal = 18

// scaled is the exact decimal value of unscaled integer column name with
// scale s: DECIMAL(18, 0) times 10^-s as a DECIMAL(18, s) (DuckDB multiplies
// decimals exactly).
func scaled(name string, s int32) string {
	if s == 0 {
		return name
	}
	unit := "0." + strings.Repeat("0", int(s)-1) + "1"
	return fmt.Sprintf("CAST(%s AS DECIMAL(18, 0)) * CAST('%s' AS DECIMAL(18, %d))", name, unit, s)
}
