package httpsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/connectors/conformance"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// secret is the Authorization value the test server requires; no error
// text nor log line may hold it.
const secret = "Bearer s3cret-token-7f9a"

var authHeaders = `{"Authorization": "` + secret + `"}`

// doc is a document the test server serves.
type doc struct {
	body []byte
	etag string    // "" = no ETag
	mod  time.Time // zero = no Last-Modified
}

// server is a real HTTP server on 127.0.0.1 serving documents, counting
// requests and 304s per path.
type server struct {
	*httptest.Server
	auth string // the Authorization value every request must carry, "" = none

	mu       sync.Mutex
	docs     map[string]doc
	handlers map[string]http.HandlerFunc
	hits     map[string]int
	status   map[string][]int // statuses sent, per path
}

func newServer(t *testing.T, auth string) *server {
	s := &server{auth: auth, docs: map[string]doc{}, handlers: map[string]http.HandlerFunc{},
		hits: map[string]int{}, status: map[string][]int{}}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() { r.ResponseWriter.(http.Flusher).Flush() }

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.status[r.URL.Path] = append(s.status[r.URL.Path], rec.status)
		s.mu.Unlock()
	}()
	s.mu.Lock()
	s.hits[r.URL.Path]++
	d, ok := s.docs[r.URL.Path]
	h := s.handlers[r.URL.Path]
	s.mu.Unlock()
	if s.auth != "" && r.Header.Get("Authorization") != s.auth {
		http.Error(rec, "unauthorized", http.StatusUnauthorized)
		return
	}
	if h != nil {
		h(rec, r)
		return
	}
	if !ok {
		http.NotFound(rec, r)
		return
	}
	if d.etag == "" && d.mod.IsZero() {
		rec.Write(d.body) // no validators at all
		return
	}
	if d.etag != "" {
		rec.Header().Set("ETag", d.etag)
	}
	http.ServeContent(rec, r, "", d.mod, bytes.NewReader(d.body))
}

func (s *server) put(path string, d doc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = d
}

func (s *server) get(path string) doc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.docs[path]
}

func (s *server) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[path] = h
}

func (s *server) hitsOf(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *server) count(path string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, st := range s.status[path] {
		if st == status {
			n++
		}
	}
	return n
}

