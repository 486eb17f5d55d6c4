//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// allTypesSchema has every type a connector may use.
var allTypesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "tstz", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "tsms", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "t", Type: arrow.FixedWidthTypes.Time64us, Nullable: true},
	{Name: "dec", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
	{Name: "wide", Type: &arrow.Decimal128Type{Precision: 30, Scale: 4}, Nullable: true},
	{Name: "l", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
}, nil)

// strAt is row id's text: short and long, ASCII and not, empty, and
// invalid UTF-8 (which DuckDB reads as NULL), short and long.
func strAt(id int64) string {
	switch id % 9 {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("u%d", id)
	case 2:
		return fmt.Sprintf("exactly12b%02d", id%100)[:12]
	case 3:
		return fmt.Sprintf("thirteen char%d", id)
	case 4:
		return "été" + fmt.Sprint(id%10)
	case 5:
		return "a longer string with ünïcode " + fmt.Sprint(id)
	case 6:
		return "bad\xff"
	case 7:
		return "bad but longer than twelve \xc3\x28"
	}
	return strings.Repeat("x", int(id%40))
}

// allTypesReader returns a part's rows in batches cut from a larger batch
// at odd offsets, so that arrays start mid-byte of their bitmaps.
type allTypesReader struct {
	part, rows, done, batch int
}

func (r *allTypesReader) Close() error { return nil }

func (r *allTypesReader) Next() (arrow.RecordBatch, error) {
	if r.done >= r.rows {
		return nil, io.EOF
	}
	n := min(r.batch, r.rows-r.done)
	const skip = 3
	b := array.NewRecordBuilder(memory.DefaultAllocator, allTypesSchema)
	defer b.Release()
	for k := range n + skip {
		id := int64(r.part*r.rows + r.done + k - skip)
		null := func(every int64) bool { return id%every == 1 || k < skip }
		b.Field(0).(*array.Int64Builder).Append(id)
		for c := 1; c < len(allTypesSchema.Fields()); c++ {
			if null(int64(c + 2)) {
				b.Field(c).AppendNull()
				continue
			}
			switch fb := b.Field(c).(type) {
			case *array.BooleanBuilder:
				fb.Append(id%3 == 0)
			case *array.Int16Builder:
				fb.Append(int16(id%60000 - 30000))
			case *array.Int32Builder:
				fb.Append(int32(-id * 7))
			case *array.Float32Builder:
				fb.Append(float32(id) / 3)
			case *array.Float64Builder:
				fb.Append(float64(id) * -1.25)
			case *array.StringBuilder:
				fb.Append(strAt(id))
			case *array.BinaryBuilder:
				fb.Append([]byte(strAt(id + 1)))
			case *array.Date32Builder:
				fb.Append(arrow.Date32(id - 20000))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(id*1_000_003 - 5_000_000_000))
			case *array.Time64Builder:
				fb.Append(arrow.Time64(id * 1_000_001 % 86_400_000_000))
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(id*12345 - 999_999))
			case *array.ListBuilder:
				fb.Append(true)
				fb.ValueBuilder().(*array.StringBuilder).Append(strAt(id + 2))
			}
		}
	}
	r.done += n
	full := b.NewRecordBatch()
	defer full.Release()
	return full.NewSlice(skip, int64(skip+n)), nil
}

type allTypesSource struct{ parts, rows, batch int }

func (s allTypesSource) Schema() *arrow.Schema                  { return allTypesSchema }
func (s allTypesSource) Plan(context.Context) (ScanPlan, error) { return s, nil }
func (s allTypesSource) Parts() int                             { return s.parts }
func (s allTypesSource) OpenPart(_ context.Context, i int) (BatchReader, error) {
	return &allTypesReader{part: i, rows: s.rows, batch: s.batch}, nil
}

// TestFastFillSameAsPerValue reads every column type through the columnar
// fill and through the per-value one: the rows must be the same, NULLs
// (invalid UTF-8 included) and all.
func TestFastFillSameAsPerValue(t *testing.T) {
	if rawVectorAt == nil {
		t.Fatal("the columnar fill cannot reach duckdb-go's vectors: check rawVectorAt against this duckdb-go")
	}
	db, c := openTest(t)
	ctx := context.Background()
	if err := db.RegisterScan(ctx, "all_types", 0, 2, func(context.Context, []string) (ScanSource, error) {
		return allTypesSource{parts: 3, rows: 5000, batch: 2500}, nil
	}); err != nil {
		t.Fatal(err)
	}
	read := func(q string) string {
		t.Helper()
		rows, err := c.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var out strings.Builder
		for rows.Next() {
			b := rows.Batch()
			for i := range int(b.NumRows()) {
				for _, col := range b.Columns() {
					out.WriteString(col.ValueStr(i))
					out.WriteByte('|')
				}
				out.WriteByte('\n')
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out.String()
	}
	defer func() { fastFill = true }()
	for _, q := range []string{
		"SELECT * FROM all_types() ORDER BY id",
		"SELECT id, s, bin, ts FROM all_types() ORDER BY id", // projected
		"SELECT count(*), count(s), count(bin), sum(length(s)), sum(i32), sum(dec), count(b) FILTER (WHERE b) FROM all_types()",
	} {
		fastFill = true
		fast := read(q)
		fastFill = false
		slow := read(q)
		if fast != slow {
			fl, sl := strings.Split(fast, "\n"), strings.Split(slow, "\n")
			for i := range min(len(fl), len(sl)) {
				if fl[i] != sl[i] {
					t.Fatalf("%s: row %d differs:\nfast %s\nslow %s", q, i, fl[i], sl[i])
				}
			}
			t.Fatalf("%s: %d rows fast, %d per value", q, len(fl), len(sl))
		}
		if len(fast) < 10 {
			t.Fatalf("%s: %q", q, fast)
		}
	}
	// The cases the data is meant to hold are there.
	if got := read("SELECT count(*) FILTER (WHERE s IS NULL AND id % 9 IN (6, 7)), count(*) FILTER (WHERE s = ''), count(*) FILTER (WHERE length(s) > 12), count(*) FILTER (WHERE b IS NULL) FROM all_types()"); got != "3332|1500|3918|5000|\n" {
		t.Fatalf("cases: %s", got)
	}
}
