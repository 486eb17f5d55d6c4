package pgcodec

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestAppendCastText(t *testing.T) {
	be := binary.BigEndian
	bc := time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		oid  uint32
		v    []byte
		want string
	}{
		{BoolOID, []byte{1}, "true"},
		{Int2OID, be.AppendUint16(nil, 0xffff), "-1"},
		{Float4OID, be.AppendUint32(nil, 0x3f8ccccd), "1.1"},
		{Float8OID, be.AppendUint64(nil, 0x7ff0000000000000), "Infinity"},
		{TimestamptzOID, be.AppendUint64(nil, uint64(bc.UnixMicro()-unixToPGMicros)), "0044-03-15 (BC) 12:00:00+00"},
		{DateOID, be.AppendUint32(nil, 0), "2000-01-01"},
		{IntervalOID, append(be.AppendUint64(nil, 5), 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff), "-1 months 2 days 5 microseconds"},
		{ByteaOID, []byte{0, 'A', 0xfe}, `\x00\x41\xFE`},
		{TextOID, []byte("héllo"), "héllo"},
	}
	for _, tt := range tests {
		got, err := AppendCastText([]byte("prefix:"), tt.oid, tt.v)
		if err != nil || string(got) != "prefix:"+tt.want {
			t.Errorf("oid %d % x: %q, %v; want %q", tt.oid, tt.v, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		oid  uint32
		v    []byte
		code string
	}{
		{Int4OID, []byte{1, 2}, pgerrcode.InvalidBinaryRepresentation},
		{UUIDOID, make([]byte, 15), pgerrcode.InvalidBinaryRepresentation},
		{NumericOID, []byte{0, 1}, pgerrcode.InvalidBinaryRepresentation},
		// A base-10000 digit of 10000 or more, or an unknown sign (found by
		// FuzzBinaryToCSV: a digit above 9999 panicked).
		{NumericOID, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0x30, 0x30}, pgerrcode.InvalidBinaryRepresentation},
		{NumericOID, []byte{0, 1, 0, 0, 0x12, 0x34, 0, 0, 0, 1}, pgerrcode.InvalidBinaryRepresentation},
		{TextOID, []byte{'a', 0, 'b'}, pgerrcode.CharacterNotInRepertoire},
		{TextOID, []byte{0xff}, pgerrcode.CharacterNotInRepertoire},
	} {
		if _, err := AppendCastText(nil, bad.oid, bad.v); pgerr.Code(err) != bad.code {
			t.Errorf("oid %d % x: %v, want %s", bad.oid, bad.v, err, bad.code)
		}
	}
}

func TestBinaryCopyReader(t *testing.T) {
	data := append([]byte(nil), binaryCopySignature...)
	data = append(data, 0, 2, 0, 0, 0, 1, 'x', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	r := NewBinaryCopyReader(bytes.NewReader(data), 2)
	if err := r.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	fields, ok, err := r.Next()
	if err != nil || !ok || string(fields[0]) != "x" || fields[1] != nil {
		t.Fatalf("Next = %q %v %v", fields, ok, err)
	}
	if _, ok, err := r.Next(); ok || err != nil {
		t.Fatalf("at the trailer: %v %v", ok, err)
	}
	// A huge declared length with little data fails without allocating it.
	huge := append(append([]byte(nil), binaryCopySignature...), 0, 1, 0x3f, 0xff, 0xff, 0xff, 'a')
	r = NewBinaryCopyReader(bytes.NewReader(huge), 1)
	_ = r.ReadHeader()
	if _, _, err := r.Next(); pgerr.Code(err) != pgerrcode.BadCopyFileFormat || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("got %v", err)
	}
	// The client's CopyFail comes through as it is.
	fail := pgerr.New(pgerrcode.QueryCanceled, "COPY from stdin failed")
	r = NewBinaryCopyReader(io.MultiReader(bytes.NewReader(binaryCopySignature), errReader{fail}), 1)
	_ = r.ReadHeader()
	if _, _, err := r.Next(); err != fail {
		t.Fatalf("got %v, want the reader's error", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
