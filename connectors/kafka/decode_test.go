package kafka

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestJSONScanValidity(t *testing.T) {
	valid := []string{
		`{}`, ` { } `, "{\"a\":1}\n", `{"a":-0.5e+10,"b":[1,{"c":null}],"d":"x\"\\\/\b\f\n\r\t\u00e9"}`,
		`{"a":{"b":{"c":[[],{}]}}}`, `{"":1}`, `{"a":true,"a":false}`,
	}
	invalid := []string{
		``, `[]`, `1`, `"s"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":01}`, `{"a":1.}`,
		`{"a":.5}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}",
		`{"a":[1,]}`, `{"a":[1}`, `{"a":1}x`, `{"a":1}{}`, `{a:1}`, `{"a":-}`, `{"a":+1}`,
		strings.Repeat("[", 600) + strings.Repeat("]", 600),
		`{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`,
	}
	sc := newJSONScanner([]string{"a"}, nil, false)
	for _, v := range valid {
		if !sc.scan([]byte(v)) {
			t.Errorf("scan(%q) = false, want true", v)
		}
	}
	for _, v := range invalid {
		if sc.scan([]byte(v)) {
			t.Errorf("scan(%q) = true, want false", v)
		}
	}
}

// decodeOne decodes msgs with the json decoder into fields and returns the
// rows as text ("NULL" for nulls).
func decodeAll(t *testing.T, fields []arrow.Field, format string, msgs ...string) []string {
	t.Helper()
	schema := arrowSchema(fields)
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer rb.Release()
	dec, err := newDecoder(settings{format: format, delim: ','}, schema, rb)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		var v []byte
		if m != "<nil>" {
			v = []byte(m)
		}
		dec.decode(v)
	}
	for i := range numMeta {
		rb.Field(i).AppendNulls(len(msgs))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var out []string
	for i := range int(rec.NumRows()) {
		var vs []string
		for j := numMeta; j < int(rec.NumCols()); j++ {
			if v := valueAt(rec.Column(j), i); v == nil {
				vs = append(vs, "NULL")
			} else {
				vs = append(vs, strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", `\n`)))
			}
		}
		out = append(out, strings.Join(vs, "|"))
	}
	return out
}

func fmtAny(v any) string { return fmt.Sprint(v) }

func TestJSONDecode(t *testing.T) {
	fields, err := parseColumns(`s text, n bigint, f double, b boolean, j json`)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeAll(t, fields, "json",
		`{"s":"plain","n":1,"f":2,"b":true,"j":{"x":[1,2]}}`,
		`{"j":"str","b":"false","f":"1.5","n":"7","s":12.5}`,
		`{"s":"esc \" \\ \u00e9 \ud83d\ude00 \ud800 x","n":9223372036854775807,"f":1e400}`,
		`{"s":null,"n":1.5,"f":true,"b":1,"j":null}`,
		`{"s":"first","s":"second","n":2e3}`,
		`{"other":{"s":"nested is not top level"}}`,
		`{"s":"bad json"`,
		`<nil>`,
		`{"s":[1, 2],"n":-9223372036854775808,"j":3}`,
	)
	want := []string{
		`plain|1|2|true|{"x":[1,2]}`,
		`12.5|7|1.5|false|"str"`,
		"esc \" \\ é 😀 \uFFFD x|9223372036854775807|+Inf|NULL|NULL",
		`NULL|NULL|NULL|true|NULL`,
		`first|2000|NULL|NULL|NULL`,
		`NULL|NULL|NULL|NULL|NULL`,
		`NULL|NULL|NULL|NULL|NULL`,
		`NULL|NULL|NULL|NULL|NULL`,
		`[1, 2]|-9223372036854775808|NULL|NULL|3`,
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Errorf("row %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

func TestKeyPrediction(t *testing.T) {
	// Keys in changing orders and unknown keys must not confuse the
	// remembered order.
	fields, _ := parseColumns(`a bigint, b bigint`)
	got := decodeAll(t, fields, "json",
		`{"a":1,"b":2}`, `{"b":3,"a":4}`, `{"x":0,"a":5,"b":6}`, `{"a":7,"b":8}`, `{"b":9}`, `{"a":10,"x":1,"b":11}`)
	want := "1|2; 4|3; 5|6; 7|8; NULL|9; 10|11"
	if g := strings.Join(got, "; "); g != want {
		t.Fatalf("got %s, want %s", g, want)
	}
}

func TestCSVSplit(t *testing.T) {
	for in, want := range map[string]string{
		"":                  `[]`,
		"a":                 `[a]`,
		"a,b\n":             `[a b]`,
		"a,b\r\n":           `[a b]`,
		",":                 `[ ]`,
		`"a,b",c`:           `[a,b c]`,
		`"a""b"`:            `[a"b]`,
		"\"multi\nline\",x": "[multi\nline x]",
		`a"b,c`:             `[a"b c]`,
		`"a"b`:              `bad`,
		`"a`:                `bad`,
	} {
		fs, ok := splitCSV([]byte(in), ',', nil)
		got := "bad"
		if ok {
			var parts []string
			for _, f := range fs {
				p := in[f.start:f.end]
				if f.esc {
					p = strings.ReplaceAll(p, `""`, `"`)
				}
				parts = append(parts, p)
			}
			got = "[" + strings.Join(parts, " ") + "]"
		}
		if got != want {
			t.Errorf("splitCSV(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestConversions(t *testing.T) {
	for in, want := range map[string]string{
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8":  "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"{6BA7B8109DAD11D180B400C04FD430C8}":    "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"6ba7b810-9dad-11d1-80b4-00c04fd430c":   "",
		"6ba7b8109-dad-11d1-80b4-00c04fd430c8":  "",
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8a": "",
		"gba7b810-9dad-11d1-80b4-00c04fd430c8":  "",
	} {
		got, ok := normUUID(nil, []byte(in))
		if !ok {
			got = nil
		}
		if string(got) != want {
			t.Errorf("normUUID(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"2024-01-02T03:04:05Z":        "2024-01-02T03:04:05Z",
		"2024-01-02 03:04:05.123456":  "2024-01-02T03:04:05.123456Z",
		"2024-01-02 03:04:05+02":      "2024-01-02T01:04:05Z",
		"2024-01-02 03:04:05-0130":    "2024-01-02T04:34:05Z",
		"2024-01-02T03:04:05.5+05:30": "2024-01-01T21:34:05.5Z",
		"2024-01-02":                  "2024-01-02T00:00:00Z",
		"yesterday":                   "",
		"2024-13-02":                  "",
	} {
		got := ""
		if ts, ok := parseTimestamp(in); ok {
			got = ts.Format("2006-01-02T15:04:05.999999999Z07:00")
		}
		if got != want {
			t.Errorf("parseTimestamp(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		in     string
		lo, hi int64
		want   int64
		ok     bool
	}{
		{"12", -100, 100, 12, true},
		{"101", -100, 100, 0, false},
		{"1e2", -100, 100, 100, true},
		{"1.5", -100, 100, 0, false},
		{"-9223372036854775808", -1 << 63, 1<<63 - 1, -1 << 63, true},
		{"9223372036854775808", -1 << 63, 1<<63 - 1, 0, false},
		{"9.3e18", -1 << 63, 1<<63 - 1, 0, false},
		{"", -1, 1, 0, false},
	} {
		got, ok := parseInt(vNumber, []byte(c.in), c.lo, c.hi)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("parseInt(%q) = %d, %t; want %d, %t", c.in, got, ok, c.want, c.ok)
		}
	}
}

// FuzzJSONScan checks the scanner against encoding/json: it accepts
// exactly the valid JSON objects, and finds the same string values.
func FuzzJSONScan(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"x\u00e9\ud83d\ude00","b":[1,{"c":2}]}`, `{"a":1e5}`, `[1]`, `{"a":"\ud800"}`, `{"a" : 1 , "b":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if strings.Count(string(b), "[")+strings.Count(string(b), "{") > maxDepth-10 {
			return
		}
		sc := newJSONScanner(nil, nil, true)
		got := sc.scan(b)
		var obj map[string]json.RawMessage
		want := json.Valid(b) && json.Unmarshal(b, &obj) == nil && obj != nil
		if got != want {
			t.Fatalf("scan(%q) = %t, encoding/json says %t", b, got, want)
		}
		if !got || !utf8.Valid(b) {
			return
		}
		for j, name := range sc.names {
			sl := sc.slots[j]
			if sl.gen != sc.gen || sl.t != vText {
				continue
			}
			var want string
			if err := json.Unmarshal(obj[name], &want); err != nil {
				continue // a duplicate key: encoding/json keeps the last
			}
			text := b[sl.start:sl.end]
			if sl.esc {
				text = unescapeJSON(nil, text)
			}
			if string(text) != want && strings.Count(string(b), `"`+name+`"`) == 1 {
				t.Fatalf("field %q: %q, encoding/json %q", name, text, want)
			}
		}
	})
}

// TestParseTimestampFast compares the fast path with the layouts alone on
// texts around every field's limits.
func TestParseTimestampFast(t *testing.T) {
	slow := func(s string) (time.Time, bool) {
		for _, l := range timestampLayouts {
			if ts, err := time.Parse(l, s); err == nil {
				return ts.UTC(), true
			}
		}
		return time.Time{}, false
	}
	var texts []string
	for _, date := range []string{"2024-11-10", "2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29", "2024-04-31", "2024-12-31",
		"2024-13-01", "2024-00-10", "2024-01-00", "0000-01-01", "9999-12-31", "1969-12-31", "2024-1-10", "20a4-01-01"} {
		for _, tm := range []string{"00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "1:00:00", "12:0a:00"} {
			for _, sep := range []string{"T", " ", "t", "_"} {
				for _, frac := range []string{"", ".", ".1", ".123456", ".1234567", ".123456789", ".1234567890", ",5", ".5x"} {
					for _, zone := range []string{"", "Z", "z", "+02:00", "-0130", "+05", " Z", "ZZ"} {
						texts = append(texts, date+sep+tm+frac+zone)
					}
				}
			}
		}
	}
	texts = append(texts, "", "2024-11-10", "2024-11-10T", "2024-11-10T00:00", " 2024-11-10T00:00:01Z")
	fast := 0
	for _, s := range texts {
		got, gok := parseTimestamp(s)
		want, wok := slow(s)
		if gok != wok || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("%q: got %v %v, want %v %v", s, got, gok, want, wok)
		}
		if _, ok := parseTimestampUTC(s); ok {
			fast++
		}
	}
	if fast < 200 {
		t.Fatalf("the fast path took only %d of %d texts", fast, len(texts))
	}
}
