package pgcopy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// parseOut reads the CSV the decoders write: fields empty (NULL) or
// double-quoted with "" for a quote, separated by commas, one record a
// line. It returns the records, or fails t on anything else.
func parseOut(t *testing.T, out []byte) [][]string {
	t.Helper()
	var recs [][]string
	rec := []string{}
	for i := 0; i < len(out); {
		switch out[i] {
		case '"':
			var f strings.Builder
			for i++; ; i++ {
				if i >= len(out) {
					t.Fatalf("unterminated quoted field in %q", out)
				}
				if out[i] == '"' {
					if i+1 < len(out) && out[i+1] == '"' {
						f.WriteByte('"')
						i++
						continue
					}
					i++
					break
				}
				f.WriteByte(out[i])
			}
			rec = append(rec, f.String())
		case ',', '\n':
			rec = append(rec, "\x00NULL")
		default:
			t.Fatalf("unquoted value at %d in %q", i, out)
		}
		if i >= len(out) {
			t.Fatalf("record without its newline in %q", out)
		}
		switch out[i] {
		case ',':
			i++
			if i == len(out) {
				t.Fatalf("record without its newline in %q", out)
			}
			continue
		case '\n':
			i++
			recs = append(recs, rec)
			rec = []string{}
		default:
			t.Fatalf("junk after a field at %d in %q", i, out)
		}
	}
	return recs
}

// checkCoded fails t unless err carries a SQLSTATE other than XX000.
func checkCoded(t *testing.T, err error) {
	t.Helper()
	if c := pgerr.Code(err); c == "" || c == "XX000" {
		t.Fatalf("error %v has SQLSTATE %q", err, c)
	}
}

// FuzzTextToCSV decodes arbitrary text-format COPY data for 1 to 4
// columns. It never panics; an error is coded; a success writes one CSV
// record of ncols fields per input line up to the end-of-data marker.
func FuzzTextToCSV(f *testing.F) {
	f.Add([]byte("1\tone\n2\t\\N\n3\ttab\\there\\\\\n\\.\nignored\n"), uint8(2), false)
	f.Add([]byte("a\\\tb\tc\r\n\\x41\\101\\x\tq\"uote\n"), uint8(2), false)
	f.Add([]byte("\\N\n\n\\.\r\n"), uint8(1), false)
	f.Add([]byte("1;2;3\n4;\\;;6"), uint8(3), true)
	f.Add([]byte("trailing\\"), uint8(1), false)
	f.Add([]byte("1\t2\n1\n"), uint8(2), false)
	f.Fuzz(func(t *testing.T, data []byte, n uint8, semicolon bool) {
		ncols := int(n%4) + 1
		opts := pgcodec.DefaultCopyOptions(pgcodec.CopyText)
		if semicolon {
			opts.Delimiter = ';'
		}
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		err := TextToCSV(w, bytes.NewReader(data), ncols, opts)
		if err != nil {
			checkCoded(t, err)
			return
		}
		_ = w.Flush()
		lines := 0
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if l == "" {
				break
			}
			if strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r") == `\.` {
				break
			}
			lines++
		}
		recs := parseOut(t, out.Bytes())
		if len(recs) != lines {
			t.Fatalf("%d lines in, %d records out: %q", lines, len(recs), out.Bytes())
		}
		for i, r := range recs {
			if len(r) != ncols {
				t.Fatalf("record %d has %d fields, want %d: %q", i+1, len(r), ncols, out.Bytes())
			}
		}
	})
}

// fuzzOIDs are the column types a binary fuzz input picks from.
var fuzzOIDs = []uint32{
	pgcodec.BoolOID, pgcodec.Int2OID, pgcodec.Int4OID, pgcodec.Int8OID, pgcodec.Float4OID,
	pgcodec.Float8OID, pgcodec.NumericOID, pgcodec.DateOID, pgcodec.TimeOID, pgcodec.TimetzOID,
	pgcodec.TimestampOID, pgcodec.TimestamptzOID, pgcodec.IntervalOID, pgcodec.UUIDOID,
	pgcodec.ByteaOID, pgcodec.TextOID, pgcodec.JSONOID, pgcodec.VarcharOID,
}

// binaryCopy encodes tuples of fields (nil = NULL) as PGCOPY data.
func binaryCopy(tuples ...[][]byte) []byte {
	b := []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	for _, t := range tuples {
		b = binary.BigEndian.AppendUint16(b, uint16(len(t)))
		for _, f := range t {
			if f == nil {
				b = binary.BigEndian.AppendUint32(b, 0xffffffff)
				continue
			}
			b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
			b = append(b, f...)
		}
	}
	return binary.BigEndian.AppendUint16(b, 0xffff)
}

// FuzzBinaryToCSV decodes arbitrary binary-format COPY data for columns
// whose types the input picks (types[i] indexes fuzzOIDs; 1 to 4 columns).
// It never panics; an error is coded; a success writes records of ncols
// fields.
func FuzzBinaryToCSV(f *testing.F) {
	be := binary.BigEndian
	f.Add(binaryCopy([][]byte{be.AppendUint32(nil, 7), []byte("x")}, [][]byte{nil, nil}), []byte{2, 15})
	f.Add(binaryCopy([][]byte{{1}, be.AppendUint16(nil, 3), be.AppendUint64(nil, 1<<40)}), []byte{0, 1, 3})
	f.Add(binaryCopy([][]byte{be.AppendUint32(nil, 0x7f800000), be.AppendUint64(nil, 0x7ff8000000000001)}), []byte{4, 5})
	f.Add(binaryCopy([][]byte{{0, 2, 0, 1, 0, 0, 0, 2, 0, 1, 0x13, 0x88}}), []byte{6})
	f.Add(binaryCopy([][]byte{be.AppendUint32(nil, 0x7fffffff), be.AppendUint64(nil, 1<<63)}), []byte{7, 10})
	f.Add(binaryCopy([][]byte{make([]byte, 16), make([]byte, 12), make([]byte, 16)}), []byte{13, 9, 12})
	f.Add(binaryCopy([][]byte{{'a', 0, 'b'}, {0xff}}), []byte{15, 16})
	f.Add([]byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x04abcd\x00\x01\xff\xff\xff\xfe"), []byte{15})
	f.Add([]byte("PGCOPY\n\xff\r\n\x00\x00\x01\x00\x00"), []byte{1})
	f.Fuzz(func(t *testing.T, data, types []byte) {
		if len(types) == 0 {
			types = []byte{0}
		}
		if len(types) > 4 {
			types = types[:4]
		}
		cols := make([]pgcodec.Column, len(types))
		for i, ty := range types {
			cols[i] = pgcodec.Column{Name: "c", OID: fuzzOIDs[int(ty)%len(fuzzOIDs)]}
		}
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		err := BinaryToCSV(w, bytes.NewReader(data), cols)
		if err != nil {
			checkCoded(t, err)
			return
		}
		_ = w.Flush()
		for i, r := range parseOut(t, out.Bytes()) {
			if len(r) != len(cols) {
				t.Fatalf("record %d has %d fields, want %d: %q", i+1, len(r), len(cols), out.Bytes())
			}
		}
	})
}
