package logictest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Options configure a run of one file.
type Options struct {
	// ConnString is the pgx connection string of the server.
	ConnString string
	// Protocol is the query protocol to use.
	Protocol Protocol
	// Rewrite replaces the expected rows of every query in the file by the
	// rows the server returned, and writes the file back, for review.
	Rewrite bool
	// Vars are substituted into SQL and expected rows: "${NAME}" becomes
	// Vars["NAME"] (e.g. TESTDATA, TMPDIR).
	Vars map[string]string
	// StatementTimeout bounds each record; 0 means 2 minutes.
	StatementTimeout time.Duration
}

// T is the part of *testing.T the runner uses.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// RunFile parses and runs the file at path, reporting every failing record
// through t. It stops at the first record that breaks the connection.
func RunFile(ctx context.Context, t T, path string, opts Options) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v", err)
		return
	}
	f, err := Parse(path, strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("%v", err)
		return
	}
	conn, err := pgx.Connect(ctx, opts.ConnString)
	if err != nil {
		t.Fatalf("%s: connect: %v", path, err)
		return
	}
	first := conn.Config().User
	conns := map[string]*pgx.Conn{first: conn}
	defer func() {
		for _, c := range conns {
			c.Close(context.Background())
		}
	}()

	rewrites := map[*Record][]string{}
	for _, rec := range f.Records {
		if rec.Kind == KindHalt {
			break
		}
		if rec.Kind == KindUser {
			c, ok := conns[rec.User]
			if !ok {
				cfg := conn.Config().Copy()
				cfg.User = rec.User
				if c, err = pgx.ConnectConfig(ctx, cfg); err != nil {
					t.Fatalf("%s:%d: connect as %s: %v", path, rec.Line, rec.User, err)
					return
				}
				conns[rec.User] = c
			}
			conn = c
			continue
		}
		if !rec.RunsIn(opts.Protocol) {
			continue
		}
		got, err := runRecord(ctx, conn, rec, opts)
		var differ *rowsDifferError
		if opts.Rewrite && errors.As(err, &differ) {
			err = nil // the rows are being rewritten
		}
		if err != nil {
			t.Errorf("%s:%d (%s protocol): %v", path, rec.Line, opts.Protocol, err)
			if conn.IsClosed() {
				t.Fatalf("%s:%d: the connection is closed; stopping", path, rec.Line)
				return
			}
		}
		if opts.Rewrite && rec.Kind == KindQuery && !rec.ExpectError && err == nil {
			rewrites[rec] = unexpand(got, opts.Vars)
		}
	}
	if opts.Rewrite {
		if err := os.WriteFile(path, []byte(rewrite(f, rewrites)), 0o644); err != nil {
			t.Fatalf("rewrite %s: %v", path, err)
		}
		t.Logf("rewrote %s (%d queries)", path, len(rewrites))
	}
}

// rewrite returns the file's text with the expected rows of the given
// records replaced.
func rewrite(f *File, rows map[*Record][]string) string {
	var out []string
	next := 0
	for _, rec := range f.Records {
		got, ok := rows[rec]
		if !ok {
			continue
		}
		out = append(out, f.Lines[next:rec.SQLEnd]...)
		if len(got) > 0 || rec.HasResults {
			out = append(out, "----")
			out = append(out, got...)
		}
		next = rec.ResultEnd
	}
	out = append(out, f.Lines[next:]...)
	return strings.Join(out, "\n") + "\n"
}

func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	return s
}

