//go:build duckdb_arrow

package pgcodec_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgcodec"
)

// decodeDataRow splits one DataRow message into its column values.
func decodeDataRow(t *testing.T, msg []byte) (vals [][]byte, rest []byte) {
	t.Helper()
	if msg[0] != 'D' {
		t.Fatalf("message type %q", msg[0])
	}
	n := int(binary.BigEndian.Uint32(msg[1:]))
	body, rest := msg[5:1+n], msg[1+n:]
	nc := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	for range nc {
		l := int32(binary.BigEndian.Uint32(body))
		body = body[4:]
		if l < 0 {
			vals = append(vals, nil)
			continue
		}
		vals = append(vals, body[:l])
		body = body[l:]
	}
	if len(body) != 0 {
		t.Fatalf("%d trailing bytes in DataRow", len(body))
	}
	return vals, rest
}

var cases = []struct {
	expr string
	oid  uint32
	text string
}{
	{"true", pgcodec.BoolOID, "t"},
	{"false", pgcodec.BoolOID, "f"},
	{"-5::TINYINT", pgcodec.Int2OID, "-5"},
	{"(-32768)::SMALLINT", pgcodec.Int2OID, "-32768"},
	{"2147483647::INTEGER", pgcodec.Int4OID, "2147483647"},
	{"(-9223372036854775808)::BIGINT", pgcodec.Int8OID, "-9223372036854775808"},
	{"255::UTINYINT", pgcodec.Int4OID, "255"},
	{"65535::USMALLINT", pgcodec.Int4OID, "65535"},
	{"4294967295::UINTEGER", pgcodec.Int8OID, "4294967295"},
	{"18446744073709551615::UBIGINT", pgcodec.NumericOID, "18446744073709551615"},
	{"-170141183460469231731687303715884105727::HUGEINT", pgcodec.NumericOID, "-170141183460469231731687303715884105727"},
	{"-12::HUGEINT", pgcodec.NumericOID, "-12"},
	{"340282366920938463463374607431768211455::UHUGEINT", pgcodec.NumericOID, "340282366920938463463374607431768211455"},
	{"1.5::FLOAT", pgcodec.Float4OID, "1.5"},
	{"1e20::FLOAT", pgcodec.Float4OID, "1e+20"},
	{"123456::FLOAT", pgcodec.Float4OID, "123456"},
	{"1.5::DOUBLE", pgcodec.Float8OID, "1.5"},
	{"1e20::DOUBLE", pgcodec.Float8OID, "1e+20"},
	{"0.1::DOUBLE", pgcodec.Float8OID, "0.1"},
	{"0.00001::DOUBLE", pgcodec.Float8OID, "1e-05"},
	{"123456789012345::DOUBLE", pgcodec.Float8OID, "123456789012345"},
	{"'infinity'::DOUBLE", pgcodec.Float8OID, "Infinity"},
	{"'-infinity'::DOUBLE", pgcodec.Float8OID, "-Infinity"},
	{"1::DECIMAL(18,3)", pgcodec.NumericOID, "1.000"},
	{"-0.005::DECIMAL(4,3)", pgcodec.NumericOID, "-0.005"},
	{"-12345678.0123::DECIMAL(18,4)", pgcodec.NumericOID, "-12345678.0123"},
	{"1234567890123456789012345678.0123456789::DECIMAL(38,10)", pgcodec.NumericOID, "1234567890123456789012345678.0123456789"},
	{"0::DECIMAL(38,10)", pgcodec.NumericOID, "0.0000000000"},
	{"'héllo'::VARCHAR", pgcodec.TextOID, "héllo"},
	{"''::VARCHAR", pgcodec.TextOID, ""},
	{"'\\x0a\\x0b'::BLOB", pgcodec.ByteaOID, `\x0a0b`},
	{"DATE '2024-11-14'", pgcodec.DateOID, "2024-11-14"},
	{"DATE '0044-03-15 (BC)'", pgcodec.DateOID, "0044-03-15 BC"},
	{"'infinity'::DATE", pgcodec.DateOID, "infinity"},
	{"TIME '13:04:05.123456'", pgcodec.TimeOID, "13:04:05.123456"},
	{"TIME '13:04:05.5'", pgcodec.TimeOID, "13:04:05.5"},
	{"TIME '13:04:05'", pgcodec.TimeOID, "13:04:05"},
	{"TIMESTAMP '2024-11-14 08:30:00'", pgcodec.TimestampOID, "2024-11-14 08:30:00"},
	{"TIMESTAMP '1969-12-31 23:59:59.25'", pgcodec.TimestampOID, "1969-12-31 23:59:59.25"},
	{"'2024-11-14 08:30:00'::TIMESTAMP_S", pgcodec.TimestampOID, "2024-11-14 08:30:00"},
	{"'2024-11-14 08:30:00.123'::TIMESTAMP_MS", pgcodec.TimestampOID, "2024-11-14 08:30:00.123"},
	{"'2024-11-14 08:30:00.123456789'::TIMESTAMP_NS", pgcodec.TimestampOID, "2024-11-14 08:30:00.123456"},
	{"TIMESTAMPTZ '2024-11-14 08:30:00+02'", pgcodec.TimestamptzOID, "2024-11-14 06:30:00+00"},
	{"INTERVAL '1 year 2 months 3 days 04:05:06.5'", pgcodec.IntervalOID, "1 year 2 mons 3 days 04:05:06.5"},
	{"INTERVAL '-1 day 2 hours'", pgcodec.IntervalOID, "-1 days +02:00:00"},
	{"INTERVAL '0 seconds'", pgcodec.IntervalOID, "00:00:00"},
	{"'0a0b0c0d-1e2f-4a5b-8c7d-0e0f10111213'::UUID", pgcodec.UUIDOID, "0a0b0c0d-1e2f-4a5b-8c7d-0e0f10111213"},
	{`'{"a": [1, 2]}'::JSON`, pgcodec.JSONOID, `{"a": [1, 2]}`},
	{"TIMETZ '01:02:03+05:30'", pgcodec.TimetzOID, "01:02:03+05:30"},
}

