package pgcodec_test

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-db/sluice/internal/pgcodec"
)

// BenchmarkCopyEncoder encodes a batch of W11's narrow rows (id bigint,
// name text, value double precision) as COPY TO STDOUT data in each
// format, the encoding alone (docs/benchmarks.md, W11).
func BenchmarkCopyEncoder(b *testing.B) {
	const n = 100_000
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	for i := int64(1); i <= n; i++ {
		rb.Field(0).(*array.Int64Builder).Append(i)
		rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("name %d", i))
		rb.Field(2).(*array.Float64Builder).Append(float64(i) * 1.5)
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	cols := pgcodec.ColumnsFromSchema(schema)
	for _, f := range []struct {
		name   string
		format pgcodec.CopyFormat
	}{{"text", pgcodec.CopyText}, {"csv", pgcodec.CopyCSV}, {"binary", pgcodec.CopyBinary}} {
		b.Run(f.name, func(b *testing.B) {
			enc, err := pgcodec.NewCopyEncoder(cols, pgcodec.DefaultCopyOptions(f.format))
			if err != nil {
				b.Fatal(err)
			}
			var buf []byte
			for b.Loop() {
				buf = must(enc.AppendRows(buf[:0], rec))
			}
			b.SetBytes(int64(len(buf)))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}
