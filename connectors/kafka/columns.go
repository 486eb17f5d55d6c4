package kafka

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-db/sluice/connectors"
)

// The metadata columns every Kafka source starts with, in this order.
const (
	colPartition = "_partition"
	colOffset    = "_offset"
	colTimestamp = "_timestamp"
	colKey       = "_key"
	numMeta      = 4
)

// maxColumns bounds an inferred or declared schema (PostgreSQL's own limit).
const maxColumns = 1600

var timestampTZ = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// metaFields are the metadata columns.
func metaFields() []arrow.Field {
	return []arrow.Field{
		{Name: colPartition, Type: arrow.PrimitiveTypes.Int32},
		{Name: colOffset, Type: arrow.PrimitiveTypes.Int64},
		{Name: colTimestamp, Type: timestampTZ},
		{Name: colKey, Type: arrow.BinaryTypes.String, Nullable: true},
	}
}

func isMetaName(name string) bool {
	switch name {
	case colPartition, colOffset, colTimestamp, colKey:
		return true
	}
	return false
}

// colKind is how a value column converts what a message holds.
type colKind uint8

const (
	kInt64 colKind = iota
	kInt32
	kInt16
	kFloat64
	kFloat32
	kBool
	kString
	kJSON
	kUUID
	kTimestamp
	kDate
	kDecimal
)

// jsonField is a String field whose values are JSON documents.
func jsonField(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true,
		Metadata: arrow.NewMetadata([]string{connectors.TypeKey}, []string{"json"})}
}

// parseColumns parses the columns option: "name type, ...", names as SQL
// identifiers (unquoted ones fold to lower case, "Quoted" ones keep their
// case), types among those in typeField.
func parseColumns(text string) ([]arrow.Field, error) {
	var fields []arrow.Field
	seen := map[string]bool{}
	for _, item := range splitTopLevel(text) {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("empty column definition in %q", text)
		}
		name, rest, err := splitIdent(item)
		if err != nil {
			return nil, err
		}
		if isMetaName(name) {
			return nil, fmt.Errorf("column %q clashes with a metadata column (_partition, _offset, _timestamp, _key)", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("column %q is declared twice", name)
		}
		seen[name] = true
		f, err := typeField(name, rest)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("no columns declared")
	}
	if len(fields) > maxColumns {
		return nil, fmt.Errorf("%d columns declared, at most %d allowed", len(fields), maxColumns)
	}
	return fields, nil
}

// splitTopLevel splits s at commas outside parentheses and double quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, start, quoted := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// splitIdent splits "name type" into the identifier and the rest.
func splitIdent(item string) (name, rest string, err error) {
	if item[0] == '"' {
		var b strings.Builder
		for i := 1; i < len(item); i++ {
			if item[i] != '"' {
				b.WriteByte(item[i])
				continue
			}
			if i+1 < len(item) && item[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			if b.Len() == 0 {
				return "", "", fmt.Errorf("empty column name in %q", item)
			}
			return b.String(), strings.TrimSpace(item[i+1:]), nil
		}
		return "", "", fmt.Errorf("unterminated quoted column name in %q", item)
	}
	i := strings.IndexAny(item, " \t\r\n")
	if i < 0 {
		return "", "", fmt.Errorf("column %q has no type", item)
	}
	name = strings.ToLower(item[:i])
	for _, r := range name {
		if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= utf8.RuneSelf) {
			return "", "", fmt.Errorf("column name %q must be quoted", item[:i])
		}
	}
	return name, strings.TrimSpace(item[i:]), nil
}

