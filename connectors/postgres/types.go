package postgres

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluice-db/sluice/connectors"
)

// kind is how one value travels in the binary COPY and which Arrow builder
// it goes to.
type kind int

const (
	kBool kind = iota
	kInt16
	kInt32
	kInt64
	kFloat32
	kFloat64
	kDecimal   // numeric(p, s) with 1 <= p <= 38 and 0 <= s <= p
	kText      // text, varchar, bpchar, name, json, and anything cast to text
	kBytea     // bytea
	kDate      // days since 2000-01-01
	kTimestamp // microseconds since 2000-01-01 (timestamp and timestamptz)
	kTime      // microseconds since midnight
	kJSONB     // a version byte, then the JSON text
	kUUID      // 16 bytes
)

// column is one column of a source: what PostgreSQL describes, what the
// COPY sends for it, and the Arrow field it becomes.
type column struct {
	name   string
	oid    uint32 // the type PostgreSQL describes (a domain's base type)
	typmod int32
	field  arrow.Field

	cast    string // "" or the cast the read applies: "::text", "::text[]"
	wireOID uint32 // the type the COPY sends: oid, or text / text[] when cast
	kind    kind   // of the value, or of each element when array
	array   bool   // a one-dimensional PostgreSQL array, read as an Arrow List
	prec    int32  // kDecimal
	scale   int32  // kDecimal
}

var (
	jsonMeta = arrow.NewMetadata([]string{connectors.TypeKey}, []string{"json"})
	uuidMeta = arrow.NewMetadata([]string{connectors.TypeKey}, []string{"uuid"})
)

// scalarKind is the kind of a scalar type PostgreSQL sends in binary and
// the connector decodes, and false for the types read as text.
func scalarKind(oid uint32) (kind, bool) {
	switch oid {
	case pgtype.BoolOID:
		return kBool, true
	case pgtype.Int2OID:
		return kInt16, true
	case pgtype.Int4OID:
		return kInt32, true
	case pgtype.Int8OID:
		return kInt64, true
	case pgtype.Float4OID:
		return kFloat32, true
	case pgtype.Float8OID:
		return kFloat64, true
	case pgtype.NumericOID:
		return kDecimal, true
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.JSONOID:
		return kText, true
	case pgtype.ByteaOID:
		return kBytea, true
	case pgtype.DateOID:
		return kDate, true
	case pgtype.TimestampOID, pgtype.TimestamptzOID:
		return kTimestamp, true
	case pgtype.TimeOID:
		return kTime, true
	case pgtype.JSONBOID:
		return kJSONB, true
	case pgtype.UUIDOID:
		return kUUID, true
	}
	return 0, false
}

// elemOID is the element type of the array types the connector reads as
// lists.
func elemOID(oid uint32) (uint32, bool) {
	switch oid {
	case pgtype.BoolArrayOID:
		return pgtype.BoolOID, true
	case pgtype.Int2ArrayOID:
		return pgtype.Int2OID, true
	case pgtype.Int4ArrayOID:
		return pgtype.Int4OID, true
	case pgtype.Int8ArrayOID:
		return pgtype.Int8OID, true
	case pgtype.Float4ArrayOID:
		return pgtype.Float4OID, true
	case pgtype.Float8ArrayOID:
		return pgtype.Float8OID, true
	case pgtype.NumericArrayOID:
		return pgtype.NumericOID, true
	case pgtype.TextArrayOID:
		return pgtype.TextOID, true
	case pgtype.VarcharArrayOID:
		return pgtype.VarcharOID, true
	case pgtype.BPCharArrayOID:
		return pgtype.BPCharOID, true
	case pgtype.NameArrayOID:
		return pgtype.NameOID, true
	case pgtype.ByteaArrayOID:
		return pgtype.ByteaOID, true
	case pgtype.DateArrayOID:
		return pgtype.DateOID, true
	case pgtype.TimestampArrayOID:
		return pgtype.TimestampOID, true
	case pgtype.TimestamptzArrayOID:
		return pgtype.TimestamptzOID, true
	case pgtype.TimeArrayOID:
		return pgtype.TimeOID, true
	case pgtype.JSONArrayOID:
		return pgtype.JSONOID, true
	case pgtype.JSONBArrayOID:
		return pgtype.JSONBOID, true
	case pgtype.UUIDArrayOID:
		return pgtype.UUIDOID, true
	}
	return 0, false
}

