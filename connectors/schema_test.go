package connectors

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestSchemaRoundTrip(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "u", Type: arrow.BinaryTypes.String, Nullable: true, Metadata: arrow.NewMetadata([]string{TypeKey}, []string{"uuid"})},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "n", Type: &arrow.Decimal128Type{Precision: 20, Scale: 4}, Nullable: true},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	}, nil)
	text, err := EncodeSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSchema(text)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(s) || got.Field(1).Metadata.FindKey(TypeKey) < 0 {
		t.Fatalf("round trip: %v, want %v", got, s)
	}
	if _, err := DecodeSchema("not base64!"); err == nil {
		t.Fatal("bad text decoded")
	}
}
