//go:build duckdb_arrow

package pgcodec_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// must returns v, failing the caller (by panic, so that it works in
// benchmarks too) on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestMessageLimit: a row whose DataRow or CopyData message would exceed
// the limit (MaxMessageLen, lowered here to 1 MiB: a real 1 GB value costs
// DuckDB alone 12 s to build on these machines, see docs/reliability.md
// Limits) is refused with 54000, and the rows before it in the batch are
// kept whole.
func TestMessageLimit(t *testing.T) {
	const limit = 1 << 20
	defer pgcodec.SetMaxMessageLen(limit)()
	b := array.NewStringBuilder(memory.DefaultAllocator)
	b.Append("small")
	b.Append(strings.Repeat("x", limit))
	b.Append("after")
	arr := b.NewArray()
	defer arr.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.BinaryTypes.String}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{arr}, 3)
	defer rec.Release()
	cols := []pgcodec.Column{{Name: "v", OID: pgcodec.TextOID, TypeSize: -1, TypeMod: -1, Type: arrow.BinaryTypes.String}}

	check := func(name string, buf []byte, err error, wantType byte) {
		t.Helper()
		if pgerr.Code(err) != pgerrcode.ProgramLimitExceeded || !strings.Contains(pgerr.As(err).Detail, "exceeds the 1048576 bytes") {
			t.Fatalf("%s: %v (%s, %q)", name, err, pgerr.Code(err), pgerr.As(err).Detail)
		}
		// One whole message of the first row, nothing of the second.
		if len(buf) < 5 || buf[0] != wantType || int(binary.BigEndian.Uint32(buf[1:]))+1 != len(buf) {
			t.Fatalf("%s: kept %d bytes, want exactly the first row's message", name, len(buf))
		}
	}
	row, err := pgcodec.NewRowEncoder(cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf, err := row.AppendDataRows(nil, rec)
	check("DataRow", buf, err, 'D')
	for _, f := range []pgcodec.CopyFormat{pgcodec.CopyText, pgcodec.CopyCSV} {
		enc, err := pgcodec.NewCopyEncoder(cols, pgcodec.DefaultCopyOptions(f))
		if err != nil {
			t.Fatal(err)
		}
		buf, err := enc.AppendRows(nil, rec)
		check("CopyData", buf, err, 'd')
	}
}