// TestRoundTrip runs each value through DuckDB, Arrow and the encoder and
// decodes the DataRow with pgx's codecs in both formats.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := pgtype.NewMap()
	for _, tc := range cases {
		q := "SELECT " + tc.expr + " AS v, NULL::INTEGER AS n"
		st, err := c.Prepare(ctx, q)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		described := st.Columns()
		var text, bin [][]byte
		res, err := st.Run(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		cols := res.Rows.Columns()
		if cols[0].OID != tc.oid || described[0].OID != tc.oid || described[0].TypeMod != cols[0].TypeMod {
			t.Errorf("%s: OID %d (described %d/%d, executed typmod %d), want %d", tc.expr, cols[0].OID, described[0].OID, described[0].TypeMod, cols[0].TypeMod, tc.oid)
		}
		for res.Rows.Next() {
			for f, dst := range []*[][]byte{&text, &bin} {
				enc, err := pgcodec.NewRowEncoder(cols, []int16{int16(f)})
				if err != nil {
					t.Fatal(err)
				}
				*dst, _ = decodeDataRow(t, must(enc.AppendDataRows(nil, res.Rows.Batch())))
			}
		}
		if err := res.Rows.Close(); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if string(text[0]) != tc.text {
			t.Errorf("%s: text %q, want %q", tc.expr, text[0], tc.text)
		}
		if text[1] != nil || bin[1] != nil {
			t.Errorf("%s: NULL encoded as %q/%q", tc.expr, text[1], bin[1])
		}
		if tc.oid == pgcodec.TimetzOID {
			continue // pgx has no timetz codec
		}
		var fromText, fromBin any
		if err := m.Scan(tc.oid, pgtype.TextFormatCode, text[0], &fromText); err != nil {
			t.Errorf("%s: pgx cannot read text %q: %v", tc.expr, text[0], err)
			continue
		}
		if err := m.Scan(tc.oid, pgtype.BinaryFormatCode, bin[0], &fromBin); err != nil {
			t.Errorf("%s: pgx cannot read binary %x: %v", tc.expr, bin[0], err)
			continue
		}
		if !sameValue(fromText, fromBin) {
			t.Errorf("%s: text decodes to %#v, binary to %#v", tc.expr, fromText, fromBin)
		}
	}
}

func numRat(n pgtype.Numeric) *big.Rat {
	r := new(big.Rat).SetInt(n.Int)
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(n.Exp, -n.Exp))), nil))
	if n.Exp < 0 {
		return r.Quo(r, p)
	}
	return r.Mul(r, p)
}

// sameValue compares decoded values; numerics by their decimal value.
func sameValue(a, b any) bool {
	if na, ok := a.(pgtype.Numeric); ok {
		nb, ok := b.(pgtype.Numeric)
		return ok && numRat(na).Cmp(numRat(nb)) == 0
	}
	if fa, ok := a.(float64); ok && math.IsNaN(fa) {
		fb, ok := b.(float64)
		return ok && math.IsNaN(fb)
	}
	return reflect.DeepEqual(a, b)
}

