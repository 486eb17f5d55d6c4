package wire

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgcodec"
	"github.com/sluice-db/sluice/internal/pgerr"
)

func TestMain(m *testing.M) {
	// WIRE_TEST_ENCODER=1 tests the wire layer with a stand-in for
	// pgcodec's encoder (int8 and text only), to tell their bugs apart.
	if os.Getenv("WIRE_TEST_ENCODER") != "" {
		newRowEncoder = newTestRowEncoder
	}
	os.Exit(m.Run())
}

// testRowEncoder encodes Int64 and String columns as int8 and text.
type testRowEncoder struct{ formats []int16 }

func newTestRowEncoder(cols []pgcodec.Column, formats []int16) (rowEncoder, error) {
	for _, c := range cols {
		switch c.Type.(type) {
		case *arrow.Int64Type, *arrow.StringType:
		default:
			return nil, pgerr.Unsupported("test encoder: type %v", c.Type)
		}
	}
	if len(formats) != len(cols) {
		return nil, fmt.Errorf("test encoder: %d formats for %d columns", len(formats), len(cols))
	}
	return &testRowEncoder{formats: formats}, nil
}

func (e *testRowEncoder) AppendDataRows(dst []byte, rec arrow.RecordBatch) ([]byte, error) {
	for r := range int(rec.NumRows()) {
		start := len(dst)
		dst = append(dst, 'D', 0, 0, 0, 0)
		dst = binary.BigEndian.AppendUint16(dst, uint16(rec.NumCols()))
		for i, col := range rec.Columns() {
			if col.IsNull(r) {
				dst = binary.BigEndian.AppendUint32(dst, 0xffffffff)
				continue
			}
			var v []byte
			switch a := col.(type) {
			case *array.Int64:
				if e.formats[i] == 1 {
					v = binary.BigEndian.AppendUint64(nil, uint64(a.Value(r)))
				} else {
					v = strconv.AppendInt(nil, a.Value(r), 10)
				}
			case *array.String:
				v = []byte(a.Value(r))
			}
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
			dst = append(dst, v...)
		}
		binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
	}
	return dst, nil
}

// fakeHandler creates fakeSessions and counts them.
type fakeHandler struct {
	batch    int           // rows per record batch (default 100)
	gate     chan struct{} // "stream" and "wait" block on it
	firstRow chan struct{} // "stream" closes it after its first batch
	started  chan struct{} // "sleep" and "wait" send on it when they start
	noPanic  bool          // "panic" is a syntax error (for fuzzing)

	opened, closed atomic.Int32
}

func newFakeHandler() *fakeHandler {
	return &fakeHandler{
		batch:    100,
		gate:     make(chan struct{}),
		firstRow: make(chan struct{}),
		started:  make(chan struct{}, 16),
	}
}

func (h *fakeHandler) NewSession(_ context.Context, info StartupInfo) (Session, error) {
	if info.Database == "nodb" {
		return nil, pgerr.New(pgerrcode.InvalidCatalogName, "database %q does not exist", info.Database)
	}
	h.opened.Add(1)
	return &fakeSession{h: h, tx: 'I'}, nil
}

// fakeSession understands a handful of statements:
//
//	select N   N rows (id int8, name text)
//	stream N   like select, but blocks after its first batch on h.gate
//	wait       blocks on h.gate (ignoring ctx), then completes
//	sleep      blocks until ctx is cancelled, then fails with 57014
//	fail [C]   fails with SQLSTATE C (default 22012)
//	fatal      fails with a FATAL 08006
//	begin, commit, rollback
//	echo       one text parameter, returned as one row
//	notice     sends a NOTICE
//	panic      panics
type fakeSession struct {
	h      *fakeHandler
	tx     byte
	closed atomic.Int32
}

func (s *fakeSession) TxStatus() byte { return s.tx }

func (s *fakeSession) Close() error {
	if s.closed.Add(1) != 1 {
		panic("session closed twice")
	}
	s.h.closed.Add(1)
	return nil
}

