//go:build duckdb_arrow

package gateway_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestCopyFromBinary loads every type Sluice maps to a PostgreSQL type with
// pgx's CopyFrom, which sends COPY ... FROM STDIN BINARY with each value in
// the binary form of the column's OID, and reads the rows back as text.
func TestCopyFromBinary(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	exec(t, c, `CREATE TABLE bt (
		b BOOLEAN, i1 TINYINT, i2 SMALLINT, i4 INTEGER, i8 BIGINT, u1 UTINYINT, u4 UINTEGER, u8 UBIGINT, h HUGEINT,
		f4 REAL, f8 DOUBLE, n DECIMAL(18,4), nb DECIMAL(38,10), s VARCHAR, bl BLOB,
		d DATE, tm TIME, ts TIMESTAMP, tz TIMESTAMPTZ, iv INTERVAL, u UUID, j JSON)`)
	cols := []string{"b", "i1", "i2", "i4", "i8", "u1", "u4", "u8", "h", "f4", "f8", "n", "nb", "s", "bl", "d", "tm", "ts", "tz", "iv", "u", "j"}

	num := func(s string) pgtype.Numeric {
		var n pgtype.Numeric
		if err := n.Scan(s); err != nil {
			t.Fatal(err)
		}
		return n
	}
	bigU8, _ := new(big.Int).SetString("18446744073709551615", 10)
	paris := time.FixedZone("CET", 3600)
	uuid := [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	rows := [][]any{
		{true, int8(-128), int16(-32768), int32(-2147483648), int64(math.MinInt64), uint8(255), uint32(4294967295),
			pgtype.Numeric{Int: bigU8, Valid: true}, num("-170141183460469231731687303715884105728"),
			float32(1.1), 0.1, num("-12345678901234.5678"), num("1234567890123456789012345678.0123456789"),
			"tab\there \"quoted\", comma\nnewline é", []byte{0, 1, '"', ',', '\\', 0xff},
			time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), pgtype.Time{Microseconds: (13*3600+4*60+5)*1e6 + 123456, Valid: true},
			time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(2024, 11, 14, 9, 30, 0, 0, paris),
			pgtype.Interval{Months: 14, Days: -3, Microseconds: 4*3600e6 + 5e5, Valid: true}, uuid, `{"a": [1, 2]}`},
		{false, int8(127), int16(32767), int32(2147483647), int64(math.MaxInt64), uint8(0), uint32(0),
			num("0"), num("0"), float32(math.Inf(-1)), math.NaN(), num("0.0001"), num("-0.0000000001"),
			"", []byte{}, pgtype.Date{InfinityModifier: pgtype.Infinity, Valid: true}, pgtype.Time{Microseconds: 0, Valid: true},
			pgtype.Timestamp{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
			pgtype.Interval{Valid: true}, [16]byte{}, `[]`},
		make([]any, len(cols)), // all NULL
	}
	n, err := c.CopyFrom(ctx, pgx.Identifier{"bt"}, cols, pgx.CopyFromRows(rows))
	if err != nil || n != 3 {
		t.Fatalf("CopyFrom: %d rows, %v", n, err)
	}
	got, err := c.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM bt ORDER BY b DESC NULLS LAST", pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatal(err)
	}
	var text [][]string
	for got.Next() {
		var row []string
		for _, v := range got.RawValues() {
			if v == nil {
				row = append(row, "NULL")
			} else {
				row = append(row, string(v))
			}
		}
		text = append(text, row)
	}
	if err := got.Err(); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"t", "-128", "-32768", "-2147483648", "-9223372036854775808", "255", "4294967295", "18446744073709551615",
			"-170141183460469231731687303715884105728", "1.1", "0.1", "-12345678901234.5678", "1234567890123456789012345678.0123456789",
			"tab\there \"quoted\", comma\nnewline é", `\x0001222c5cff`, "2024-02-29", "13:04:05.123456", "1999-12-31 23:59:59.999999",
			"2024-11-14 08:30:00+00", "1 year 2 mons -3 days +04:00:00.5", "12345678-9abc-def0-0123-456789abcdef", `{"a": [1, 2]}`},
		{"f", "127", "32767", "2147483647", "9223372036854775807", "0", "0", "0", "0", "-Infinity", "NaN", "0.0001", "-0.0000000001",
			"", `\x`, "infinity", "00:00:00", "-infinity", "1970-01-01 00:00:00.000001+00", "00:00:00", "00000000-0000-0000-0000-000000000000", "[]"},
		strings.Split(strings.Repeat("NULL ", len(cols)-1)+"NULL", " "),
	}
	if len(text) != len(want) {
		t.Fatalf("got %d rows, want %d: %q", len(text), len(want), text)
	}
	for r := range want {
		for i := range want[r] {
			if text[r][i] != want[r][i] {
				t.Errorf("row %d column %s = %q, want %q", r, cols[i], text[r][i], want[r][i])
			}
		}
	}
}