// ndjson is rows from..from+n-1 as newline-delimited JSON.
func ndjson(from, n int) []byte {
	var b bytes.Buffer
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"row %d","score":%d.5,"ok":%t,"tags":{"k":%d}}`+"\n", i, i, i, i%2 == 0, i)
	}
	return b.Bytes()
}

func config(loc string, opts map[string]string) connectors.Config {
	if opts == nil {
		opts = map[string]string{}
	}
	return connectors.Config{Location: loc, Options: opts, Allocator: memory.NewGoAllocator(),
		Logger: slog.New(slog.DiscardHandler), Timeout: 5 * time.Second}
}

func openSource(t *testing.T, cfg connectors.Config) connectors.Source {
	t.Helper()
	src, err := Connector{}.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// readAll reads (from, to] and returns its batches, retained.
func readAll(t *testing.T, src connectors.Source, from, to connectors.Position) []arrow.RecordBatch {
	t.Helper()
	ctx := context.Background()
	splits, err := src.Plan(ctx, from, to)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	var out []arrow.RecordBatch
	for _, sp := range splits {
		r, err := sp.Open(ctx)
		if err != nil {
			t.Fatalf("split Open: %v", err)
		}
		for {
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if !b.Schema().Equal(src.Schema()) {
				t.Fatalf("batch schema %v, want %v", b.Schema(), src.Schema())
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

func rows(bs []arrow.RecordBatch) int {
	n := 0
	for _, b := range bs {
		n += int(b.NumRows())
	}
	return n
}

// readErr reads everything and returns the first error.
func readErr(ctx context.Context, src connectors.Source) error {
	splits, err := src.Plan(ctx, "", "")
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

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want SQLSTATE %s", code)
	}
	if got := pgerr.Code(err); got != code {
		t.Fatalf("SQLSTATE %s (%v), want %s", got, err, code)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the error shows the secret header: %v", err)
	}
}

func TestConformance(t *testing.T) {
	s := newServer(t, secret)
	var n atomic.Int64
	s.handle("/large.ndjson", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"large"`)
		bw := &bytes.Buffer{}
		for i := 0; i < 1_000_000; i += 10_000 {
			bw.Reset()
			bw.Write(ndjson(i, 10_000))
			if _, err := w.Write(bw.Bytes()); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	opts := func() map[string]string { return map[string]string{"headers": authHeaders} }
	conformance.Run(t, conformance.Harness{
		Connector: Connector{},
		Fresh: func(t *testing.T) (connectors.Config, int) {
			path := fmt.Sprintf("/fresh/%d.json", n.Add(1))
			s.put(path, doc{body: ndjson(0, 10), etag: `"v1"`})
			return config(s.URL+path, opts()), 10
		},
		Append: func(t *testing.T, cfg connectors.Config, k int) {
			path := strings.TrimPrefix(cfg.Location, s.URL)
			d := s.get(path)
			old := bytes.Count(d.body, []byte("\n"))
			d.body = append(append([]byte{}, d.body...), ndjson(old, k)...)
			d.etag = fmt.Sprintf(`"v%d"`, old+k)
			s.put(path, d)
		},
		Large: func(t *testing.T) connectors.Config {
			return config(s.URL+"/large.ndjson", opts())
		},
		BadOptions: []conformance.BadOption{
			{Options: map[string]string{"format": "xml"}, Names: "format"},
			{Options: map[string]string{"bogus": "1"}, Names: "bogus"},
			{Options: map[string]string{"retries": "-1"}, Names: "retries"},
			{Options: map[string]string{"retries": "lots"}, Names: "retries"},
			{Options: map[string]string{"retries": "11"}, Names: "retries"},
			{Options: map[string]string{"timeout": "soon"}, Names: "timeout"},
			{Options: map[string]string{"timeout": "0"}, Names: "timeout"},
			{Options: map[string]string{"headers": "Authorization: " + secret}, Names: "headers"},
			{Options: map[string]string{"headers": `{"Host": "elsewhere"}`}, Names: "headers"},
			{Options: map[string]string{"delimiter": ";"}, Names: "delimiter"},
			{Options: map[string]string{"header": "true"}, Names: "header"},
			{Options: map[string]string{"max_bytes": "10"}, Names: "max_bytes"},
			{Options: map[string]string{"ca_file": "/etc/sluice/no-such-ca.pem"}, Names: "ca_file"},
		},
		Unreachable: func(t *testing.T) connectors.Config {
			return config("http://"+closedAddr(t)+"/gone.json", nil)
		},
		Replaces: true,
	})
}

// closedAddr is a 127.0.0.1 address nobody listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestURLAndFormat(t *testing.T) {
	for _, c := range []struct{ loc, names string }{
		{"ftp://127.0.0.1/data.json", "ftp"},
		{"file:///etc/data.json", "file"},
		{"127.0.0.1/data.json", "url"},
		{"http:///data.json", "url"},
		{"", "url"},
		{"http://127.0.0.1:1/data", "format"},
	} {
		_, err := Connector{}.Open(context.Background(), config(c.loc, nil))
		wantCode(t, err, "22023")
		if !strings.Contains(err.Error(), c.names) {
			t.Errorf("%q: error %q does not name %q", c.loc, err, c.names)
		}
	}
	if (Connector{}).Name() != "HTTP" {
		t.Fatal("Name")
	}
	for _, o := range (Connector{}).Options() {
		if o.Doc == "" {
			t.Errorf("option %q has no Doc", o.Name)
		}
	}
}

