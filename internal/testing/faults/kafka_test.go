package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// restartableBroker is a one-broker kfake cluster that can be restarted
// like a real broker process: its state lives in a data directory
// (kfake.DataDir, written as records arrive and saved on Close), and it
// listens on a fixed port (kfake.Ports), so a restart closes the listener
// and every client connection, leaves the port refusing connections for
// the outage, then starts a new cluster on the same port that reloads the
// topic, its records and offsets from disk. This is closer to a broker
// restart than a proxy that drops connections (the process really goes
// away, and what comes back is rebuilt from disk) or kfake's control
// functions (which make requests fail while the broker stays up).
type restartableBroker struct {
	t    *testing.T
	dir  string
	port int
	c    *kfake.Cluster
}

func startRestartableBroker(t *testing.T, opts ...kfake.Opt) *restartableBroker {
	t.Helper()
	b := &restartableBroker{t: t, dir: t.TempDir()}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(b.dir)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	b.c = c
	_, port, _ := strings.Cut(c.ListenAddrs()[0], ":")
	b.port, _ = strconv.Atoi(port)
	t.Cleanup(func() { b.c.Close() })
	return b
}

func (b *restartableBroker) addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

// restart stops the broker, keeps it down for outage, and starts it again
// on the same port from its data directory.
func (b *restartableBroker) restart(outage time.Duration) {
	b.t.Helper()
	b.c.Close()
	time.Sleep(outage)
	var err error
	for range 50 { // the port is ours, but give a lingering listener a moment
		var c *kfake.Cluster
		if c, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(b.dir), kfake.Ports(b.port)); err == nil {
			b.c = c
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("restarting the broker on port %d: %v", b.port, err)
}

// TestKafkaBrokerRestartMidRun restarts the Kafka broker twice while a
// pipeline run is reading 300,000 new messages of a two-partition topic.
// After a 3 s outage (shorter than the connector's 10 s timeout) the run
// rides it out: franz-go reconnects and fetches the rest from the restarted
// broker. After a 15 s outage the run fails with a connection SQLSTATE
// (08xxx), commits no row, file nor offset, and the session goes on. Once
// the broker is back the next run commits exactly the rest: every message
// once, the committed offsets are the topic's ends, and the pipeline's data
// directory holds exactly the committed files.
func TestKafkaBrokerRestartMidRun(t *testing.T) {
	const parts = 2
	broker := startRestartableBroker(t, kfake.SeedTopics(parts, "events"))
	prod, err := kgo.NewClient(kgo.SeedBrokers(broker.addr()), kgo.DefaultProduceTopic("events"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0),
		// Uncompressed, so that a partition's 22 MB take several fetches
		// (kfake cuts fetches by batch bytes).
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	// Message id goes to partition id % parts: the ends are known.
	pad := strings.Repeat("x", 120) // ~150-byte messages: a partition takes several 8 MiB fetches
	next := 0
	produce := func(n int) {
		t.Helper()
		recs := make([]*kgo.Record, n)
		for i := range recs {
			id := next + i
			v, _ := json.Marshal(map[string]any{"id": id, "pad": pad})
			recs[i] = &kgo.Record{Key: []byte(strconv.Itoa(id)), Value: v, Partition: int32(id % parts)}
		}
		next += n
		if err := prod.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	wantPosition := func() string {
		ends := make([]string, parts)
		for p := range parts {
			ends[p] = fmt.Sprintf(`"%d":%d`, p, (next-p+parts-1)/parts)
		}
		return "{" + strings.Join(ends, ",") + "}"
	}
	produce(1000)

	s := startServer(t, t.TempDir(), nil)
	conn := s.Connect(t)
	mustExec(t, conn, fmt.Sprintf(`CREATE SOURCE events FROM KAFKA WITH (brokers = '%s', topic = 'events', format = 'json')`, broker.addr()))
	mustExec(t, conn, `CREATE PIPELINE copied AS SELECT id, pad, _partition, _offset FROM events`)
	id := one(t, conn, `SELECT id FROM sluice.pipelines WHERE name = 'copied'`)
	mustExec(t, conn, `REFRESH PIPELINE copied`)
	position := func() string {
		t.Helper()
		return one(t, conn, `SELECT position FROM sluice.pipeline_positions WHERE object_id = `+id)
	}
	if got, want := position(), wantPosition(); got != want {
		t.Fatalf("position after the first run: %s, want %s", got, want)
	}

	// restartMidRun produces 300,000 messages, starts a run, restarts the
	// broker at the run's third fetch (the first fetch of each partition's
	// range is in, most of the range is not) with outage between stop and
	// start, and returns the run's error. A failed run commits nothing.
	restartMidRun := func(outage time.Duration) error {
		t.Helper()
		produce(300_000)
		rowsBefore := one(t, conn, `SELECT count(*) FROM copied`)
		posBefore := position()
		var fetches atomic.Int32
		fetching := make(chan struct{})
		watchFetches(broker.c, func(int32, int64) {
			if fetches.Add(1) == 3 {
				close(fetching)
			}
		})
		start := time.Now()
		done := make(chan error, 1)
		var took atomic.Int64 // when REFRESH returned, since start
		go func() {
			_, err := conn.Exec(context.Background(), `REFRESH PIPELINE copied`)
			took.Store(int64(time.Since(start)))
			done <- err
		}()
		select {
		case <-fetching:
		case err := <-done:
			t.Fatalf("the run ended (%v) before its third fetch", err)
		case <-time.After(60 * time.Second):
			t.Fatal("the run made no fetches within 60 s")
		}
		down := time.Since(start)
		broker.restart(outage)
		back := time.Since(start)
		// Fetches the restarted broker serves before the run returns:
		// from the middle of a range when the run rode the outage out.
		var resumed atomic.Int32
		running := make(chan struct{})
		watchFetches(broker.c, func(_ int32, off int64) {
			select {
			case <-running:
			default:
				resumed.Add(1)
			}
		})
		var runErr error
		select {
		case runErr = <-done:
		case <-time.After(90 * time.Second):
			t.Fatal("REFRESH PIPELINE did not return within 90 s of the broker's restart")
		}
		close(running)
		t.Logf("outage %v: broker down %v after REFRESH began, back at %v; the run returned at %v after %d fetches from the restarted broker: %v",
			outage, down.Round(time.Millisecond), back.Round(time.Millisecond), time.Duration(took.Load()).Round(time.Millisecond), resumed.Load(), runErr)
		if got := one(t, conn, `SELECT 1`); got != "1" {
			t.Fatalf("session after the run: %s", got)
		}
		if runErr == nil {
			if resumed.Load() == 0 {
				t.Fatal("the run succeeded without fetching from the restarted broker: the outage did not hit the read")
			}
			return nil
		}
		pe, ok := runErr.(*pgconn.PgError)
		if !ok || !strings.HasPrefix(pe.Code, "08") {
			t.Fatalf("the failed run: %v, want a connection-class (08) SQLSTATE", runErr)
		}
		// Nothing of the failed run is committed.
		if got := one(t, conn, `SELECT count(*) FROM copied`); got != rowsBefore {
			t.Fatalf("rows after the failed run: %s, want the %s committed before", got, rowsBefore)
		}
		if got := position(); got != posBefore {
			t.Fatalf("position after the failed run: %s, want %s as before", got, posBefore)
		}
		if got := one(t, conn, `SELECT sqlstate FROM sluice.runs WHERE object = 'copied' ORDER BY run_id DESC LIMIT 1`); got != pe.Code {
			t.Fatalf("sluice.runs records SQLSTATE %s for the failed run, the client got %s", got, pe.Code)
		}
		diskMatchesCatalog(t, conn, s.DataDir, id)
		return runErr
	}
	// A restart shorter than the connector's 10 s timeout: franz-go
	// reconnects, and the run may go on where it was.
	restartMidRun(3 * time.Second)
	// One longer than it: the run must fail, not hang.
	if err := restartMidRun(15 * time.Second); err == nil {
		t.Fatal("a run survived a 15 s broker outage; the connector's timeout is 10 s")
	}

	// The restarted broker takes new messages; the next run reads the rest.
	produce(500)
	mustExec(t, conn, `REFRESH PIPELINE copied`)
	mustExec(t, conn, `REFRESH PIPELINE copied`) // nothing new: no duplicates
	want := strconv.Itoa(next)
	if got := mustQueryText(t, conn, `SELECT count(*), count(DISTINCT id), count(DISTINCT (_partition, _offset)), min(id), max(id) FROM copied`); !reflect.DeepEqual(got, [][]string{{want, want, want, "0", strconv.Itoa(next - 1)}}) {
		t.Fatalf("pipeline rows: %v, want %s distinct ids 0..%d", got, want, next-1)
	}
	if got := one(t, conn, `SELECT count(*) FROM copied WHERE _partition <> id % 2 OR _offset <> id // 2`); got != "0" {
		t.Fatalf("%s rows are not at the partition and offset they were produced to", got)
	}
	if got, want := position(), wantPosition(); got != want {
		t.Fatalf("committed position %s, want the topic's ends %s", got, want)
	}
	if got := one(t, conn, `SELECT sum(rows) FROM sluice.pipeline_files WHERE object_id = `+id); got != want {
		t.Fatalf("committed files hold %s rows, want %s", got, want)
	}
	// The gateway reads no file inside its data directory: the copies
	// are read.
	var copies []string
	for i, f := range diskMatchesCatalog(t, conn, s.DataDir, id) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := filepath.Join(t.TempDir(), fmt.Sprintf("%d.parquet", i))
		if err := os.WriteFile(c, b, 0o644); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, c)
	}
	list := "['" + strings.Join(copies, "', '") + "']"
	if got := mustQueryText(t, conn, `SELECT count(*), count(DISTINCT id) FROM read_parquet(`+list+`)`); got[0][0] != want || got[0][1] != want {
		t.Fatalf("rows in the data files: %v, want %s", got, want)
	}
	t.Logf("runs: %v", mustQueryText(t, conn, `SELECT run_id, status, sqlstate, rows_out, files_written FROM sluice.runs WHERE object = 'copied' ORDER BY run_id`))
}

// watchFetches calls seen for every partition of every fetch request c
// gets, and lets c answer it as usual.
func watchFetches(c *kfake.Cluster, seen func(partition int32, offset int64)) {
	c.ControlKey(int16(kmsg.Fetch), func(r kmsg.Request) (kmsg.Response, error, bool) {
		for _, tp := range r.(*kmsg.FetchRequest).Topics {
			for _, pp := range tp.Partitions {
				seen(pp.Partition, pp.FetchOffset)
			}
		}
		return nil, nil, false
	})
}

// diskMatchesCatalog checks that pipeline id's data directory under
// dataDir holds exactly the files sluice.pipeline_files commits, and
// returns them.
func diskMatchesCatalog(t *testing.T, conn *pgx.Conn, dataDir, id string) []string {
	t.Helper()
	var committed []string
	for _, r := range mustQueryText(t, conn, `SELECT path FROM sluice.pipeline_files WHERE object_id = `+id+` ORDER BY path`) {
		committed = append(committed, r[0])
	}
	var onDisk []string
	err := filepath.WalkDir(filepath.Join(dataDir, "objects", id, "data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			onDisk = append(onDisk, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(onDisk)
	if !reflect.DeepEqual(onDisk, committed) {
		t.Fatalf("files on disk differ from the committed files\non disk:   %v\ncommitted: %v", onDisk, committed)
	}
	return committed
}
