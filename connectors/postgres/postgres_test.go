package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/connectors/conformance"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/testing/testpg"
)

// The tests run against a real PostgreSQL cluster TestMain starts; they
// skip only where testpg says PostgreSQL cannot run here.
var (
	pgURL     string
	pgMissing string
	pgDir     string // the cluster's directory (data/ is PGDATA)
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if pgMissing = testpg.Missing(); pgMissing != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "sluice-postgres-connector-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // as root the cluster runs as user postgres
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv, err := testpg.Start(filepath.Join(dir, "pg"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting PostgreSQL:", err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	pgURL, pgDir = srv.URL, srv.Dir
	return m.Run()
}

// server returns the cluster's URL, or skips the test.
func server(tb testing.TB) string {
	tb.Helper()
	if pgURL == "" {
		tb.Skip("PostgreSQL cannot run here: " + pgMissing)
	}
	return pgURL
}

func exec(tb testing.TB, sql ...string) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range sql {
		if _, err := conn.Exec(ctx, q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}

var tableSeq atomic.Int64

func newName(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, tableSeq.Add(1))
}

func config(opts map[string]string) connectors.Config {
	return connectors.Config{
		Options:   opts,
		Allocator: memory.NewGoAllocator(),
		Timeout:   5 * time.Second,
	}
}

func open(t *testing.T, opts map[string]string) connectors.Source {
	t.Helper()
	src, err := Connector{}.Open(context.Background(), config(opts))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// closedPort is a 127.0.0.1 port nobody listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

var (
	largeOnce sync.Once
	largeName string
)

func TestConformance(t *testing.T) {
	url := server(t)
	conformance.Run(t, conformance.Harness{
		Connector: Connector{},
		Fresh: func(t *testing.T) (connectors.Config, int) {
			name := newName("fresh")
			exec(t, "CREATE TABLE "+name+" (id bigint PRIMARY KEY, name text, amount numeric(12,3), at timestamptz)",
				"INSERT INTO "+name+" SELECT i, 'row ' || i, i * 1.5, '2024-01-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, 100) i")
			return config(map[string]string{"dsn": url, "table": "public." + name, "cursor_column": "id"}), 100
		},
		Append: func(t *testing.T, cfg connectors.Config, n int) {
			table := cfg.Options["table"]
			exec(t, fmt.Sprintf("INSERT INTO %[1]s SELECT m + i, 'more', i, now() FROM (SELECT max(id) m FROM %[1]s) x, generate_series(1, %d) i", table, n))
		},
		Large: func(t *testing.T) connectors.Config {
			largeOnce.Do(func() {
				largeName = newName("large")
				exec(t, "CREATE TABLE "+largeName+" (id bigint PRIMARY KEY, payload text)",
					"INSERT INTO "+largeName+" SELECT i, repeat('x', 50) FROM generate_series(1, 200000) i")
			})
			return config(map[string]string{"dsn": url, "table": largeName, "cursor_column": "id", "batch_size": "10000"})
		},
		BadOptions: []conformance.BadOption{
			{Options: map[string]string{"dsn": ""}, Names: "dsn"},
			{Options: map[string]string{"query": "SELECT 1 AS id"}, Names: "query"},
			{Options: map[string]string{"table": ""}, Names: "table"},
			{Options: map[string]string{"colour": "blue"}, Names: "colour"},
			{Options: map[string]string{"cursor_column": "nope"}, Names: "cursor_column"},
			{Options: map[string]string{"cursor_column": "ID"}, Names: "cursor_column"},
			{Options: map[string]string{"parallel": "0"}, Names: "parallel"},
			{Options: map[string]string{"parallel": "many"}, Names: "parallel"},
			{Options: map[string]string{"batch_size": "-5"}, Names: "batch_size"},
			{Options: map[string]string{"table": "a.b.c"}, Names: "table"},
			{Options: map[string]string{"table": "orders; DROP TABLE x"}, Names: "table"},
			{Options: map[string]string{"dsn": "postgres://u:p@host:notaport/db"}, Names: "dsn"},
		},
		Unreachable: func(t *testing.T) connectors.Config {
			return config(map[string]string{
				"dsn":   fmt.Sprintf("postgres://postgres:s3cret@127.0.0.1:%d/postgres?sslmode=disable", closedPort(t)),
				"table": "t",
			})
		},
	})
}

// readAll reads (from, to] through every split, one after another, and
// returns the batches.
func readAll(t *testing.T, src connectors.Source, from, to connectors.Position) []arrow.RecordBatch {
	t.Helper()
	ctx := context.Background()
	splits, err := src.Plan(ctx, from, to)
	if err != nil {
		t.Fatalf("Plan(%q, %q): %v", from, to, err)
	}
	var out []arrow.RecordBatch
	for _, sp := range splits {
		r, err := sp.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for {
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				t.Fatal(err)
			}
			out = append(out, b)
		}
		r.Close()
	}
	t.Cleanup(func() {
		for _, b := range out {
			b.Release()
		}
	})
	return out
}

// readErr reads everything and returns the error that ended the read.
func readErr(src connectors.Source) error { return readRangeErr(src, "", "") }

// readRangeErr reads (from, to] and returns the error that ended the read.
func readRangeErr(src connectors.Source, from, to connectors.Position) error {
	ctx := context.Background()
	splits, err := src.Plan(ctx, from, to)
	if err != nil {
		return err
	}
	for _, sp := range splits {
		r, err := sp.Open(ctx)
		if err != nil {
			return err
		}
		for {
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return err
			}
			b.Release()
		}
		r.Close()
	}
	return nil
}

func rows(batches []arrow.RecordBatch) int {
	n := 0
	for _, b := range batches {
		n += int(b.NumRows())
	}
	return n
}

// int64s returns column col of every batch.
func int64s(t *testing.T, batches []arrow.RecordBatch, col int) []int64 {
	t.Helper()
	var out []int64
	for _, b := range batches {
		a := b.Column(col).(*array.Int64)
		for i := range a.Len() {
			out = append(out, a.Value(i))
		}
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want SQLSTATE %s", code)
	}
	if got := pgerr.Code(err); got != code {
		t.Fatalf("SQLSTATE %s (%v), want %s", got, err, code)
	}
}

// TestTypes reads one row of every mapped type and one of NULLs, and
// checks each Arrow type and value exactly.
func TestTypes(t *testing.T) {
	url := server(t)
	name := newName("types")
	posint, mood := newName("posint"), newName("mood")
	exec(t, `CREATE DOMAIN `+posint+` AS integer CHECK (VALUE > 0)`,
		`CREATE TYPE `+mood+` AS ENUM ('sad', 'happy')`,
		`CREATE TABLE `+name+` (
			id int, n numeric(12,3), ts timestamptz, j json, jb jsonb, ia int[], ta text[], u uuid,
			b bytea, d date, t timestamp, tm time, f4 real, f8 double precision, i2 smallint, i8 bigint,
			bo boolean, bc char(3), vc varchar(10), nn numeric, iv interval, big numeric(38,10),
			na numeric(5,2)[], fa float8[], ea int[], nm name, dom `+posint+`, en `+mood+`, ua uuid[], jba jsonb[],
			ch "char", nna numeric[])`,
		`INSERT INTO `+name+` VALUES (1, -123456789.012, '2024-02-29 13:14:15.123456+02',
			'{"b": 1,  "a": [1, 2]}', '{"b": 1,  "a": [1, 2]}', '{1,NULL,3}', ARRAY['x', 'y''z', NULL, ''],
			'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\x00ff10', '1999-12-31', '1970-01-01 00:00:00.000001',
			'23:59:59.999999', 1.5, -2.25e300, -32768, 9223372036854775807, true, 'ab', 'héllo',
			1.000000000000000000000000000000000000000001, '1 day 02:03:04',
			1234567890123456789012345678.0123456789, '{1.5,-0.01,NULL}', '{1.5,NULL}', '{}', 'pg', 7, 'happy',
			'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', ARRAY['{"k": 1}'::jsonb], 'z', '{0.1,NULL}')`,
		`INSERT INTO `+name+` (id) VALUES (2)`)
	src := open(t, map[string]string{"dsn": url, "query": "SELECT * FROM " + name + " ORDER BY id;"})

	str := arrow.BinaryTypes.String
	tsUTC := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	jsonField := arrow.Field{Name: "item", Type: str, Nullable: true, Metadata: jsonMeta}
	want := []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32},
		{Name: "n", Type: &arrow.Decimal128Type{Precision: 12, Scale: 3}},
		{Name: "ts", Type: tsUTC},
		{Name: "j", Type: str, Metadata: jsonMeta},
		{Name: "jb", Type: str, Metadata: jsonMeta},
		{Name: "ia", Type: arrow.ListOfField(arrow.Field{Name: "item", Type: arrow.PrimitiveTypes.Int32, Nullable: true})},
		{Name: "ta", Type: arrow.ListOfField(arrow.Field{Name: "item", Type: str, Nullable: true})},
		{Name: "u", Type: str, Metadata: uuidMeta},
		{Name: "b", Type: arrow.BinaryTypes.Binary},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
		{Name: "tm", Type: arrow.FixedWidthTypes.Time64us},
		{Name: "f4", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f8", Type: arrow.PrimitiveTypes.Float64},
		{Name: "i2", Type: arrow.PrimitiveTypes.Int16},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int64},
		{Name: "bo", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "bc", Type: str},
		{Name: "vc", Type: str},
		{Name: "nn", Type: str},
		{Name: "iv", Type: str},
		{Name: "big", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}},
		{Name: "na", Type: arrow.ListOfField(arrow.Field{Name: "item", Type: &arrow.Decimal128Type{Precision: 5, Scale: 2}, Nullable: true})},
		{Name: "fa", Type: arrow.ListOfField(arrow.Field{Name: "item", Type: arrow.PrimitiveTypes.Float64, Nullable: true})},
		{Name: "ea", Type: arrow.ListOfField(arrow.Field{Name: "item", Type: arrow.PrimitiveTypes.Int32, Nullable: true})},
		{Name: "nm", Type: str},
		{Name: "dom", Type: arrow.PrimitiveTypes.Int32},
		{Name: "en", Type: str},
		{Name: "ua", Type: arrow.ListOfField(arrow.Field{Name: "item", Type: str, Nullable: true, Metadata: uuidMeta})},
		{Name: "jba", Type: arrow.ListOfField(jsonField)},
		{Name: "ch", Type: str},
		{Name: "nna", Type: arrow.ListOfField(arrow.Field{Name: "item", Type: str, Nullable: true})},
	}
	for i := range want {
		want[i].Nullable = true
	}
	if got := src.Schema(); !got.Equal(arrow.NewSchema(want, nil)) {
		t.Fatalf("schema:\n%v\nwant\n%v", got, arrow.NewSchema(want, nil))
	}

	batches := readAll(t, src, "", "")
	if len(batches) != 1 || batches[0].NumRows() != 2 {
		t.Fatalf("read %d batches, %d rows; want one batch of 2", len(batches), rows(batches))
	}
	b := batches[0]
	col := func(name string) arrow.Array {
		idx := b.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %s", name)
		}
		return b.Column(idx[0])
	}
	check := func(name string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	listOf := func(name string) (arrow.Array, int, int) { // values, start, end of row 0
		l := col(name).(*array.List)
		s, e := l.ValueOffsets(0)
		return l.ListValues(), int(s), int(e)
	}
	strList := func(name string) []string {
		v, s, e := listOf(name)
		var out []string
		for i := s; i < e; i++ {
			if v.IsNull(i) {
				out = append(out, "NULL")
			} else {
				out = append(out, v.(*array.String).Value(i))
			}
		}
		return out
	}

	check("id", col("id").(*array.Int32).Value(0), 1)
	check("n", col("n").(*array.Decimal128).Value(0), decimal128.FromI64(-123456789012))
	check("ts", col("ts").(*array.Timestamp).Value(0), time.Date(2024, 2, 29, 11, 14, 15, 123456000, time.UTC).UnixMicro())
	check("j", col("j").(*array.String).Value(0), `{"b": 1,  "a": [1, 2]}`)
	check("jb", col("jb").(*array.String).Value(0), `{"a": [1, 2], "b": 1}`)
	v, s, e := listOf("ia")
	ia := v.(*array.Int32)
	if e-s != 3 || ia.Value(s) != 1 || !ia.IsNull(s+1) || ia.Value(s+2) != 3 {
		t.Errorf("ia = %v [%d:%d], want [1 NULL 3]", ia, s, e)
	}
	check("ta", strList("ta"), []string{"x", "y'z", "NULL", ""})
	check("u", col("u").(*array.String).Value(0), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
	check("b", col("b").(*array.Binary).Value(0), []byte{0, 0xff, 0x10})
	check("d", col("d").(*array.Date32).Value(0), 10956)
	check("t", col("t").(*array.Timestamp).Value(0), 1)
	check("tm", col("tm").(*array.Time64).Value(0), int64(86399999999))
	check("f4", col("f4").(*array.Float32).Value(0), 1.5)
	check("f8", col("f8").(*array.Float64).Value(0), -2.25e300)
	check("i2", col("i2").(*array.Int16).Value(0), -32768)
	check("i8", col("i8").(*array.Int64).Value(0), int64(9223372036854775807))
	check("bo", col("bo").(*array.Boolean).Value(0), true)
	check("bc", col("bc").(*array.String).Value(0), "ab ")
	check("vc", col("vc").(*array.String).Value(0), "héllo")
	check("nn", col("nn").(*array.String).Value(0), "1.000000000000000000000000000000000000000001")
	check("iv", col("iv").(*array.String).Value(0), "1 day 02:03:04")
	big, err := decimal128.FromString("1234567890123456789012345678.0123456789", 38, 10)
	if err != nil {
		t.Fatal(err)
	}
	check("big", col("big").(*array.Decimal128).Value(0), big)
	v, s, e = listOf("na")
	na := v.(*array.Decimal128)
	if e-s != 3 || na.Value(s) != decimal128.FromI64(150) || na.Value(s+1) != decimal128.FromI64(-1) || !na.IsNull(s+2) {
		t.Errorf("na = %v, want [1.50 -0.01 NULL]", na)
	}
	v, s, e = listOf("fa")
	if fa := v.(*array.Float64); e-s != 2 || fa.Value(s) != 1.5 || !fa.IsNull(s+1) {
		t.Errorf("fa = %v, want [1.5 NULL]", fa)
	}
	if _, s, e := listOf("ea"); e != s || col("ea").IsNull(0) {
		t.Errorf("ea is not an empty list")
	}
	check("nm", col("nm").(*array.String).Value(0), "pg")
	check("dom", col("dom").(*array.Int32).Value(0), 7)
	check("en", col("en").(*array.String).Value(0), "happy")
	check("ua", strList("ua"), []string{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"})
	check("jba", strList("jba"), []string{`{"k": 1}`})
	check("ch", col("ch").(*array.String).Value(0), "z")
	check("nna", strList("nna"), []string{"0.1", "NULL"})

	for i, f := range b.Schema().Fields() {
		if f.Name != "id" && !b.Column(i).IsNull(1) {
			t.Errorf("%s is not NULL in the row of NULLs", f.Name)
		}
	}
}

// TestValueErrors: values Arrow cannot hold are errors with a SQLSTATE,
// never wrong values.
func TestValueErrors(t *testing.T) {
	url := server(t)
	for _, c := range []struct {
		query, code string
	}{
		{"SELECT 'NaN'::numeric(10,2) AS n", "22003"},
		{"SELECT 'infinity'::timestamptz AS t", "22008"},
		{"SELECT '-infinity'::date AS d", "22008"},
		{"SELECT '{{1,2},{3,4}}'::int[] AS a", "0A000"},
	} {
		src := open(t, map[string]string{"dsn": url, "query": c.query})
		err := readErr(src)
		if err == nil {
			t.Errorf("%s: no error", c.query)
			continue
		}
		if got := pgerr.Code(err); got != c.code {
			t.Errorf("%s: SQLSTATE %s (%v), want %s", c.query, got, err, c.code)
		}
	}
}

func TestNumericDecode(t *testing.T) {
	url := server(t)
	values := []string{"0", "1", "-1", "0.001", "-0.001", "10000", "12345678.9", "99999999999999999999999999999999.999999",
		"-99999999999999999999999999999999.999999", "0.5", "100000000", "1e20", "123.4"}
	var sel []string
	for i, v := range values {
		sel = append(sel, fmt.Sprintf("'%s'::numeric(38,6) AS v%d", v, i))
	}
	src := open(t, map[string]string{"dsn": url, "query": "SELECT " + strings.Join(sel, ", ")})
	b := readAll(t, src, "", "")[0]
	for i, v := range values {
		got := b.Column(i).(*array.Decimal128).Value(0)
		want, err := decimal128.FromString(v, 38, 6)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s read as %s", v, got.ToString(6))
		}
	}
}

func TestCursorPositions(t *testing.T) {
	url := server(t)
	ctx := context.Background()

	t.Run("timestamptz", func(t *testing.T) {
		name := newName("tstz")
		exec(t, "CREATE TABLE "+name+" (at timestamptz, v int)",
			"INSERT INTO "+name+" VALUES ('2024-01-01 00:00:00.000001+05', 1), ('2024-01-01 00:00:00.000002+05', 2)")
		src := open(t, map[string]string{"dsn": url + "&timezone=America/New_York", "table": name, "cursor_column": "at"})
		pos, err := src.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"cursor":"2023-12-31 19:00:00.000002+00"}`; string(pos) != want {
			t.Fatalf("Latest = %s, want %s (UTC, whatever the dsn's time zone)", pos, want)
		}
		exec(t, "INSERT INTO "+name+" VALUES ('2024-01-01 00:00:00.000003+05', 3)")
		got := int32s(t, readAll(t, src, pos, ""), 1)
		if fmt.Sprint(got) != "[3]" {
			t.Fatalf("after %s: %v, want [3]", pos, got)
		}
	})

	t.Run("text with quotes and backslashes", func(t *testing.T) {
		name := newName("txt")
		exec(t, "CREATE TABLE "+name+` (k text, v int)`,
			"INSERT INTO "+name+` VALUES ('a', 1), (E'b\\''x', 2), ('c', 3)`)
		src := open(t, map[string]string{"dsn": url, "table": name, "cursor_column": "k"})
		pos := position{value: `b\'x`}.encode()
		got := int32s(t, readAll(t, src, "", pos), 1)
		if fmt.Sprint(got) != "[1 2]" {
			t.Fatalf("up to %s: %v, want [1 2]", pos, got)
		}
		got = int32s(t, readAll(t, src, pos, ""), 1)
		if fmt.Sprint(got) != "[3]" {
			t.Fatalf("after %s: %v, want [3]", pos, got)
		}
	})

	t.Run("NULL cursors are read from the start only", func(t *testing.T) {
		name := newName("nulls")
		exec(t, "CREATE TABLE "+name+" (id int, v int)", "INSERT INTO "+name+" VALUES (NULL, 1)")
		src := open(t, map[string]string{"dsn": url, "table": name, "cursor_column": "id"})
		pos, err := src.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(pos) != `{"cursor":null}` {
			t.Fatalf("Latest of only NULLs = %s", pos)
		}
		if n := rows(readAll(t, src, "", pos)); n != 1 {
			t.Fatalf("read up to %s: %d rows, want the NULL one", pos, n)
		}
		exec(t, "INSERT INTO "+name+" VALUES (5, 2), (NULL, 3)")
		next, err := src.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := int32s(t, readAll(t, src, pos, next), 1); fmt.Sprint(got) != "[2]" {
			t.Fatalf("(%s, %s]: %v, want [2]", pos, next, got)
		}
		if n := rows(readAll(t, src, "", "")); n != 3 {
			t.Fatalf("full read: %d rows, want 3", n)
		}
	})

	t.Run("query source", func(t *testing.T) {
		name := newName("q")
		exec(t, "CREATE TABLE "+name+" (id bigint, v int)", "INSERT INTO "+name+" SELECT i, i FROM generate_series(1, 10) i")
		src := open(t, map[string]string{"dsn": url, "query": "SELECT id, v * 2 AS w FROM " + name + " WHERE v % 2 = 0 -- even ones", "cursor_column": "id"})
		got := int64s(t, readAll(t, src, position{value: "4"}.encode(), position{value: "8"}.encode()), 0)
		if fmt.Sprint(got) != "[6 8]" {
			t.Fatalf("(4, 8]: %v, want [6 8]", got)
		}
	})

	t.Run("without cursor_column", func(t *testing.T) {
		name := newName("nocursor")
		exec(t, "CREATE TABLE "+name+" (v int)", "INSERT INTO "+name+" VALUES (1), (2)")
		src := open(t, map[string]string{"dsn": url, "table": name})
		_, err := src.Latest(ctx)
		wantCode(t, err, "0A000")
		_, err = src.Plan(ctx, position{value: "1"}.encode(), "")
		wantCode(t, err, "0A000")
		if n := rows(readAll(t, src, "", "")); n != 2 {
			t.Fatalf("full read: %d rows, want 2", n)
		}
	})

	t.Run("bad positions", func(t *testing.T) {
		name := newName("badpos")
		exec(t, "CREATE TABLE "+name+" (id int)")
		src := open(t, map[string]string{"dsn": url, "table": name, "cursor_column": "id"})
		for _, p := range []connectors.Position{"42", `{"offset": 1}`, `{"cursor": 1}`, `{"cursor": "a\u0000b"}`} {
			_, err := src.Plan(ctx, p, "")
			wantCode(t, err, "22023")
		}
		err := readRangeErr(src, "", position{value: "not a number"}.encode())
		wantCode(t, err, "22P02") // the server's own code
	})
}

func int32s(t *testing.T, batches []arrow.RecordBatch, col int) []int32 {
	t.Helper()
	var out []int32
	for _, b := range batches {
		a := b.Column(col).(*array.Int32)
		for i := range a.Len() {
			out = append(out, a.Value(i))
		}
	}
	return out
}

func TestOpenErrors(t *testing.T) {
	url := server(t)
	ctx := context.Background()
	exec(t, `CREATE SCHEMA IF NOT EXISTS "Odd Schema"`, `CREATE TABLE "Odd Schema"."Mixed ""Case""" (id int)`,
		`INSERT INTO "Odd Schema"."Mixed ""Case""" VALUES (1)`)
	src := open(t, map[string]string{"dsn": url, "table": `"Odd Schema"."Mixed ""Case"""`})
	if n := rows(readAll(t, src, "", "")); n != 1 {
		t.Fatalf("quoted table: %d rows", n)
	}
	for _, c := range []struct {
		opts map[string]string
		code string
	}{
		{map[string]string{"table": "no_such_table"}, "42P01"},
		{map[string]string{"query": "SELEKT 1"}, "42601"},
		{map[string]string{"query": "SELECT 1 AS a, 2 AS a"}, "42701"},
		{map[string]string{"query": "SELECT 1 AS a", "cursor_column": "a", "parallel": "2"}, ""},
		{map[string]string{"query": "SELECT 1.5::float8 AS f", "cursor_column": "f"}, "22023"},
		{map[string]string{"query": ";;"}, "22023"},
		{map[string]string{"dsn": url + "&dbname=nowhere", "query": "SELECT 1"}, "3D000"},
	} {
		opts := map[string]string{"dsn": url}
		for k, v := range c.opts {
			opts[k] = v
		}
		src, err := Connector{}.Open(ctx, config(opts))
		if c.code == "" {
			if err != nil {
				t.Errorf("%v: %v", c.opts, err)
			} else {
				src.Close()
			}
			continue
		}
		if err == nil {
			src.Close()
			t.Errorf("%v: Open succeeded, want %s", c.opts, c.code)
			continue
		}
		if got := pgerr.Code(err); got != c.code {
			t.Errorf("%v: SQLSTATE %s (%v), want %s", c.opts, got, err, c.code)
		}
	}
	cfg := config(map[string]string{"dsn": url, "table": "x"})
	cfg.Location = "postgres://u:hunter2@h/db"
	_, err := Connector{}.Open(ctx, cfg)
	wantCode(t, err, "22023")
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error shows the location: %v", err)
	}
}