// typeField is the field for a declared SQL type.
func typeField(name, typ string) (arrow.Field, error) {
	t := strings.Join(strings.Fields(strings.ToLower(typ)), " ")
	base, args := t, ""
	if i := strings.IndexByte(t, '('); i >= 0 {
		if !strings.HasSuffix(t, ")") {
			return arrow.Field{}, fmt.Errorf("column %q: bad type %q", name, typ)
		}
		base, args = strings.TrimSpace(t[:i]), t[i+1:len(t)-1]
	}
	f := arrow.Field{Name: name, Nullable: true}
	noArgs := func() error {
		if args != "" {
			return fmt.Errorf("column %q: type %q takes no arguments", name, base)
		}
		return nil
	}
	switch base {
	case "bigint", "int8":
		f.Type = arrow.PrimitiveTypes.Int64
	case "integer", "int", "int4":
		f.Type = arrow.PrimitiveTypes.Int32
	case "smallint", "int2":
		f.Type = arrow.PrimitiveTypes.Int16
	case "double", "double precision", "float8", "float":
		f.Type = arrow.PrimitiveTypes.Float64
	case "real", "float4":
		f.Type = arrow.PrimitiveTypes.Float32
	case "boolean", "bool":
		f.Type = arrow.FixedWidthTypes.Boolean
	case "text", "varchar", "character varying", "string":
		f.Type = arrow.BinaryTypes.String
		return f, nil // varchar(n): the length is not enforced
	case "timestamp", "timestamp without time zone":
		f.Type = &arrow.TimestampType{Unit: arrow.Microsecond}
	case "timestamptz", "timestamp with time zone":
		f.Type = timestampTZ
	case "date":
		f.Type = arrow.FixedWidthTypes.Date32
	case "json", "jsonb":
		f = jsonField(name)
	case "uuid":
		f.Type = arrow.BinaryTypes.String
		f.Metadata = arrow.NewMetadata([]string{connectors.TypeKey}, []string{"uuid"})
	case "numeric", "decimal":
		prec, scale := int64(18), int64(3) // DuckDB's default DECIMAL
		if args != "" {
			ps := strings.Split(args, ",")
			var err1, err2 error
			prec, err1 = strconv.ParseInt(strings.TrimSpace(ps[0]), 10, 32)
			scale = 0
			if len(ps) == 2 {
				scale, err2 = strconv.ParseInt(strings.TrimSpace(ps[1]), 10, 32)
			}
			if err1 != nil || err2 != nil || len(ps) > 2 {
				return arrow.Field{}, fmt.Errorf("column %q: bad type %q", name, typ)
			}
		}
		if prec < 1 || prec > 38 || scale < 0 || scale > prec {
			return arrow.Field{}, fmt.Errorf("column %q: numeric(%d,%d) needs 1 <= precision <= 38 and 0 <= scale <= precision", name, prec, scale)
		}
		f.Type = &arrow.Decimal128Type{Precision: int32(prec), Scale: int32(scale)}
		return f, nil
	default:
		return arrow.Field{}, fmt.Errorf("column %q: unsupported type %q (use bigint, integer, smallint, double, real, boolean, text, varchar, timestamp, timestamptz, date, numeric(p,s), json or uuid)", name, typ)
	}
	if err := noArgs(); err != nil {
		return arrow.Field{}, err
	}
	return f, nil
}

// kindOf is the conversion for a value field of a schema.
func kindOf(f arrow.Field) (colKind, error) {
	switch t := f.Type.(type) {
	case *arrow.Int64Type:
		return kInt64, nil
	case *arrow.Int32Type:
		return kInt32, nil
	case *arrow.Int16Type:
		return kInt16, nil
	case *arrow.Float64Type:
		return kFloat64, nil
	case *arrow.Float32Type:
		return kFloat32, nil
	case *arrow.BooleanType:
		return kBool, nil
	case *arrow.StringType:
		if v, ok := f.Metadata.GetValue(connectors.TypeKey); ok {
			switch v {
			case "json":
				return kJSON, nil
			case "uuid":
				return kUUID, nil
			}
		}
		return kString, nil
	case *arrow.TimestampType:
		if t.Unit != arrow.Microsecond {
			break
		}
		return kTimestamp, nil
	case *arrow.Date32Type:
		return kDate, nil
	case *arrow.Decimal128Type:
		return kDecimal, nil
	}
	return 0, fmt.Errorf("column %q has type %s, which the Kafka connector cannot fill", f.Name, f.Type)
}
