package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/connectors/conformance"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// cluster is an in-process Kafka (kfake) on 127.0.0.1 with a producer.
type cluster struct {
	addr string
	fake *kfake.Cluster
	prod *kgo.Client
	n    atomic.Int64 // topic names
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	fake, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	c := &cluster{addr: fake.ListenAddrs()[0], fake: fake}
	c.prod, err = kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.prod.Close)
	return c
}

// topic creates a new topic with n partitions and returns its name.
func (c *cluster) topic(t testing.TB, partitions int32) string {
	t.Helper()
	name := fmt.Sprintf("t%d", c.n.Add(1))
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), c.prod)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("creating topic %s: error code %d", name, code)
	}
	return name
}

// produce sends values to topic, round robin over partitions (or all to
// partition p when given), keys "k<i>".
func (c *cluster) produce(t testing.TB, topic string, partitions int32, values ...string) {
	t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i) % partitions, Key: fmt.Appendf(nil, "k%d", i), Value: []byte(v)}
	}
	c.produceRecords(t, recs)
}

func (c *cluster) produceRecords(t testing.TB, recs []*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for len(recs) > 0 {
		n := min(len(recs), 50000)
		if err := c.prod.ProduceSync(ctx, recs[:n]...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		recs = recs[n:]
	}
}

func (c *cluster) config(topic string, opts ...string) connectors.Config {
	o := map[string]string{"brokers": c.addr, "topic": topic}
	for i := 0; i+1 < len(opts); i += 2 {
		o[opts[i]] = opts[i+1]
	}
	return connectors.Config{
		Options:   o,
		Allocator: memory.NewGoAllocator(),
		Logger:    slog.New(slog.DiscardHandler),
		Timeout:   5 * time.Second,
	}
}

func jsonRows(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"id":%d,"name":"n%d","score":%d.5,"ok":%t}`, from+i, from+i, i, i%2 == 0)
	}
	return out
}

func TestConformance(t *testing.T) {
	c := newCluster(t)
	fresh := func(t *testing.T) (connectors.Config, int) {
		topic := c.topic(t, 3)
		c.produce(t, topic, 3, jsonRows(0, 30)...)
		return c.config(topic, "format", "json"), 30
	}
	conformance.Run(t, conformance.Harness{
		Connector: Connector{},
		Fresh:     fresh,
		Append: func(t *testing.T, cfg connectors.Config, n int) {
			c.produce(t, cfg.Options["topic"], 3, jsonRows(1000, n)...)
		},
		Large: func(t *testing.T) connectors.Config {
			topic := c.topic(t, 1)
			c.produce(t, topic, 1, jsonRows(0, maxBatchRows+20000)...)
			return c.config(topic)
		},
		BadOptions: []conformance.BadOption{
			{Options: map[string]string{"brokers": ""}, Names: "brokers"},
			{Options: map[string]string{"topic": ""}, Names: "topic"},
			{Options: map[string]string{"brokers": "no-port"}, Names: "brokers"},
			{Options: map[string]string{"format": "xml"}, Names: "format"},
			{Options: map[string]string{"start_offset": "middle"}, Names: "start_offset"},
			{Options: map[string]string{"bogus": "1"}, Names: "bogus"},
			{Options: map[string]string{"delimiter": ";"}, Names: "delimiter"},
			{Options: map[string]string{"columns": "a blob"}, Names: "columns"},
			{Options: map[string]string{"topic": "no_such_topic"}, Names: "no_such_topic"},
		},
		Unreachable: func(t *testing.T) connectors.Config {
			return c.config("x", "brokers", closedAddr(t))
		},
	})
}

// closedAddr is a 127.0.0.1 address nobody listens on.
func closedAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func open(t testing.TB, cfg connectors.Config) *source {
	t.Helper()
	src, err := Connector{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src.(*source)
}

// row is one read row, column name to value (nil for NULL).
type row map[string]any

// read reads (from, to] and returns the rows in partition, offset order.
func read(t testing.TB, src connectors.Source, from, to connectors.Position) []row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	splits, err := src.Plan(ctx, from, to)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	var rows []row
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
				t.Fatal(err)
			}
			if !b.Schema().Equal(src.Schema()) {
				t.Fatalf("batch schema %v, source schema %v", b.Schema(), src.Schema())
			}
			for i := 0; i < int(b.NumRows()); i++ {
				rw := row{}
				for j, col := range b.Columns() {
					rw[b.ColumnName(j)] = valueAt(col, i)
				}
				rows = append(rows, rw)
			}
			b.Release()
		}
		r.Close()
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i]["_partition"] != rows[j]["_partition"] {
			return rows[i]["_partition"].(int32) < rows[j]["_partition"].(int32)
		}
		return rows[i]["_offset"].(int64) < rows[j]["_offset"].(int64)
	})
	return rows
}

func valueAt(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int16:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Timestamp:
		return time.UnixMicro(int64(a.Value(i))).UTC()
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	}
	return fmt.Sprintf("unhandled %T", a)
}

func fieldsOf(s *arrow.Schema) string {
	var parts []string
	for _, f := range s.Fields() {
		p := f.Name + " " + f.Type.String()
		if v, ok := f.Metadata.GetValue(connectors.TypeKey); ok {
			p += "(" + v + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func TestInferJSON(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 2)
	c.produce(t, topic, 1,
		`{"id":1,"name":"a","score":1,"ok":true,"tags":["x"],"meta":{"a":1},"mixed":1,"big":1e3}`,
		`{"id":2,"score":2.5,"mixed":"s","extra":null,"name":"b\u00e9\n"}`,
		`not json at all`,
		`{"id":3,"name":"c","_offset":7,"tags":[],"ok":false,"mixed":{"k":[1,2]}}`,
	)
	src := open(t, c.config(topic))
	want := "_partition int32, _offset int64, _timestamp timestamp[us, tz=UTC], _key utf8, " +
		"id int64, name utf8, score float64, ok bool, tags utf8(json), meta utf8(json), mixed utf8, big float64, extra utf8"
	if got := fieldsOf(src.Schema()); got != want {
		t.Fatalf("schema\n got %s\nwant %s", got, want)
	}
	rows := read(t, src, "", "")
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	r0, r1, r2, r3 := rows[0], rows[1], rows[2], rows[3]
	check := func(r row, col string, want any) {
		t.Helper()
		if got := r[col]; got != want {
			t.Errorf("offset %v %s = %#v, want %#v", r["_offset"], col, got, want)
		}
	}
	check(r0, "id", int64(1))
	check(r0, "tags", `["x"]`)
	check(r0, "meta", `{"a":1}`)
	check(r0, "mixed", "1")
	check(r0, "score", 1.0)
	check(r0, "big", 1000.0)
	check(r0, "_key", "k0")
	check(r0, "_partition", int32(0))
	check(r1, "name", "bé\n")
	check(r1, "score", 2.5)
	check(r1, "mixed", "s")
	check(r1, "extra", nil)
	check(r1, "ok", nil)
	// Not JSON: every value column NULL, the metadata columns still there.
	for _, col := range []string{"id", "name", "score", "ok", "tags", "meta", "mixed", "big", "extra"} {
		check(r2, col, nil)
	}
	check(r2, "_offset", int64(2))
	check(r3, "mixed", `{"k":[1,2]}`)
	check(r3, "tags", `[]`)
	check(r3, "ok", false)
	check(r3, "_offset", int64(3))
	if ts, ok := r3["_timestamp"].(time.Time); !ok || time.Since(ts) > time.Hour {
		t.Errorf("_timestamp = %v", r3["_timestamp"])
	}
}

func TestEmptyTopicNeedsColumns(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 2)
	for _, format := range []string{"json", "csv"} {
		_, err := Connector{}.Open(context.Background(), c.config(topic, "format", format))
		if pgerr.Code(err) != "22023" || !strings.Contains(err.Error(), "empty") || !strings.Contains(err.Error(), `"columns"`) {
			t.Errorf("%s: err = %v (%s), want 22023 saying the topic is empty and to set columns", format, err, pgerr.Code(err))
		}
	}
	// With columns an empty topic opens, and reads nothing.
	src := open(t, c.config(topic, "columns", "id bigint"))
	if rows := read(t, src, "", ""); len(rows) != 0 {
		t.Fatalf("%d rows from an empty topic", len(rows))
	}
	// Text needs no sample.
	open(t, c.config(topic, "format", "text"))
}

func TestUnknownTopic(t *testing.T) {
	c := newCluster(t)
	_, err := Connector{}.Open(context.Background(), c.config("nope"))
	if pgerr.Code(err) != "22023" || !strings.Contains(err.Error(), `topic "nope" does not exist`) {
		t.Fatalf("err = %v (%s)", err, pgerr.Code(err))
	}
}

func TestUnreachableIsQuick(t *testing.T) {
	addr := closedAddr(t)
	cfg := connectors.Config{Options: map[string]string{"brokers": addr, "topic": "x"}, Timeout: time.Second}
	start := time.Now()
	_, err := Connector{}.Open(context.Background(), cfg)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	t.Log(err)
	if pgerr.Code(err) != "08001" || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v (%s), want 08001 naming %s", err, pgerr.Code(err), addr)
	}
	// A canceled Open is 57014.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Connector{}).Open(ctx, cfg); pgerr.Code(err) != "57014" {
		t.Fatalf("canceled Open: %v (%s)", err, pgerr.Code(err))
	}
}

func TestCSV(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 1)
	c.produce(t, topic, 1,
		"1,hello,2.5\n",
		`"a,b","x""y",""`,
		"3,,",
		`"unterminated,4`,
		"5",
	)
	src := open(t, c.config(topic, "format", "csv"))
	if got, want := fieldsOf(src.Schema()), "_partition int32, _offset int64, _timestamp timestamp[us, tz=UTC], _key utf8, c1 utf8, c2 utf8, c3 utf8"; got != want {
		t.Fatalf("schema %s, want %s", got, want)
	}
	got := values(read(t, src, "", ""), "c1", "c2", "c3")
	want := "1|hello|2.5; a,b|x\"y|; 3|NULL|NULL; NULL|NULL|NULL; 5|NULL|NULL"
	if got != want {
		t.Fatalf("rows\n got %s\nwant %s", got, want)
	}

	// Explicit columns and another delimiter.
	topic = c.topic(t, 1)
	c.produce(t, topic, 1, "1;2024-05-06 07:08:09.5;12.345;true", "x;bad;1;maybe", "-7;2024-05-06T07:08:09+02:00;-0.5;f")
	src = open(t, c.config(topic, "format", "csv", "delimiter", ";", "columns", "n integer, at timestamp, amount numeric(6,2), flag boolean"))
	got = values(read(t, src, "", ""), "n", "at", "amount", "flag")
	want = "1|2024-05-06 07:08:09.5 +0000 UTC|12.35|true; NULL|NULL|1.00|NULL; -7|2024-05-06 05:08:09 +0000 UTC|-0.50|false"
	if got != want {
		t.Fatalf("rows\n got %s\nwant %s", got, want)
	}
}