// pgcopy builds binary COPY data: the header, then raw tuple bytes.
func pgcopy(tuples ...[]byte) []byte {
	b := []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	for _, t := range tuples {
		b = append(b, t...)
	}
	return b
}

// tuple encodes int4 values (nil = NULL) as one tuple.
func tuple(vals ...any) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(vals)))
	for _, v := range vals {
		switch v := v.(type) {
		case nil:
			b = binary.BigEndian.AppendUint32(b, 0xffffffff)
		case int32:
			b = binary.BigEndian.AppendUint32(b, 4)
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		case []byte:
			b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

func TestCopyFromBinaryErrors(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	pg := c.PgConn()
	exec(t, c, "CREATE TABLE be (a INTEGER, b INTEGER)")
	trailer := []byte{0xff, 0xff}

	// The raw form works, with and without the trailer, and with a header
	// extension, which is skipped.
	ext := []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x03abc")
	for _, data := range [][]byte{
		pgcopy(tuple(int32(1), int32(2)), tuple(nil, int32(3)), trailer),
		pgcopy(tuple(int32(4), nil)),
		append(ext, tuple(int32(5), int32(6))...),
	} {
		if _, err := pg.CopyFrom(ctx, bytes.NewReader(data), "COPY be FROM STDIN (FORMAT binary)"); err != nil {
			t.Fatalf("CopyFrom %q: %v", data, err)
		}
	}

	bad := map[string]struct {
		data []byte
		code string
	}{
		"bad signature":         {[]byte("PGCOPY\nXX"), "22P04"},
		"empty":                 {nil, "22P04"},
		"missing flags":         {[]byte("PGCOPY\n\xff\r\n\x00\x00\x00"), "22P04"},
		"WITH OIDS":             {[]byte("PGCOPY\n\xff\r\n\x00\x00\x01\x00\x00\x00\x00\x00\x00"), "22P04"},
		"short extension":       {[]byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x09ab"), "22P04"},
		"field count":           {pgcopy(tuple(int32(1), int32(2)), tuple(int32(1)), trailer), "22P04"},
		"truncated tuple":       {pgcopy(tuple(int32(1), int32(2)))[:25], "22P04"},
		"truncated count":       {append(pgcopy(tuple(int32(1), int32(2))), 0), "22P04"},
		"negative length":       {pgcopy([]byte{0, 2, 0xff, 0xff, 0xff, 0xfe}), "22P04"},
		"data after trailer":    {pgcopy(tuple(int32(1), int32(2)), trailer, tuple(int32(1), int32(2))), "22P04"},
		"wrong size for int4":   {pgcopy(tuple(int32(1), []byte{1, 2}), trailer), "22P03"},
		"length beyond the end": {pgcopy([]byte{0, 2, 0x10, 0, 0, 0, 1, 2}), "22P04"},
	}
	for name, tt := range bad {
		_, err := pg.CopyFrom(ctx, bytes.NewReader(tt.data), "COPY be FROM STDIN (FORMAT binary)")
		if code(err) != tt.code {
			t.Errorf("%s: got %v, want %s", name, err, tt.code)
		}
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM be").Scan(&n); err != nil || n != 4 {
		t.Errorf("rows after the failed COPYs = %d, %v; want 4 (the table unchanged by errors)", n, err)
	}

	// Options that do not apply to the binary format: 42601.
	_, err := pg.CopyFrom(ctx, bytes.NewReader(nil), "COPY be FROM STDIN (FORMAT binary, DELIMITER ',')")
	if code(err) != "42601" {
		t.Errorf("DELIMITER in binary: %v, want 42601", err)
	}
	exec(t, c, "SELECT 1")
}

// TestCopyFromBinaryEdges: types pgx cannot send (timetz) and dates
// before Christ, in raw binary COPY data.
func TestCopyFromBinaryEdges(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	exec(t, c, "CREATE TABLE bx (tt TIMETZ, d DATE, ts TIMESTAMP)")
	be := binary.BigEndian
	tt := be.AppendUint64(nil, uint64((13*3600+4*60+5)*1e6))
	west := int32(-5400) // seconds west of UTC: +01:30
	tt = be.AppendUint32(tt, uint32(west))
	bc := time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC)
	d := be.AppendUint32(nil, uint32(int32(bc.Unix()/86400-10957)))
	ts := be.AppendUint64(nil, uint64(bc.Add(12*time.Hour).UnixMicro()-10957*86400*1e6))
	data := pgcopy(tuple(tt, d, ts), []byte{0xff, 0xff})
	if _, err := c.PgConn().CopyFrom(ctx, bytes.NewReader(data), "COPY bx FROM STDIN BINARY"); err != nil {
		t.Fatal(err)
	}
	var got [3]string
	if err := c.QueryRow(ctx, "SELECT tt::VARCHAR, d::VARCHAR, ts::VARCHAR FROM bx").Scan(&got[0], &got[1], &got[2]); err != nil {
		t.Fatal(err)
	}
	if want := [3]string{"13:04:05+01:30", "0044-03-15 (BC)", "0044-03-15 (BC) 12:00:00"}; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