// unexpand puts the ${NAME} placeholders back into rewritten rows, longest
// value first.
func unexpand(lines []string, vars map[string]string) []string {
	names := make([]string, 0, len(vars))
	for k, v := range vars {
		if v != "" {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool { return len(vars[names[i]]) > len(vars[names[j]]) })
	out := make([]string, len(lines))
	for i, l := range lines {
		for _, k := range names {
			l = strings.ReplaceAll(l, vars[k], "${"+k+"}")
		}
		out[i] = l
	}
	return out
}

// runRecord runs one record. For a query it returns the rows it got,
// formatted as they are written in files.
func runRecord(ctx context.Context, conn *pgx.Conn, rec *Record, opts Options) ([]string, error) {
	timeout := opts.StatementTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sql := expand(rec.SQL, opts.Vars)

	if rec.Kind == KindStatement && opts.Protocol == Simple {
		// Several statements in one string are allowed here.
		tag, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
		return nil, checkStatement(rec, tag, err)
	}

	var args []any
	if opts.Protocol == Simple {
		args = append(args, pgx.QueryExecModeSimpleProtocol)
	}
	// conn.Query uses the extended protocol in pgx's default mode (Exec
	// without arguments would fall back to the simple protocol).
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		if rec.Kind == KindStatement {
			return nil, checkStatement(rec, pgconn.CommandTag{}, err)
		}
		return nil, checkError(rec, err)
	}
	got, readErr := readRows(conn.TypeMap(), rows)
	rows.Close()
	if readErr == nil {
		readErr = rows.Err()
	}
	if rec.Kind == KindStatement {
		return nil, checkStatement(rec, rows.CommandTag(), readErr)
	}
	if rec.ExpectError || readErr != nil {
		return nil, checkError(rec, readErr)
	}
	return checkRows(rec, got, opts.Vars)
}

func checkStatement(rec *Record, tag pgconn.CommandTag, err error) error {
	if rec.ExpectError || err != nil {
		return checkError(rec, err)
	}
	if rec.ExpectCount >= 0 && tag.RowsAffected() != rec.ExpectCount {
		return fmt.Errorf("statement affected %d rows (%q), want %d\n%s", tag.RowsAffected(), tag.String(), rec.ExpectCount, rec.SQL)
	}
	return nil
}

// checkError compares an error (or its absence) with the record's expectation.
func checkError(rec *Record, err error) error {
	if !rec.ExpectError {
		if err == nil {
			return nil
		}
		return fmt.Errorf("unexpected error: %s\n%s", describe(err), rec.SQL)
	}
	if err == nil {
		return fmt.Errorf("expected error %s, got success\n%s", rec.SQLState, rec.SQL)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("expected error %s, got a non-server error: %v\n%s", rec.SQLState, err, rec.SQL)
	}
	if !slices.Contains(strings.Split(rec.SQLState, "|"), pgErr.Code) {
		return fmt.Errorf("expected error %s, got %s\n%s", rec.SQLState, describe(err), rec.SQL)
	}
	if rec.ErrorRE != nil && !rec.ErrorRE.MatchString(pgErr.Message) {
		return fmt.Errorf("error message %q does not match %q\n%s", pgErr.Message, rec.ErrorRE, rec.SQL)
	}
	return nil
}

func describe(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Sprintf("%s %s: %s", pgErr.Severity, pgErr.Code, pgErr.Message)
	}
	return err.Error()
}