// values formats rows' columns as "a|b; c|d".
func values(rows []row, cols ...string) string {
	var out []string
	for _, r := range rows {
		var vs []string
		for _, c := range cols {
			if v := r[c]; v == nil {
				vs = append(vs, "NULL")
			} else {
				vs = append(vs, fmt.Sprint(v))
			}
		}
		out = append(out, strings.Join(vs, "|"))
	}
	return strings.Join(out, "; ")
}

func TestText(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 1)
	c.produceRecords(t, []*kgo.Record{
		{Topic: topic, Value: []byte("plain line")},
		{Topic: topic, Key: []byte("k"), Value: nil},
		{Topic: topic, Value: []byte("bad \xff utf8")},
	})
	src := open(t, c.config(topic, "format", "text"))
	if got, want := fieldsOf(src.Schema()), "_partition int32, _offset int64, _timestamp timestamp[us, tz=UTC], _key utf8, value utf8"; got != want {
		t.Fatalf("schema %s", got)
	}
	got := values(read(t, src, "", ""), "_key", "value")
	if want := "NULL|plain line; k|NULL; NULL|bad \uFFFD utf8"; got != want {
		t.Fatalf("rows\n got %s\nwant %s", got, want)
	}
}

func TestExplicitColumns(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 1)
	c.produce(t, topic, 1,
		`{"id":"42","userId":7,"at":"2024-01-02T03:04:05.123456Z","d":"2024-02-29","amount":12.5,"u":"6BA7B810-9DAD-11D1-80B4-00C04FD430C8","doc":{"a":[1,"x"]},"small":70000,"r":1.25,"flag":"yes","note":5,"unused":1}`,
		`{"id":1.0,"userId":null,"at":"nope","d":20240229,"amount":"1e2","u":"not-a-uuid","doc":"str","small":-3,"r":"2","flag":false,"note":"n"}`,
		`{"id":1.5,"doc":[1,2`,
	)
	cols := `id bigint, "userId" integer, at timestamptz, d date, amount numeric(10,2), u uuid, doc json, small smallint, r real, flag boolean, note varchar(10)`
	src := open(t, c.config(topic, "columns", cols))
	want := "_partition int32, _offset int64, _timestamp timestamp[us, tz=UTC], _key utf8, id int64, userId int32, at timestamp[us, tz=UTC], d date32, amount decimal(10, 2), u utf8(uuid), doc utf8(json), small int16, r float32, flag bool, note utf8"
	if got := fieldsOf(src.Schema()); got != want {
		t.Fatalf("schema\n got %s\nwant %s", got, want)
	}
	got := values(read(t, src, "", ""), "id", "userId", "at", "d", "amount", "u", "doc", "small", "r", "flag", "note")
	wantRows := `42|7|2024-01-02 03:04:05.123456 +0000 UTC|2024-02-29|12.50|6ba7b810-9dad-11d1-80b4-00c04fd430c8|{"a":[1,"x"]}|NULL|1.25|true|5; ` +
		`1|NULL|NULL|NULL|100.00|NULL|"str"|-3|2|false|n; ` +
		`NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL`
	if got != wantRows {
		t.Fatalf("rows\n got %s\nwant %s", got, wantRows)
	}
}