func TestJSONInference(t *testing.T) {
	s := newServer(t, "")
	s.put("/mixed.json", doc{etag: `"a"`, body: []byte("\xef\xbb\xbf \n [\n" +
		`{"i":1,"f":1,"b":true,"s":"x\u00e9","n":{"a":1},"m":1,"z":null},` + "\n" +
		`{"i":2,"f":2.5,"b":false,"s":"y","n":[1,2],"m":"two","extra":"late"},` + "\n" +
		`{"i":-3,"b":null,"s":null}` + "\n]\n")})
	src := openSource(t, config(s.URL+"/mixed.json", nil))
	sc := src.Schema()
	want := []struct {
		name string
		typ  arrow.DataType
		json bool
	}{
		{"i", arrow.PrimitiveTypes.Int64, false},
		{"f", arrow.PrimitiveTypes.Float64, false},
		{"b", arrow.FixedWidthTypes.Boolean, false},
		{"s", arrow.BinaryTypes.String, false},
		{"n", arrow.BinaryTypes.String, true},
		{"m", arrow.BinaryTypes.String, false},
		{"z", arrow.BinaryTypes.String, false},
		{"extra", arrow.BinaryTypes.String, false},
	}
	if sc.NumFields() != len(want) {
		t.Fatalf("schema %v", sc)
	}
	for i, w := range want {
		f := sc.Field(i)
		if f.Name != w.name || !arrow.TypeEqual(f.Type, w.typ) || isJSONField(f) != w.json {
			t.Errorf("field %d: %v, want %s %s json=%v", i, f, w.name, w.typ, w.json)
		}
	}
	bs := readAll(t, src, "", "")
	if rows(bs) != 3 {
		t.Fatalf("%d rows", rows(bs))
	}
	b := bs[0]
	if got := b.Column(1).(*array.Float64).Value(1); got != 2.5 {
		t.Errorf("f[1] = %v", got)
	}
	if got := b.Column(3).(*array.String).Value(0); got != "xé" {
		t.Errorf("s[0] = %q", got)
	}
	if got := b.Column(4).(*array.String).Value(0); got != `{"a":1}` {
		t.Errorf("n[0] = %q", got)
	}
	if got := b.Column(5).(*array.String).Value(0); got != "1" {
		t.Errorf("m[0] = %q", got)
	}
	if got := b.Column(5).(*array.String).Value(1); got != "two" {
		t.Errorf("m[1] = %q", got)
	}
	if !b.Column(7).IsNull(0) || b.Column(7).(*array.String).Value(1) != "late" {
		t.Errorf("extra = %v", b.Column(7))
	}
	if !b.Column(1).IsNull(2) || !b.Column(2).IsNull(2) || b.Column(0).(*array.Int64).Value(2) != -3 {
		t.Errorf("row 2: %v %v %v", b.Column(0), b.Column(1), b.Column(2))
	}
}

func TestJSONBadContent(t *testing.T) {
	s := newServer(t, "")
	for path, body := range map[string]string{
		"/scalar.json":    "42\n",
		"/notobject.json": `{"a":1}` + "\n" + `[1]` + "\n",
		"/broken.json":    `{"a":1}` + "\n" + `{"a":`,
		"/empty.json":     "  \n",
	} {
		s.put(path, doc{body: []byte(body)})
		_, err := Connector{}.Open(context.Background(), config(s.URL+path, nil))
		wantCode(t, err, "22P02")
	}
	// A value that does not fit a column fixed at creation.
	s.put("/later.json", doc{body: []byte(`{"a":1}` + "\n" + `{"a":"x"}` + "\n")})
	cfg := config(s.URL+"/later.json", nil)
	cfg.Schema = arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	src := openSource(t, cfg)
	err := readErr(context.Background(), src)
	wantCode(t, err, "22P02")
	if !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("error %q names neither the column nor the row", err)
	}
}