// numericTypmod is the precision and scale of numeric(p, s), and false
// for an unconstrained numeric or one Decimal128 cannot hold (p > 38, or
// PostgreSQL 15's negative scale or scale above precision).
func numericTypmod(typmod int32) (prec, scale int32, ok bool) {
	if typmod < 4 { // VARHDRSZ; -1 = unconstrained
		return 0, 0, false
	}
	t := typmod - 4
	prec = (t >> 16) & 0xffff
	scale = ((t & 0x7ff) ^ 1024) - 1024 // PostgreSQL 15: 11 signed bits
	if prec < 1 || prec > 38 || scale < 0 || scale > prec {
		return 0, 0, false
	}
	return prec, scale, true
}

// mapColumn decides how a described column is read and what Arrow type it
// becomes.
func mapColumn(name string, oid uint32, typmod int32) column {
	c := column{name: name, oid: oid, typmod: typmod, wireOID: oid}
	eoid, isArray := elemOID(oid)
	if !isArray {
		eoid = oid
	}
	k, ok := scalarKind(eoid)
	if ok && k == kDecimal {
		c.prec, c.scale, ok = numericTypmod(typmod)
		if !ok { // exact as text
			k, ok = kText, true
			if isArray {
				c.cast, c.wireOID = "::text[]", pgtype.TextArrayOID
			} else {
				c.cast, c.wireOID = "::text", pgtype.TextOID
			}
		}
	}
	if !ok { // anything else: its text form
		c.cast, c.wireOID, c.kind = "::text", pgtype.TextOID, kText
		c.field = arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
		return c
	}
	c.kind, c.array = k, isArray
	elem := arrow.Field{Name: name, Nullable: true}
	switch k {
	case kBool:
		elem.Type = arrow.FixedWidthTypes.Boolean
	case kInt16:
		elem.Type = arrow.PrimitiveTypes.Int16
	case kInt32:
		elem.Type = arrow.PrimitiveTypes.Int32
	case kInt64:
		elem.Type = arrow.PrimitiveTypes.Int64
	case kFloat32:
		elem.Type = arrow.PrimitiveTypes.Float32
	case kFloat64:
		elem.Type = arrow.PrimitiveTypes.Float64
	case kDecimal:
		elem.Type = &arrow.Decimal128Type{Precision: c.prec, Scale: c.scale}
	case kText:
		elem.Type = arrow.BinaryTypes.String
		if eoid == pgtype.JSONOID {
			elem.Metadata = jsonMeta
		}
	case kBytea:
		elem.Type = arrow.BinaryTypes.Binary
	case kDate:
		elem.Type = arrow.FixedWidthTypes.Date32
	case kTimestamp:
		elem.Type = &arrow.TimestampType{Unit: arrow.Microsecond}
		if eoid == pgtype.TimestamptzOID {
			elem.Type = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		}
	case kTime:
		elem.Type = arrow.FixedWidthTypes.Time64us
	case kJSONB:
		elem.Type, elem.Metadata = arrow.BinaryTypes.String, jsonMeta
	case kUUID:
		elem.Type, elem.Metadata = arrow.BinaryTypes.String, uuidMeta
	default:
		panic(fmt.Sprintf("postgres: kind %d has no Arrow type", k))
	}
	if !isArray {
		c.field = elem
		return c
	}
	elem.Name = "item"
	c.field = arrow.Field{Name: name, Type: arrow.ListOfField(elem), Nullable: true}
	return c
}

// cursorType says whether a column's type can be a cursor: ordered, and
// exact in its text form (which positions keep).
func cursorType(oid uint32) bool {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.NumericOID,
		pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID,
		pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return true
	}
	return false
}

// integerType says whether a column's type can split a read into ranges.
func integerType(oid uint32) bool {
	return oid == pgtype.Int2OID || oid == pgtype.Int4OID || oid == pgtype.Int8OID
}

// typeName names a described type in messages.
func typeName(oid uint32) string {
	switch oid {
	case pgtype.Float4OID:
		return "real"
	case pgtype.Float8OID:
		return "double precision"
	case pgtype.BoolOID:
		return "boolean"
	case pgtype.ByteaOID:
		return "bytea"
	case pgtype.JSONOID:
		return "json"
	case pgtype.JSONBOID:
		return "jsonb"
	case pgtype.UUIDOID:
		return "uuid"
	case pgtype.TimeOID:
		return "time"
	}
	if _, ok := elemOID(oid); ok {
		return "an array"
	}
	return fmt.Sprintf("type OID %d", oid)
}
