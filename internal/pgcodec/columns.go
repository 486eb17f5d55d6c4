package pgcodec

import (
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"
)

// TimetzOID is time with time zone (DuckDB TIMETZ).
const TimetzOID uint32 = 1266

// Arrow extension names DuckDB emits with arrow_lossless_conversion = true.
const (
	extUUID   = "arrow.uuid"
	extJSON   = "arrow.json"
	extBool8  = "arrow.bool8"
	extOpaque = "arrow.opaque"
)

// Vendor type names DuckDB puts in arrow.opaque metadata.
const (
	opaqueHugeint  = "hugeint"
	opaqueUhugeint = "uhugeint"
	opaqueTimeTZ   = "time_tz"
	opaqueBit      = "bit"
)

// ColumnsFromSchema describes each field of s as a PostgreSQL column.
//
// Scalars map to their PostgreSQL counterparts (see the table in doc.go).
// Types PostgreSQL has no counterpart for (lists, structs, maps, enums, the
// NULL type, BIT) are described as text and sent in a text form in both
// formats. The Type of each column is the field's Arrow type.
func ColumnsFromSchema(s *arrow.Schema) []Column {
	cols := make([]Column, s.NumFields())
	for i, f := range s.Fields() {
		cols[i] = columnFor(f)
	}
	return cols
}

func columnFor(f arrow.Field) Column {
	c := Column{Name: ColumnName(f.Name), TypeMod: -1, Type: f.Type}
	ext, meta := extensionOf(f)
	c.ext = ext
	switch ext {
	case extUUID:
		c.OID = UUIDOID
	case extJSON:
		c.OID = JSONOID
	case extBool8:
		c.OID = BoolOID
	case opaqueHugeint, opaqueUhugeint:
		c.OID = NumericOID
	case opaqueTimeTZ:
		c.OID = TimetzOID
	case opaqueBit:
		c.OID = TextOID
	default:
		c.ext = ""
		c.OID, c.TypeMod = oidFor(storageType(f.Type))
		_ = meta
	}
	c.TypeSize = typeSize(c.OID)
	return c
}

// oidFor maps a plain Arrow type to an OID and type modifier.
func oidFor(t arrow.DataType) (oid uint32, typmod int32) {
	switch t := t.(type) {
	case *arrow.BooleanType:
		return BoolOID, -1
	case *arrow.Int8Type, *arrow.Int16Type:
		return Int2OID, -1
	case *arrow.Int32Type, *arrow.Uint8Type, *arrow.Uint16Type:
		return Int4OID, -1
	case *arrow.Int64Type, *arrow.Uint32Type:
		return Int8OID, -1
	case *arrow.Uint64Type:
		return NumericOID, -1
	case *arrow.Float16Type, *arrow.Float32Type:
		return Float4OID, -1
	case *arrow.Float64Type:
		return Float8OID, -1
	case arrow.DecimalType:
		return NumericOID, (t.GetPrecision()<<16 | t.GetScale()) + 4
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return TextOID, -1
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return ByteaOID, -1
	case *arrow.Date32Type, *arrow.Date64Type:
		return DateOID, -1
	case *arrow.Time32Type, *arrow.Time64Type:
		return TimeOID, -1
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return TimestamptzOID, -1
		}
		return TimestampOID, -1
	case *arrow.MonthDayNanoIntervalType, *arrow.MonthIntervalType, *arrow.DayTimeIntervalType, *arrow.DurationType:
		return IntervalOID, -1
	}
	return TextOID, -1
}

func typeSize(oid uint32) int16 {
	switch oid {
	case BoolOID:
		return 1
	case Int2OID:
		return 2
	case Int4OID, Float4OID, DateOID:
		return 4
	case Int8OID, Float8OID, TimeOID, TimestampOID, TimestamptzOID:
		return 8
	case TimetzOID:
		return 12
	case IntervalOID, UUIDOID:
		return 16
	}
	return -1
}

// extensionOf returns the extension a field carries: a canonical extension
// name, or for arrow.opaque the vendor type name (hugeint, time_tz, ...).
// Extension types arrive either as registered arrow.ExtensionType values or,
// when none is registered (pgcodec does not register any), as field metadata.
func extensionOf(f arrow.Field) (name, meta string) {
	if et, ok := f.Type.(arrow.ExtensionType); ok {
		name, meta = et.ExtensionName(), et.Serialize()
	} else {
		name, _ = f.Metadata.GetValue("ARROW:extension:name")
		meta, _ = f.Metadata.GetValue("ARROW:extension:metadata")
	}
	if name == extOpaque {
		var m struct {
			TypeName   string `json:"type_name"`
			VendorName string `json:"vendor_name"`
		}
		if json.Unmarshal([]byte(meta), &m) == nil && m.VendorName == "DuckDB" {
			return m.TypeName, meta
		}
	}
	return name, meta
}

// storageType returns the storage type of an extension type, else t.
func storageType(t arrow.DataType) arrow.DataType {
	if et, ok := t.(arrow.ExtensionType); ok {
		return et.StorageType()
	}
	return t
}