func TestCSV(t *testing.T) {
	s := newServer(t, "")
	s.put("/t.csv", doc{etag: `"c"`, body: []byte("id,name,price,at,day,ok,id\n" +
		"1,a,1.5,2024-01-02 03:04:05,2024-01-02,true,7\n" +
		"2,,2,2024-01-03T00:00:00.25,2024-01-03,FALSE,8\n" +
		"3,\"c, d\",,,,,9\n")})
	src := openSource(t, config(s.URL+"/t.csv", nil))
	want := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "at", Type: tsLocal, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "id_1", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	if !src.Schema().Equal(want) {
		t.Fatalf("schema %v, want %v", src.Schema(), want)
	}
	bs := readAll(t, src, "", "")
	if rows(bs) != 3 {
		t.Fatalf("%d rows", rows(bs))
	}
	b := bs[0]
	if !b.Column(1).IsNull(1) || b.Column(1).(*array.String).Value(2) != "c, d" {
		t.Errorf("name = %v", b.Column(1))
	}
	at := b.Column(3).(*array.Timestamp).Value(1)
	if got := time.UnixMicro(int64(at)).UTC(); !got.Equal(time.Date(2024, 1, 3, 0, 0, 0, 250_000_000, time.UTC)) {
		t.Errorf("at[1] = %v", got)
	}
	if b.Column(5).(*array.Boolean).Value(1) || b.Column(6).(*array.Int64).Value(2) != 9 {
		t.Errorf("ok, id_1 = %v, %v", b.Column(5), b.Column(6))
	}

	// No header, another delimiter, the format given.
	s.put("/semi", doc{body: []byte("1;x\n2;y\n")})
	src = openSource(t, config(s.URL+"/semi", map[string]string{"format": "csv", "header": "false", "delimiter": ";"}))
	if f := src.Schema().Field(0); f.Name != "column0" || f.Type.ID() != arrow.INT64 {
		t.Errorf("no header: %v", src.Schema())
	}
	if n := rows(readAll(t, src, "", "")); n != 2 {
		t.Errorf("no header: %d rows", n)
	}

	// .tsv is tab-separated.
	s.put("/t.tsv", doc{body: []byte("a\tb\n1\t2\n")})
	src = openSource(t, config(s.URL+"/t.tsv", nil))
	if src.Schema().NumFields() != 2 {
		t.Errorf("tsv: %v", src.Schema())
	}

	// A record of the wrong width.
	s.put("/ragged.csv", doc{body: []byte("a,b\n1,2\n3\n")})
	_, err := Connector{}.Open(context.Background(), config(s.URL+"/ragged.csv", nil))
	wantCode(t, err, "22P04")
}

// TestRetries: 503s are retried with backoff, a 404 is not.
func TestRetries(t *testing.T) {
	s := newServer(t, "")
	var fails atomic.Int64
	s.handle("/flaky.json", func(w http.ResponseWriter, r *http.Request) {
		if fails.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write(ndjson(0, 3))
	})
	src := openSource(t, config(s.URL+"/flaky.json", nil))
	if got := s.hitsOf("/flaky.json"); got != 3 {
		t.Errorf("%d requests, want 2 failures and a success", got)
	}
	if n := rows(readAll(t, src, "", "")); n != 3 {
		t.Errorf("%d rows", n)
	}

	s.handle("/down.json", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	})
	_, err := Connector{}.Open(context.Background(), config(s.URL+"/down.json", map[string]string{"retries": "1"}))
	wantCode(t, err, "58030")
	if !strings.Contains(err.Error(), "502") || s.hitsOf("/down.json") != 2 {
		t.Errorf("error %q after %d requests, want 502 after 2", err, s.hitsOf("/down.json"))
	}

	_, err = Connector{}.Open(context.Background(), config(s.URL+"/missing.json", nil))
	wantCode(t, err, "58P01")
	if !strings.Contains(err.Error(), "404") || s.hitsOf("/missing.json") != 1 {
		t.Errorf("error %q after %d requests, want 404 after 1", err, s.hitsOf("/missing.json"))
	}

	// 429 with Retry-After is retried after the time it asks for.
	var limited atomic.Int64
	s.handle("/limited.json", func(w http.ResponseWriter, r *http.Request) {
		if limited.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Write(ndjson(0, 1))
	})
	start := time.Now()
	openSource(t, config(s.URL+"/limited.json", nil))
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v despite Retry-After: 1", d)
	}
}