// TestStoredSchema: a source reopened with the schema it was created with
// reads as before, and one whose table changed refuses to read.
func TestStoredSchema(t *testing.T) {
	url := server(t)
	ctx := context.Background()
	name := newName("stored")
	exec(t, "CREATE TABLE "+name+" (id int, v text)", "INSERT INTO "+name+" VALUES (1, 'a')")
	opts := map[string]string{"dsn": url, "table": name}
	first := open(t, opts)
	text, err := connectors.EncodeSchema(first.Schema())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := connectors.DecodeSchema(text)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(opts)
	cfg.Schema = stored
	again, err := Connector{}.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if n := rows(readAll(t, again, "", "")); n != 1 {
		t.Fatalf("%d rows", n)
	}

	// The type changes after Open: the read refuses rather than misread.
	exec(t, "ALTER TABLE "+name+" ALTER COLUMN id TYPE bigint")
	wantCode(t, readErr(first), "42804")
	// And a source opened with the old schema refuses at Open.
	_, err = Connector{}.Open(ctx, cfg)
	wantCode(t, err, "42804")
}

// TestParallel reads a table of more than a million rows in ranges of its
// primary key, and of its cursor, and checks every row comes once.
func TestParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 1.2M rows")
	}
	url := server(t)
	ctx := context.Background()
	name := newName("par")
	const n = 1_200_000
	exec(t, "CREATE TABLE "+name+" (id bigint PRIMARY KEY, seq int NOT NULL)",
		fmt.Sprintf("INSERT INTO %s SELECT i, i FROM generate_series(1, %d) i", name, n),
		"CREATE INDEX ON "+name+" (seq)", "ANALYZE "+name)

	check := func(t *testing.T, src connectors.Source, from, to connectors.Position, wantSplits int, lo, hi int64) {
		t.Helper()
		splits, err := src.Plan(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(splits) != wantSplits {
			t.Fatalf("%d splits, want %d", len(splits), wantSplits)
		}
		var (
			mu   sync.Mutex
			seen = make([]bool, hi-lo+1)
			dups int
			wg   sync.WaitGroup
			errs []error
		)
		for _, sp := range splits {
			wg.Go(func() {
				r, err := sp.Open(ctx)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				defer r.Close()
				for {
					b, err := r.Next()
					if err != nil {
						if !errors.Is(err, io.EOF) {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
						return
					}
					ids := b.Column(0).(*array.Int64)
					mu.Lock()
					for i := range ids.Len() {
						id := ids.Value(i)
						if id < lo || id > hi {
							errs = append(errs, fmt.Errorf("id %d outside [%d, %d]", id, lo, hi))
						} else if seen[id-lo] {
							dups++
						} else {
							seen[id-lo] = true
						}
					}
					mu.Unlock()
					b.Release()
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, s := range seen {
			if !s {
				missing++
			}
		}
		if dups != 0 || missing != 0 {
			t.Fatalf("%d rows read twice, %d missing", dups, missing)
		}
	}

	t.Run("by primary key", func(t *testing.T) {
		src := open(t, map[string]string{"dsn": url, "table": name, "parallel": "4"})
		check(t, src, "", "", 4, 1, n)
	})
	t.Run("by cursor", func(t *testing.T) {
		src := open(t, map[string]string{"dsn": url, "table": name, "cursor_column": "seq", "parallel": "3"})
		check(t, src, "", "", 3, 1, n)
		// A small incremental read is one split.
		check(t, src, position{value: "1000"}.encode(), position{value: "2000"}.encode(), 1, 1001, 2000)
		// Most of the table again: split.
		check(t, src, position{value: "100"}.encode(), "", 3, 101, n)
	})
	t.Run("parallel 1", func(t *testing.T) {
		src := open(t, map[string]string{"dsn": url, "table": name, "parallel": "1"})
		check(t, src, "", "", 1, 1, n)
	})
}

// TestPasswordNeverShown: whatever fails, no error message holds the
// dsn's password.
func TestPasswordNeverShown(t *testing.T) {
	url := server(t)
	ctx := context.Background()
	const secret = "Hunter2-Sup3rS3cret"
	closed := closedPort(t)
	hostPort := strings.Split(strings.Split(url, "@")[1], "/")[0]
	dsns := []string{
		fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", secret, closed),
		fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=%s sslmode=disable", closed, secret),
		fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password='%s with spaces' sslmode=disable", closed, secret),
		fmt.Sprintf("postgres://postgres:%s@127.0.0.1:notaport/postgres", secret),
		fmt.Sprintf("postgres://postgres:%s@[::1/postgres", secret),
		fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?password=%s&sslmode=disable", closed, secret),
		fmt.Sprintf("host=127.0.0.1 password=%s port=x", secret),
		fmt.Sprintf("postgres://postgres:%s@%s/postgres?sslmode=disable", secret, hostPort),                       // reaches the server
		fmt.Sprintf("postgres://postgres:%s@%s/postgres?sslmode=require", secret, hostPort),                       // no TLS there
		fmt.Sprintf("postgres://postgres:%s@%s/postgres?sslmode=verify-full&sslrootcert=/nope", secret, hostPort), // no such file
	}
	for _, dsn := range dsns {
		for _, opts := range []map[string]string{
			{"dsn": dsn, "table": "no_such_table"},
			{"dsn": dsn, "query": "SELECT '" + secret + "'::int"}, // the server's message holds it
		} {
			src, err := Connector{}.Open(ctx, config(opts))
			if err == nil {
				err = readErr(src)
				src.Close()
			}
			if err == nil {
				t.Errorf("%q: no error", dsn)
				continue
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Sup3r") {
				t.Errorf("the error shows the password: %v", err)
			}
			pe := pgerr.As(err)
			if strings.Contains(pe.Detail+pe.Hint, secret) {
				t.Errorf("the error's detail shows the password: %v", pe)
			}
			if pe.Code == "XX000" {
				t.Errorf("%v: no SQLSTATE", err)
			}
		}
	}
}

// BenchmarkSnapshot compares a full read of a 1M-row table through the
// connector (one split, batches built and released) with a plain
// pgconn CopyTo of the same binary COPY into io.Discard on a warm
// connection, and reports the wall-time ratio and each side's CPU. The
// connector's time includes its connect and describe.
func BenchmarkSnapshot(b *testing.B) {
	url := server(b)
	ctx := context.Background()
	const name = "bench_snapshot"
	exec(b, "DROP TABLE IF EXISTS "+name,
		"CREATE TABLE "+name+" (id bigint PRIMARY KEY, qty int, price float8, amount numeric(12,2), name text, at timestamptz)",
		"INSERT INTO "+name+" SELECT i, i % 1000, i * 0.25, (i % 100000) / 100.0, 'customer#' || i, '2024-01-01'::timestamptz + i * interval '1 second' FROM generate_series(1, 1000000) i",
		"VACUUM (FREEZE, ANALYZE) "+name)
	src, err := Connector{}.Open(ctx, config(map[string]string{"dsn": url, "table": name, "parallel": "1"}))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	sp := src.(*source)
	copySQL := "COPY (" + (&split{s: sp}).selectSQL() + ") TO STDOUT (FORMAT binary)"
	raw, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close(ctx)

	var conn, plain, connCPU, plainCPU time.Duration
	rowsRead := 0
	for b.Loop() {
		cpu0 := processCPU()
		start := time.Now()
		splits, err := src.Plan(ctx, "", "")
		if err != nil {
			b.Fatal(err)
		}
		r, err := splits[0].Open(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rowsRead = 0
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rowsRead += int(rec.NumRows())
			rec.Release()
		}
		r.Close()
		conn += time.Since(start)
		connCPU += processCPU() - cpu0

		cpu0 = processCPU()
		start = time.Now()
		if _, err := raw.PgConn().CopyTo(ctx, io.Discard, copySQL); err != nil {
			b.Fatal(err)
		}
		plain += time.Since(start)
		plainCPU += processCPU() - cpu0
	}
	if rowsRead != 1_000_000 {
		b.Fatalf("read %d rows", rowsRead)
	}
	b.ReportMetric(float64(conn.Milliseconds())/float64(b.N), "connector-ms/op")
	b.ReportMetric(float64(plain.Milliseconds())/float64(b.N), "copyto-ms/op")
	b.ReportMetric(float64(conn)/float64(plain), "ratio")
	// This process's CPU (the server's is the same for both): what the
	// decoding costs, whatever else the machine runs.
	b.ReportMetric(float64(connCPU.Milliseconds())/float64(b.N), "connector-cpu-ms/op")
	b.ReportMetric(float64(plainCPU.Milliseconds())/float64(b.N), "copyto-cpu-ms/op")
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestParseTableName(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // parts joined by |, or "error"
	}{
		{"orders", "orders"},
		{"Sales.Orders", "sales|orders"},
		{`"Sales"."Or.ders"`, "Sales|Or.ders"},
		{`s."a""b"`, `s|a"b`},
		{"_x$1", "_x$1"},
		{"ünï", "ünï"},
		{"", "error"},
		{"a.", "error"},
		{".a", "error"},
		{"a.b.c", "error"},
		{"1abc", "error"},
		{"a b", "error"},
		{`"unterminated`, "error"},
		{`""`, "error"},
		{`"a"b`, "error"},
		{"t;drop", "error"},
	} {
		parts, err := parseTableName(c.in)
		got := strings.Join(parts, "|")
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("parseTableName(%q) = %q (%v), want %q", c.in, got, err, c.want)
		}
	}
}

// TestMetaReconnect: Latest works after the server dropped the idle
// metadata connection.
func TestMetaReconnect(t *testing.T) {
	url := server(t)
	ctx := context.Background()
	name := newName("reconnect")
	exec(t, "CREATE TABLE "+name+" (id int)", "INSERT INTO "+name+" VALUES (1)")
	app := newName("meta")
	src := open(t, map[string]string{"dsn": url + "&application_name=" + app, "table": name, "cursor_column": "id"})
	exec(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '"+app+"'")
	pos, err := src.Latest(ctx)
	if err != nil {
		t.Fatalf("Latest after the connection was dropped: %v", err)
	}
	if string(pos) != `{"cursor":"1"}` {
		t.Fatalf("Latest = %s", pos)
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw%21x@h:5432/db?sslmode=require":    "postgres://u:xxxxx@h:5432/db?sslmode=require",
		"postgresql://u@h/db?password=s3cret&sslmode=none": "postgresql://u@h/db?password=xxxxx&sslmode=none",
		"host=h user=u password=s3cret dbname=d":           "host=h user=u password=xxxxx dbname=d",
		"host=h password='a b c' dbname=d":                 "host=h password='xxxxx' dbname=d",
		"host=h dbname=d":                                  "host=h dbname=d",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
