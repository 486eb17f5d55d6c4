package pgcopy

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
)

func copyStmt(t *testing.T, q string) *sql.Copy {
	t.Helper()
	stmts, err := sql.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := stmts[0].(*sql.Copy)
	if !ok {
		t.Fatalf("%s parsed as %T", q, stmts[0])
	}
	return st
}

func TestOptions(t *testing.T) {
	for _, c := range []struct{ q, code string }{
		{`COPY t FROM STDIN (FORMAT csv, HEADER true, DELIMITER ';')`, ""},
		{`COPY t TO STDOUT (FORMAT binary)`, ""},
		{`COPY t FROM STDIN (FORMAT xml)`, "22023"},
		{`COPY t FROM STDIN (FORMAT text, HEADER true)`, "0A000"},
		{`COPY t FROM STDIN (FORMAT binary, NULL 'x')`, "42601"},
		{`COPY t FROM STDIN (DELIMITER ';;')`, "0A000"},
	} {
		_, err := Options(copyStmt(t, c.q))
		if got := pgerr.Code(err); err != nil && got != c.code || err == nil && c.code != "" {
			t.Errorf("%s: error %v (%s), want SQLSTATE %q", c.q, err, got, c.code)
		}
	}
}

func TestTextToCSV(t *testing.T) {
	in := "1\tone\n2\t\\N\n3\ttab\\there\\\\\n\\.\nignored\n"
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := TextToCSV(w, strings.NewReader(in), 2, pgcodec.DefaultCopyOptions(pgcodec.CopyText)); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := "\"1\",\"one\"\n\"2\",\n\"3\",\"tab\there\\\"\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	err := TextToCSV(bufio.NewWriter(&out), strings.NewReader("1\n"), 2, pgcodec.DefaultCopyOptions(pgcodec.CopyText))
	if pgerr.Code(err) != "22P04" {
		t.Errorf("missing column: %v, want 22P04", err)
	}
}