func (s *fakeSession) SimpleQuery(ctx context.Context, query string, w ResultWriter) error {
	if strings.TrimSpace(query) == "" {
		return w.EmptyQuery()
	}
	for stmt := range strings.SplitSeq(query, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		st, err := s.Prepare(ctx, stmt, nil)
		if err != nil {
			return err
		}
		p, err := st.Bind(ctx, nil, nil)
		if err != nil {
			return err
		}
		if _, err := p.Execute(ctx, w, 0); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeSession) Prepare(_ context.Context, query string, _ []uint32) (Statement, error) {
	fields := strings.Fields(strings.ToLower(query))
	st := &fakeStmt{s: s}
	if len(fields) == 0 {
		return st, nil
	}
	st.kind = fields[0]
	switch st.kind {
	case "select", "stream":
		if len(fields) != 2 {
			return nil, pgerr.Syntax(1, "want %s N", st.kind)
		}
		n, err := strconv.Atoi(fields[1])
		if err != nil {
			return nil, pgerr.Syntax(len(fields[0])+2, "bad row count %q", fields[1])
		}
		st.n = n
	case "fail":
		st.code = pgerrcode.DivisionByZero
		if len(fields) > 1 {
			st.code = strings.ToUpper(fields[1])
		}
	case "panic":
		if s.h.noPanic {
			return nil, pgerr.Syntax(1, "no panics today")
		}
	case "wait", "sleep", "fatal", "begin", "commit", "rollback", "echo", "notice":
	default:
		return nil, pgerr.Syntax(1, "syntax error at or near %q", fields[0])
	}
	return st, nil
}

type fakeStmt struct {
	s    *fakeSession
	kind string
	n    int
	code string
}

var fakeCols = []pgcodec.Column{
	{Name: "id", OID: pgcodec.Int8OID, TypeSize: 8, TypeMod: -1, Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", OID: pgcodec.TextOID, TypeSize: -1, TypeMod: -1, Type: arrow.BinaryTypes.String},
}

var echoCols = []pgcodec.Column{
	{Name: "echo", OID: pgcodec.TextOID, TypeSize: -1, TypeMod: -1, Type: arrow.BinaryTypes.String},
}

func (st *fakeStmt) ParamOIDs() []uint32 {
	if st.kind == "echo" {
		return []uint32{pgcodec.TextOID}
	}
	return nil
}

func (st *fakeStmt) Columns() []pgcodec.Column {
	switch st.kind {
	case "select", "stream":
		return fakeCols
	case "echo":
		return echoCols
	}
	return nil
}

func (st *fakeStmt) Bind(_ context.Context, _ []int16, params [][]byte) (Portal, error) {
	p := &fakePortal{st: st}
	if st.kind == "echo" {
		if len(params) != 1 {
			return nil, pgerr.New(pgerrcode.ProtocolViolation, "echo wants one parameter")
		}
		p.param = params[0]
	}
	return p, nil
}

func (st *fakeStmt) Close() error { return nil }

type fakePortal struct {
	st      *fakeStmt
	param   []byte
	pos     int // rows sent so far
	started bool
}

func (p *fakePortal) Columns() []pgcodec.Column { return p.st.Columns() }
func (p *fakePortal) Close() error              { return nil }

func (p *fakePortal) Execute(ctx context.Context, w ResultWriter, maxRows int) (bool, error) {
	s := p.st.s
	if s.tx == 'E' && p.st.kind != "commit" && p.st.kind != "rollback" {
		return false, pgerr.New(pgerrcode.InFailedSQLTransaction, "current transaction is aborted")
	}
	switch p.st.kind {
	case "":
		return false, w.EmptyQuery()
	case "select", "stream":
		return p.rows(ctx, w, maxRows)
	case "wait":
		s.h.started <- struct{}{}
		<-s.h.gate
		return false, w.Complete("WAIT")
	case "sleep":
		s.h.started <- struct{}{}
		<-ctx.Done()
		return false, pgerr.New(pgerrcode.QueryCanceled, "canceling statement due to user request")
	case "fail":
		if s.tx == 'T' {
			s.tx = 'E'
		}
		return false, &pgerr.Error{Code: p.st.code, Message: "division by zero", Detail: "the detail", Hint: "the hint", Position: 3}
	case "fatal":
		return false, &pgerr.Error{Severity: "FATAL", Code: pgerrcode.ConnectionFailure, Message: "session lost"}
	case "begin":
		s.tx = 'T'
		return false, w.Complete("BEGIN")
	case "commit", "rollback":
		tag := strings.ToUpper(p.st.kind)
		if s.tx == 'E' {
			tag = "ROLLBACK"
		}
		s.tx = 'I'
		return false, w.Complete(tag)
	case "echo":
		return false, p.echo(w)
	case "notice":
		if err := w.Notice(&pgerr.Error{Message: "hello"}); err != nil {
			return false, err
		}
		return false, w.Complete("DO")
	case "panic":
		panic("fake session panics")
	}
	return false, fmt.Errorf("unknown kind %q", p.st.kind)
}

// rows writes rows p.pos.. in batches, at most maxRows (0 = all).
func (p *fakePortal) rows(ctx context.Context, w ResultWriter, maxRows int) (bool, error) {
	if !p.started {
		if err := w.Columns(fakeCols); err != nil {
			return false, err
		}
		p.started = true
	}
	end := p.st.n
	if maxRows > 0 && p.pos+maxRows < end {
		end = p.pos + maxRows
	}
	h := p.st.s.h
	first := true
	for p.pos < end {
		k := min(h.batch, end-p.pos)
		rec := fakeBatch(p.pos, k)
		err := w.Rows(rec)
		rec.Release()
		if err != nil {
			return false, err
		}
		p.pos += k
		if p.st.kind == "stream" && first && p.pos < end {
			close(h.firstRow)
			select {
			case <-h.gate:
			case <-ctx.Done():
				return false, pgerr.New(pgerrcode.QueryCanceled, "canceled")
			}
		}
		first = false
	}
	if p.pos < p.st.n {
		return true, nil
	}
	return false, w.Complete(fmt.Sprintf("SELECT %d", p.st.n))
}

func (p *fakePortal) echo(w ResultWriter) error {
	if err := w.Columns(echoCols); err != nil {
		return err
	}
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	if p.param == nil {
		b.AppendNull()
	} else {
		b.Append(string(p.param))
	}
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "echo", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1)
	defer rec.Release()
	if err := w.Rows(rec); err != nil {
		return err
	}
	return w.Complete("SELECT 1")
}

// fakeBatch returns rows from..from+n: id = i, name = "row i".
func fakeBatch(from, n int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	names := b.Field(1).(*array.StringBuilder)
	for i := from; i < from+n; i++ {
		ids.Append(int64(i))
		names.Append("row " + strconv.Itoa(i))
	}
	return b.NewRecordBatch()
}

// testServer is a Server listening on 127.0.0.1:0.
type testServer struct {
	*Server
	addr    string
	served  chan error
	handler *fakeHandler
}

// startServer serves h and shuts the server down when the test ends.
func startServer(t *testing.T, h *fakeHandler) *testServer {
	t.Helper()
	return startServerConfig(t, h, Config{})
}

// startServerConfig is startServer with cfg; its Handler is h and a nil
// Logger logs to the test.
func startServerConfig(t *testing.T, h *fakeHandler, cfg Config) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Handler = h
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ts := &testServer{
		Server:  NewServer(cfg),
		addr:    l.Addr().String(),
		served:  make(chan error, 1),
		handler: h,
	}
	go func() { ts.served <- ts.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-ts.served; err != ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if o, c := h.opened.Load(), h.closed.Load(); o != c {
			t.Errorf("%d sessions opened, %d closed", o, c)
		}
	})
	return ts
}

func (ts *testServer) url(db string) string {
	return fmt.Sprintf("postgres://tester@%s/%s?sslmode=disable&application_name=wiretest", ts.addr, db)
}