func TestBadColumns(t *testing.T) {
	for _, cols := range []string{"", "a", "a blob", "a int, a text", "_offset bigint", "a numeric(40,2)", "a numeric(2,3)", `"a text`, "a-b int", "a int(3)"} {
		if _, err := parseColumns(cols); err == nil {
			t.Errorf("parseColumns(%q) succeeded", cols)
		}
	}
	fs, err := parseColumns(` Id BIGINT , "Mixed Case" double precision, d decimal(5), t timestamp with time zone`)
	if err != nil {
		t.Fatal(err)
	}
	got := fieldsOf(arrow.NewSchema(fs, nil))
	if want := "id int64, Mixed Case float64, d decimal(5, 0), t timestamp[us, tz=UTC]"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestStoredSchema(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 1)
	c.produce(t, topic, 1, `{"a":1}`)
	first := open(t, c.config(topic))
	text, err := connectors.EncodeSchema(first.Schema())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := connectors.DecodeSchema(text)
	if err != nil {
		t.Fatal(err)
	}
	// New messages with other fields do not change a stored schema.
	c.produce(t, topic, 1, `{"a":2,"b":"x"}`)
	cfg := c.config(topic)
	cfg.Schema = stored
	again := open(t, cfg)
	if !again.Schema().Equal(first.Schema()) {
		t.Fatalf("schema %v, want %v", again.Schema(), first.Schema())
	}
	if got := values(read(t, again, "", ""), "a"); got != "1; 2" {
		t.Fatalf("rows %s", got)
	}
}

