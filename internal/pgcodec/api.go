package pgcodec

// API contract (bodies are filled in by the pgcodec implementation).

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Type OIDs Sluice sends (PostgreSQL's pg_type OIDs).
const (
	BoolOID        uint32 = 16
	ByteaOID       uint32 = 17
	Int8OID        uint32 = 20
	Int2OID        uint32 = 21
	Int4OID        uint32 = 23
	TextOID        uint32 = 25
	JSONOID        uint32 = 114
	Float4OID      uint32 = 700
	Float8OID      uint32 = 701
	UnknownOID     uint32 = 705
	VarcharOID     uint32 = 1043
	DateOID        uint32 = 1082
	TimeOID        uint32 = 1083
	TimestampOID   uint32 = 1114
	TimestamptzOID uint32 = 1184
	IntervalOID    uint32 = 1186
	NumericOID     uint32 = 1700
	UUIDOID        uint32 = 2950
)

// Column describes one result column, as RowDescription sends it.
type Column struct {
	Name     string
	OID      uint32
	TypeSize int16 // pg_type.typlen: -1 for variable length
	TypeMod  int32 // -1 when none; numeric: ((precision << 16) | scale) + 4
	// Type is the Arrow type the column's values arrive in. It is nil for a
	// column described from a prepared statement before execution.
	Type arrow.DataType

	// ext is the DuckDB extension or opaque type name the values carry
	// (arrow.uuid, hugeint, time_tz, ...), set by ColumnsFromSchema.
	ext string
}
