package httpsource

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetDoc writes n rows in row groups of 40,000: types a source keeps
// (int64, string, list), types it converts (timestamp[ns] to [us], uint8 to
// int16) and one it shows as JSON text (struct).
func parquetDoc(t *testing.T, n int) []byte {
	mem := memory.NewGoAllocator()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "st", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32})},
		{Name: "lst", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	base := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%10 == 3 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append("name")
		}
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(base.Add(time.Duration(i) * time.Second).UnixNano()))
		b.Field(3).(*array.Uint8Builder).Append(uint8(i))
		st := b.Field(4).(*array.StructBuilder)
		st.Append(true)
		st.FieldBuilder(0).(*array.Int32Builder).Append(int32(i))
		l := b.Field(5).(*array.ListBuilder)
		l.Append(true)
		l.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{int32(i), 1}, nil)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(40_000)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParquet(t *testing.T) {
	s := newServer(t, "")
	s.put("/data.parquet", doc{body: parquetDoc(t, 100_000), etag: `"p1"`})
	src := openSource(t, config(s.URL+"/data.parquet", nil))
	sc := src.Schema()
	want := []arrow.DataType{
		arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String, tsLocal, arrow.PrimitiveTypes.Int16,
		arrow.BinaryTypes.String, arrow.ListOf(arrow.PrimitiveTypes.Int32),
	}
	if sc.NumFields() != len(want) {
		t.Fatalf("schema %v", sc)
	}
	for i, w := range want {
		if !arrow.TypeEqual(sc.Field(i).Type, w) {
			t.Errorf("column %s: %s, want %s", sc.Field(i).Name, sc.Field(i).Type, w)
		}
	}
	if !isJSONField(sc.Field(4)) {
		t.Errorf("the struct column is not JSON: %v", sc.Field(4))
	}
	bs := readAll(t, src, "", "")
	if rows(bs) != 100_000 || len(bs) < 2 {
		t.Fatalf("%d rows in %d batches", rows(bs), len(bs))
	}
	b := bs[0]
	if got := time.UnixMicro(int64(b.Column(2).(*array.Timestamp).Value(1))).UTC(); !got.Equal(time.Date(2025, 1, 2, 3, 4, 6, 123456000, time.UTC)) {
		t.Errorf("ts[1] = %v", got)
	}
	if got := b.Column(3).(*array.Int16).Value(255); got != 255 {
		t.Errorf("u8[255] = %d", got)
	}
	if got := b.Column(4).(*array.String).Value(7); got != `{"a":7}` {
		t.Errorf("st[7] = %s", got)
	}
	if !b.Column(1).IsNull(3) {
		t.Error("name[3] is not null")
	}

	// Positions work as for any content.
	ctx := context.Background()
	p, err := src.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sp, err := src.Plan(ctx, p, ""); err != nil || len(sp) != 0 {
		t.Fatalf("Plan(unchanged) = %d splits, %v", len(sp), err)
	}

	// A document larger than max_bytes is refused, and what is not parquet.
	_, err = Connector{}.Open(ctx, config(s.URL+"/data.parquet", map[string]string{"max_bytes": "1000"}))
	wantCode(t, err, "54000")
	s.put("/junk.parquet", doc{body: []byte("this is not parquet")})
	_, err = Connector{}.Open(ctx, config(s.URL+"/junk.parquet", nil))
	wantCode(t, err, "22P04")
}