func TestStartOffsetLatest(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 2)
	c.produce(t, topic, 2, jsonRows(0, 10)...)
	src := open(t, c.config(topic, "start_offset", "latest"))
	if rows := read(t, src, "", ""); len(rows) != 0 {
		t.Fatalf("start_offset latest: first read has %d rows, want 0", len(rows))
	}
	pos, err := src.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pos != `{"0":5,"1":5}` {
		t.Fatalf("Latest = %s", pos)
	}
	c.produce(t, topic, 2, jsonRows(10, 3)...)
	if got := values(read(t, src, pos, ""), "id"); got != "10; 12; 11" {
		t.Fatalf("rows after the position: %s", got)
	}
}

func TestPositions(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 2)
	c.produce(t, topic, 2, jsonRows(0, 10)...)
	src := open(t, c.config(topic))
	for _, bad := range []connectors.Position{"x", `{"a":1}`, `{"0":-1}`, `[1]`, "null"} {
		if _, err := src.Plan(context.Background(), bad, ""); pgerr.Code(err) != "22023" {
			t.Errorf("Plan(%s): %v", bad, err)
		}
	}
	if _, err := src.Plan(context.Background(), "", `{"0":99}`); pgerr.Code(err) != "22023" {
		t.Errorf("a position beyond the end: %v", err)
	}
	// A partition missing from "to" is not read; one missing from "from"
	// is read from its start.
	if got := values(read(t, src, `{"0":3}`, `{"0":5}`), "id"); got != "6; 8" {
		t.Errorf("partition 0 [3,5): %s", got)
	}
	if got := len(read(t, src, `{"0":3}`, "")); got != 2+5 {
		t.Errorf("from {0:3}: %d rows", got)
	}
	if p := formatPosition(map[int32]int64{10: 1, 2: 3}); p != `{"2":3,"10":1}` {
		t.Errorf("formatPosition: %s", p)
	}
}