func TestETag304(t *testing.T) {
	s := newServer(t, "")
	s.put("/e.json", doc{body: ndjson(0, 4), etag: `"one"`})
	src := openSource(t, config(s.URL+"/e.json", nil))
	ctx := context.Background()
	p1, err := src.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(p1) != `{"etag":"\"one\""}` {
		t.Fatalf("position %s", p1)
	}
	if p, _ := src.Latest(ctx); p != p1 {
		t.Fatalf("Latest moved without a change: %s", p)
	}
	if n := s.count("/e.json", 304); n != 2 {
		t.Errorf("%d 304s, want 2 (Latest is conditional)", n)
	}
	// Plan after an unchanged position asks conditionally and reads nothing.
	if sp, err := src.Plan(ctx, p1, ""); err != nil || len(sp) != 0 {
		t.Fatalf("Plan(unchanged) = %d splits, %v", len(sp), err)
	}
	if n := s.count("/e.json", 304); n != 3 {
		t.Errorf("%d 304s, want 3", n)
	}
	s.put("/e.json", doc{body: ndjson(0, 6), etag: `"two"`})
	p2, err := src.Latest(ctx)
	if err != nil || p2 == p1 {
		t.Fatalf("Latest after a change: %s, %v", p2, err)
	}
	if n := rows(readAll(t, src, p1, "")); n != 6 {
		t.Errorf("read after the change: %d rows, want 6", n)
	}
	if n := rows(readAll(t, src, p2, p2)); n != 0 {
		t.Errorf("read of (p2, p2]: %d rows", n)
	}
	_, err = src.Plan(ctx, "not json", "")
	wantCode(t, err, "22P02")
}

func TestLastModified304(t *testing.T) {
	s := newServer(t, "")
	mod := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	s.put("/m.json", doc{body: ndjson(0, 2), mod: mod})
	src := openSource(t, config(s.URL+"/m.json", nil))
	ctx := context.Background()
	p1, err := src.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(p1) != `{"last_modified":"Tue, 04 Mar 2025 05:06:07 GMT"}` {
		t.Fatalf("position %s", p1)
	}
	if sp, err := src.Plan(ctx, p1, ""); err != nil || len(sp) != 0 {
		t.Fatalf("Plan(unchanged) = %d splits, %v", len(sp), err)
	}
	if n := s.count("/m.json", 304); n != 2 {
		t.Errorf("%d 304s, want 2", n)
	}
	s.put("/m.json", doc{body: ndjson(0, 3), mod: mod.Add(time.Minute)})
	p2, err := src.Latest(ctx)
	if err != nil || p2 == p1 {
		t.Fatalf("Latest after a change: %s, %v", p2, err)
	}
	if n := rows(readAll(t, src, p1, p2)); n != 3 {
		t.Errorf("read after the change: %d rows, want 3", n)
	}
}

func TestSHA256Fallback(t *testing.T) {
	s := newServer(t, "")
	s.put("/plain.json", doc{body: ndjson(0, 2)})
	src := openSource(t, config(s.URL+"/plain.json", nil))
	ctx := context.Background()
	p1, err := src.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(p1), `{"sha256":"`) || strings.Contains(string(p1), "etag") {
		t.Fatalf("position %s", p1)
	}
	if p, _ := src.Latest(ctx); p != p1 {
		t.Fatalf("Latest moved without a change: %s", p)
	}
	if sp, err := src.Plan(ctx, p1, ""); err != nil || len(sp) != 0 {
		t.Fatalf("Plan(unchanged) = %d splits, %v", len(sp), err)
	}
	s.put("/plain.json", doc{body: ndjson(0, 5)})
	p2, err := src.Latest(ctx)
	if err != nil || p2 == p1 {
		t.Fatalf("Latest after a change: %s, %v", p2, err)
	}
	if n := rows(readAll(t, src, p1, "")); n != 5 {
		t.Errorf("read after the change: %d rows, want 5", n)
	}
	if s.count("/plain.json", 304) != 0 {
		t.Error("a 304 from a server without validators")
	}
}

