package logictest

import (
	"strings"
	"testing"
)

const sample = `# a comment
statement ok
CREATE TABLE t (a INT, b TEXT)

statement count 2
INSERT INTO t VALUES (1, 'one'),
                     (2, '')

statement error 42P01|XX000
SELECT * FROM missing

statement error 42601 syntax error at or near "SELEC"
SELEC 1

query IT rowsort
SELECT a, b
FROM t
----
2 (empty)
1   one

onlyif simple
query error 42P01 does not exist
SELECT * FROM missing

skipif extended
query I
SELECT 1 WHERE false

query R valuesort
SELECT 1.5
----
1.5

halt

statement ok
NOT PARSED AFTER HALT
`

func TestParse(t *testing.T) {
	f, err := Parse("sample.test", strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Records) != 9 {
		t.Fatalf("got %d records, want 9", len(f.Records))
	}
	r := f.Records
	if r[0].Kind != KindStatement || r[0].SQL != "CREATE TABLE t (a INT, b TEXT)" || r[0].ExpectError || r[0].Line != 2 || r[0].ExpectCount != -1 {
		t.Errorf("record 0: %+v", r[0])
	}
	if r[1].ExpectCount != 2 || !strings.Contains(r[1].SQL, "\n") {
		t.Errorf("record 1: %+v", r[1])
	}
	if !r[2].ExpectError || r[2].SQLState != "42P01|XX000" || r[2].ErrorRE != nil {
		t.Errorf("record 2: %+v", r[2])
	}
	if r[3].SQLState != "42601" || r[3].ErrorRE == nil || !r[3].ErrorRE.MatchString(`syntax error at or near "SELEC"`) {
		t.Errorf("record 3: %+v", r[3])
	}
	q := r[4]
	if q.Kind != KindQuery || q.Types != "IT" || q.Sort != RowSort || q.SQL != "SELECT a, b\nFROM t" || !q.HasResults {
		t.Errorf("record 4: %+v", q)
	}
	if len(q.Expected) != 2 || q.Expected[1] != "1   one" {
		t.Errorf("record 4 expected rows: %q", q.Expected)
	}
	if f.Lines[q.ResultStart] != "2 (empty)" || q.ResultEnd-q.ResultStart != 2 || f.Lines[q.SQLEnd] != "----" {
		t.Errorf("record 4 positions: start %d end %d sqlEnd %d", q.ResultStart, q.ResultEnd, q.SQLEnd)
	}
	if !r[5].ExpectError || r[5].Kind != KindQuery || r[5].ErrorRE == nil {
		t.Errorf("record 5: %+v", r[5])
	}
	if !r[5].RunsIn(Simple) || r[5].RunsIn(Extended) {
		t.Errorf("record 5 onlyif simple: %+v", r[5])
	}
	if r[6].HasResults || len(r[6].Expected) != 0 || r[6].RunsIn(Extended) || !r[6].RunsIn(Simple) {
		t.Errorf("record 6: %+v", r[6])
	}
	if r[7].Sort != ValueSort || r[7].Types != "R" {
		t.Errorf("record 7: %+v", r[7])
	}
	if r[8].Kind != KindHalt {
		t.Errorf("record 8: %+v", r[8])
	}
	if r[0].RunsIn(Simple) != true || r[0].RunsIn(Extended) != true {
		t.Errorf("record 0 must run in both protocols")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{"statement\nSELECT 1\n", ":1: statement wants"},
		{"statement okay\nSELECT 1\n", "got \"okay\""},
		{"statement error\nSELECT 1\n", "SQLSTATE"},
		{"statement error 4201\nSELECT 1\n", "SQLSTATE"},
		{"statement error 42P01|\nSELECT 1\n", "SQLSTATE"},
		{"statement error 42601 (\nSELECT 1\n", "bad error regexp"},
		{"statement count x\nSELECT 1\n", "bad count"},
		{"statement ok\n\n", "no SQL"},
		{"query\nSELECT 1\n", "type letters"},
		{"query IX\nSELECT 1\n", "bad type letter"},
		{"query I sideways\nSELECT 1\n", "bad sort mode"},
		{"query error 42P01\nSELECT 1\n----\n1\n", "no expected rows"},
		{"select 1\n", "unknown directive"},
		{"onlyif postgres\nstatement ok\nSELECT 1\n", "onlyif wants"},
		{"statement ok\nSELECT 1\n\nskipif simple\n", "applies to no record"},
	}
	for _, tt := range tests {
		_, err := Parse("bad.test", strings.NewReader(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tt.text, err, tt.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "bad.test:") {
			t.Errorf("error %q does not name the file", err)
		}
	}
}

func TestCheckRows(t *testing.T) {
	s := func(v string) *string { return &v }
	rec := &Record{Kind: KindQuery, Types: "ITB", Sort: RowSort, Expected: []string{"2\t(empty)   f", "1 a  b t", "3 NULL NULL"}}
	rows := [][]*string{{s("1"), s("a  b"), s("t")}, {s("2"), s(""), s("f")}, {s("3"), nil, nil}}
	if _, err := checkRows(rec, rows, nil); err != nil {
		t.Fatalf("rowsort with aligned columns: %v", err)
	}
	rec.Sort = NoSort
	if _, err := checkRows(rec, rows, nil); err == nil || !strings.Contains(err.Error(), "rows differ") {
		t.Fatalf("nosort in another order: %v", err)
	}
	bad := [][]*string{{s("x"), s("a"), s("yes")}}
	_, err := checkRows(&Record{Kind: KindQuery, Types: "ITB", Expected: []string{"x a yes"}}, bad, nil)
	if err == nil || !strings.Contains(err.Error(), "not an integer") || !strings.Contains(err.Error(), "not a boolean") {
		t.Fatalf("type check: %v", err)
	}
	if _, err := checkRows(&Record{Kind: KindQuery, Types: "I"}, [][]*string{{s("1"), s("2")}}, nil); err == nil {
		t.Fatal("column count mismatch not reported")
	}
	vs := &Record{Kind: KindQuery, Types: "II", Sort: ValueSort, Expected: []string{"1", "2", "3", "4"}}
	if _, err := checkRows(vs, [][]*string{{s("4"), s("2")}, {s("3"), s("1")}}, nil); err != nil {
		t.Fatalf("valuesort: %v", err)
	}
	withVar := &Record{Kind: KindQuery, Types: "T", Expected: []string{"${TESTDATA}/x.csv"}}
	if _, err := checkRows(withVar, [][]*string{{s("/repo/testdata/x.csv")}}, map[string]string{"TESTDATA": "/repo/testdata"}); err != nil {
		t.Fatalf("vars: %v", err)
	}
}

func TestRewrite(t *testing.T) {
	text := "statement ok\nCREATE TABLE t (a INT)\n\nquery I\nSELECT a FROM t\n----\n9\n9\n\nquery T\nSELECT 'x'\n\n# end\n"
	f, err := Parse("r.test", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	got := rewrite(f, map[*Record][]string{
		f.Records[1]: {"1", "2"},
		f.Records[2]: unexpand([]string{"/tmp/run/x"}, map[string]string{"TMPDIR": "/tmp/run"}),
	})
	want := "statement ok\nCREATE TABLE t (a INT)\n\nquery I\nSELECT a FROM t\n----\n1\n2\n\nquery T\nSELECT 'x'\n----\n${TMPDIR}/x\n\n# end\n"
	if got != want {
		t.Fatalf("rewrite:\n%s\nwant:\n%s", got, want)
	}
	if _, err := Parse("r.test", strings.NewReader(got)); err != nil {
		t.Fatalf("rewritten file does not parse: %v", err)
	}
}