// readRows reads every row as text values: columns the server sent in text
// format as they are, binary columns decoded by pgx and encoded back to
// PostgreSQL's text form. NULL is nil.
func readRows(m *pgtype.Map, rows pgx.Rows) ([][]*string, error) {
	var out [][]*string
	fds := rows.FieldDescriptions()
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]*string, len(raw))
		var values []any
		for i, b := range raw {
			if b == nil {
				continue
			}
			if fds[i].Format == pgtype.TextFormatCode {
				s := string(b)
				row[i] = &s
				continue
			}
			if values == nil {
				var err error
				if values, err = rows.Values(); err != nil {
					return nil, fmt.Errorf("decode row: %w", err)
				}
			}
			s, err := toText(m, fds[i].DataTypeOID, values[i])
			if err != nil {
				return nil, fmt.Errorf("column %q: %w", fds[i].Name, err)
			}
			row[i] = &s
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func toText(m *pgtype.Map, oid uint32, v any) (string, error) {
	buf, err := m.Encode(oid, pgtype.TextFormatCode, v, nil)
	if err != nil {
		return "", fmt.Errorf("encode %T as text: %w", v, err)
	}
	return string(buf), nil
}

// formatValue renders a value as it is written in a file.
func formatValue(v *string) string {
	switch {
	case v == nil:
		return "NULL"
	case *v == "":
		return "(empty)"
	}
	return *v
}

// normalize collapses whitespace runs so that aligned columns compare equal.
func normalize(line string) string { return strings.Join(strings.Fields(line), " ") }

func checkRows(rec *Record, rows [][]*string, vars map[string]string) ([]string, error) {
	var problems []string
	for ri, row := range rows {
		if len(row) != len(rec.Types) {
			return nil, fmt.Errorf("query returned %d columns, types %q say %d\n%s", len(row), rec.Types, len(rec.Types), rec.SQL)
		}
		for ci, v := range row {
			if msg := checkType(rec.Types[ci], v); msg != "" && len(problems) < 5 {
				problems = append(problems, fmt.Sprintf("row %d column %d: %s", ri+1, ci+1, msg))
			}
		}
	}

	var got []string
	switch rec.Sort {
	case ValueSort:
		for _, row := range rows {
			for _, v := range row {
				got = append(got, formatValue(v))
			}
		}
		sort.Strings(got)
	default:
		for _, row := range rows {
			vals := make([]string, len(row))
			for i, v := range row {
				vals[i] = formatValue(v)
			}
			got = append(got, strings.Join(vals, " "))
		}
		if rec.Sort == RowSort {
			sort.Strings(got)
		}
	}

	want := make([]string, len(rec.Expected))
	for i, l := range rec.Expected {
		want[i] = normalize(expand(l, vars))
	}
	gotNorm := make([]string, len(got))
	for i, l := range got {
		gotNorm[i] = normalize(l)
	}
	if rec.Sort != NoSort {
		sort.Strings(want)
		sort.Strings(gotNorm)
	}
	if !equal(want, gotNorm) {
		d := &rowsDifferError{fmt.Sprintf("rows differ (%s)\n%s\n%s", rec.Sort, rec.SQL, diff(want, gotNorm))}
		if len(problems) == 0 {
			return got, d
		}
		problems = append(problems, d.msg)
	}
	if len(problems) > 0 {
		return got, errors.New(strings.Join(problems, "\n"))
	}
	return got, nil
}

// rowsDifferError is a query whose rows differ from the expected ones, and
// nothing else: -rewrite fixes it.
type rowsDifferError struct{ msg string }

func (e *rowsDifferError) Error() string { return e.msg }

func checkType(letter byte, v *string) string {
	if v == nil {
		return ""
	}
	s := *v
	switch letter {
	case 'I':
		if !isInteger(s) {
			return fmt.Sprintf("typed I but %q is not an integer", s)
		}
	case 'R':
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return fmt.Sprintf("typed R but %q is not a number", s)
		}
	case 'B':
		switch s {
		case "t", "f", "true", "false":
		default:
			return fmt.Sprintf("typed B but %q is not a boolean", s)
		}
	}
	return ""
}

// isInteger accepts integers of any size (hugeint, numeric(38,0)).
func isInteger(s string) bool {
	t := strings.TrimPrefix(s, "-")
	if t == "" {
		return false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// diff shows expected and actual rows side by side, marking differences.
func diff(want, got []string) string {
	var b strings.Builder
	b.WriteString("expected:\n")
	for i, l := range want {
		mark := "  "
		if i >= len(got) || got[i] != l {
			mark = "- "
		}
		b.WriteString(mark + l + "\n")
	}
	b.WriteString("got:\n")
	for i, l := range got {
		mark := "  "
		if i >= len(want) || want[i] != l {
			mark = "+ "
		}
		b.WriteString(mark + l + "\n")
	}
	return b.String()
}