func TestNestedText(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct{ expr, text string }{
		{"[1, 2, NULL]", "{1,2,NULL}"},
		{"['a b', '', 'NULL', 'x\"y', 'p']", `{"a b","","NULL","x\"y",p}`},
		{"[[1, 2], [3]]", "{{1,2},{3}}"},
		{"[1, 2]::INTEGER[2]", "{1,2}"},
		{"{'a': 1, 'b': 'x', 'c': 'p q', 'd': ''}", "{'a': 1, 'b': x, 'c': 'p q', 'd': ''}"},
		{"MAP {'k': 1}", "{k=1}"},
		{"'x'::ENUM('x', 'y')", "x"},
		{"[true, false]", "{t,f}"},
		{"[uuid '0a0b0c0d-1e2f-4a5b-8c7d-0e0f10111213']", "{0a0b0c0d-1e2f-4a5b-8c7d-0e0f10111213}"},
		{"{'t': TIMESTAMP '2024-01-02 03:04:05', 'l': [1, 2], 's': NULL}", "{'t': '2024-01-02 03:04:05', 'l': [1, 2], 's': NULL}"},
	} {
		rows, err := c.Query(ctx, "SELECT "+tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := pgcodec.NewRowEncoder(rows.Columns(), nil)
		rows.Next()
		vals, _ := decodeDataRow(t, must(enc.AppendDataRows(nil, rows.Batch())))
		rows.Close()
		if string(vals[0]) != tc.text || rows.Columns()[0].OID != pgcodec.TextOID {
			t.Errorf("%s: %q (OID %d), want %q", tc.expr, vals[0], rows.Columns()[0].OID, tc.text)
		}
	}
}

func TestFormats(t *testing.T) {
	cols := make([]pgcodec.Column, 2)
	if _, err := pgcodec.NewRowEncoder(cols, []int16{0, 1, 0}); err == nil {
		t.Error("3 formats for 2 columns accepted")
	}
	if _, err := pgcodec.NewRowEncoder(cols, []int16{2}); err == nil {
		t.Error("format 2 accepted")
	}
}

func TestDecodeParam(t *testing.T) {
	for _, tc := range []struct {
		oid    uint32
		format int16
		data   []byte
		want   any
	}{
		{pgcodec.Int4OID, 0, []byte("42"), int64(42)},
		{pgcodec.Int4OID, 1, []byte{0, 0, 0, 42}, int64(42)},
		{pgcodec.Float8OID, 0, []byte("1.5"), 1.5},
		{pgcodec.BoolOID, 0, []byte("t"), true},
		{pgcodec.TextOID, 0, []byte("x"), "x"},
		{pgcodec.ByteaOID, 0, []byte(`\x0a0b`), []byte{10, 11}},
		{pgcodec.NumericOID, 1, []byte{0, 2, 0, 0, 0x40, 0, 0, 2, 0, 12, 0x0d, 0x48}, "-12.34"},
		{pgcodec.UUIDOID, 1, []byte{10, 11, 12, 13, 30, 47, 74, 91, 140, 125, 14, 15, 16, 17, 18, 19}, "0a0b0c0d-1e2f-4a5b-8c7d-0e0f10111213"},
		{pgcodec.IntervalOID, 1, []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}, pgcodec.Interval{Months: 3, Days: 2, Micros: 1}},
		{pgcodec.Int4OID, 0, nil, nil},
	} {
		got, err := pgcodec.DecodeParam(tc.oid, tc.format, tc.data)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DecodeParam(%d, %d, %q) = %#v, %v; want %#v", tc.oid, tc.format, tc.data, got, err, tc.want)
		}
	}
	if _, err := pgcodec.DecodeParam(pgcodec.Int4OID, 0, []byte("x")); err == nil {
		t.Error("bad int accepted")
	}
	if _, err := pgcodec.DecodeParam(pgcodec.Int8OID, 1, []byte{1, 2}); err == nil {
		t.Error("short int8 accepted")
	}
}

// BenchmarkAppendDataRows encodes 1M rows of (int64, text, float64).
func BenchmarkAppendDataRows(b *testing.B) {
	const n, batch = 1 << 20, 2048
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "d", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	bld := array.NewRecordBuilder(mem, schema)
	for i := range batch {
		bld.Field(0).(*array.Int64Builder).Append(int64(i) * 7919)
		bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row %d", i))
		bld.Field(2).(*array.Float64Builder).Append(float64(i) * 1.5)
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	cols := pgcodec.ColumnsFromSchema(schema)
	for _, f := range []int16{0, 1} {
		b.Run(map[int16]string{0: "text", 1: "binary"}[f], func(b *testing.B) {
			enc, _ := pgcodec.NewRowEncoder(cols, []int16{f})
			buf := make([]byte, 0, 1<<20)
			for b.Loop() {
				for range n / batch {
					buf = must(enc.AppendDataRows(buf[:0], rec))
				}
			}
			b.SetBytes(int64(len(buf)) * n / batch)
		})
	}
}