// produceTxn produces values in one transaction, committed or aborted.
func (c *cluster) produceTxn(t *testing.T, topic string, commit bool, values ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.TransactionalID(fmt.Sprintf("tx-%s-%d", topic, c.n.Add(1))),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

func TestTransactions(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("dropControl=%t", drop), func(t *testing.T) {
			c := newCluster(t)
			topic := c.topic(t, 1)
			c.produce(t, topic, 1, `{"id":0}`)
			c.produceTxn(t, topic, true, `{"id":1}`, `{"id":2}`)
			c.produceTxn(t, topic, false, `{"id":98}`, `{"id":99}`)
			c.produceTxn(t, topic, true, `{"id":3}`)
			src := open(t, c.config(topic))
			// Without control records the range's last offset (a commit
			// marker) is never seen: the probe must end the read.
			src.dropControl, src.idle = drop, 200*time.Millisecond
			pos, err := src.Latest(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// 1 + (2 + marker) + (2 + marker) + (1 + marker)
			if pos != `{"0":9}` {
				t.Fatalf("Latest = %s", pos)
			}
			start := time.Now()
			if got := values(read(t, src, "", pos), "id"); got != "0; 1; 2; 3" {
				t.Fatalf("rows %s", got)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("the read took %v", d)
			}
		})
	}
}

func TestCloseEndsReads(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 1)
	c.produce(t, topic, 1, jsonRows(0, 10)...)
	src := open(t, c.config(topic))
	splits, err := src.Plan(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	if _, err := splits[0].Open(context.Background()); err == nil {
		t.Fatal("a split of a closed source opened")
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentReads reads one source from several goroutines at once.
func TestConcurrentReads(t *testing.T) {
	c := newCluster(t)
	topic := c.topic(t, 4)
	c.produce(t, topic, 4, jsonRows(0, 400)...)
	src := open(t, c.config(topic))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if n := len(read(t, src, "", "")); n != 400 {
				t.Errorf("%d rows", n)
			}
		})
	}
	wg.Wait()
}

// TestKcat produces with Debian's kcat (librdkafka), so the connector is
// checked against a producer that is not franz-go.
func TestKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install kcat; .ci/run installs it)")
	}
	c := newCluster(t)
	topic := c.topic(t, 2)
	input := "a:{\"id\":1,\"s\":\"x\"}\nb:{\"id\":2,\"s\":\"y\"}\nc:{\"id\":3,\"s\":\"z\"}\n"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-b", c.addr, "-t", topic, "-P", "-p", "1", "-K:", "-z", "gzip")
	cmd.Stdin = strings.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat: %v: %s", err, stderr.String())
	}
	src := open(t, c.config(topic))
	if got, want := fieldsOf(src.Schema()), "_partition int32, _offset int64, _timestamp timestamp[us, tz=UTC], _key utf8, id int64, s utf8"; got != want {
		t.Fatalf("schema %s", got)
	}
	if got := values(read(t, src, "", ""), "_partition", "_offset", "_key", "id", "s"); got != "1|0|a|1|x; 1|1|b|2|y; 1|2|c|3|z" {
		t.Fatalf("rows %s", got)
	}
}

// TestSilentBroker: a broker that accepts connections but never answers
// fails Open within about the timeout.
func TestSilentBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	cfg := connectors.Config{Options: map[string]string{"brokers": ln.Addr().String(), "topic": "x"}, Timeout: time.Second}
	start := time.Now()
	_, err = Connector{}.Open(context.Background(), cfg)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if pgerr.Code(err) != "08001" || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("err = %v (%s)", err, pgerr.Code(err))
	}
	t.Log(err, time.Since(start))
}