// syncBuffer is a log sink safe for the reads' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestHeadersSecret: the headers are sent, and their values appear in no
// error nor log line.
func TestHeadersSecret(t *testing.T) {
	s := newServer(t, secret)
	s.put("/a.json", doc{body: ndjson(0, 2), etag: `"x"`})
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	cfg := config(s.URL+"/a.json", map[string]string{"headers": authHeaders})
	cfg.Logger = logger
	src := openSource(t, cfg)
	if n := rows(readAll(t, src, "", "")); n != 2 {
		t.Fatalf("%d rows", n)
	}

	cfg = config(s.URL+"/a.json", map[string]string{"headers": `{"Authorization": "Bearer s3cret-wrong"}`})
	cfg.Logger = logger
	_, err := Connector{}.Open(context.Background(), cfg)
	wantCode(t, err, "28000")
	if !strings.Contains(err.Error(), "401") {
		t.Errorf("error %q does not name the status", err)
	}

	s.handle("/fail.json", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "echo: "+r.Header.Get("Authorization"), http.StatusInternalServerError)
	})
	cfg = config(s.URL+"/fail.json", map[string]string{"headers": authHeaders, "retries": "2"})
	cfg.Logger = logger
	_, err = Connector{}.Open(context.Background(), cfg)
	wantCode(t, err, "58030")

	for _, bad := range []string{
		`{"Authorization": "Bearer s3cret` + "\n" + `"}`,
		`{"Authorization": "Bearer s3cret`,
		`{"Authorization": ["Bearer s3cret"]}`,
		`Authorization: Bearer s3cret`,
		`{"Bad Name": "s3cret"}`,
	} {
		_, err := Connector{}.Open(context.Background(), config(s.URL+"/a.json", map[string]string{"headers": bad}))
		wantCode(t, err, "22023")
		if !strings.Contains(err.Error(), "headers") {
			t.Errorf("error %q does not name the option", err)
		}
	}

	// Secrets in the URL (user info, query) stay out of errors too.
	_, err = Connector{}.Open(context.Background(), config("http://user:s3cret-pw@"+closedAddr(t)+"/x.json?token=s3cret-q", map[string]string{"retries": "0"}))
	wantCode(t, err, "08001")

	if strings.Contains(logs.String(), "s3cret") {
		t.Fatalf("the log shows a secret:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("no retry was logged:\n%s", logs.String())
	}
}

// TestCancelAndTimeouts: a cancel ends a request or a read promptly with
// 57014; a quiet server ends them after the timeout.
func TestCancelAndTimeouts(t *testing.T) {
	s := newServer(t, "")
	s.handle("/hang.json", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Connector{}.Open(ctx, config(s.URL+"/hang.json", nil))
	wantCode(t, err, "57014")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the cancel took %v", d)
	}

	start = time.Now()
	_, err = Connector{}.Open(context.Background(), config(s.URL+"/hang.json", map[string]string{"timeout": "1", "retries": "1"}))
	wantCode(t, err, "08001")
	// The source's watchdog, not the transport, ends each attempt: the
	// message says so every time.
	if want := "no response from " + s.URL + "/hang.json within 1s (after 2 attempts)"; pgerr.As(err).Message != want {
		t.Errorf("the timeout's message: %q, want %q", pgerr.As(err).Message, want)
	}
	if d := time.Since(start); d > 6*time.Second || d < 1900*time.Millisecond {
		t.Errorf("two timed-out attempts took %v, want about 2 s", d)
	}

	// A body that stops: the read fails after the timeout (with a schema
	// fixed, Open makes no request).
	s.handle("/stall.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write(ndjson(0, 100))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	})
	cfg := config(s.URL+"/stall.json", map[string]string{"timeout": "500ms"})
	cfg.Schema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	src := openSource(t, cfg)
	start = time.Now()
	err = readErr(context.Background(), src)
	wantCode(t, err, "08006")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the stalled read took %v", d)
	}

	// Cancel while a read waits for the body.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	cfg.Options = map[string]string{"timeout": "30"}
	src = openSource(t, cfg)
	start = time.Now()
	err = readErr(ctx, src)
	wantCode(t, err, "57014")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v is not context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the cancel took %v", d)
	}
}

func TestFixedSchema(t *testing.T) {
	// With the schema fixed, Open makes no request: a gateway restart does
	// not depend on the server; the first read reports it.
	addr := closedAddr(t)
	cfg := config("http://"+addr+"/x.json", map[string]string{"retries": "0"})
	cfg.Schema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	src := openSource(t, cfg)
	if _, err := src.Latest(context.Background()); pgerr.Code(err) != "08001" {
		t.Errorf("Latest: %v, want 08001", err)
	}
	cfg.Schema = arrow.NewSchema([]arrow.Field{{Name: "d", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}}}, nil)
	_, err := Connector{}.Open(context.Background(), cfg)
	wantCode(t, err, "0A000")
}
