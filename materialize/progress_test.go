package materialize

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-db/sluice/catalog"
)

// TestRunning: a run in flight shows its last progress message and the
// Parquet files in its staging directory as they are written, then the
// write's own counts, and is gone when its attempt ends.
func TestRunning(t *testing.T) {
	m := New(Options{DataDir: t.TempDir()})
	m.board.recount = 0 // list the staging directory at every call
	run := &catalog.Run{ID: 7, Object: catalog.Ref{Schema: "public", Name: "v"}, Trigger: "manual", Attempt: 1}
	m.board.begin(run, m.stagingDir(run.ID))
	var sent []string
	progress := m.board.tracking(run.ID, func(msg string) { sent = append(sent, msg) })
	progress("refreshing v: writing a new version")
	if len(sent) != 1 {
		t.Fatalf("the message was not passed on: %v", sent)
	}

	got := m.Running()
	if len(got) != 1 || got[0].RunID != 7 || got[0].Phase != "refreshing v: writing a new version" || got[0].Rows != -1 || got[0].Files != 0 {
		t.Fatalf("before any file: %+v", got)
	}
	dir := filepath.Join(m.stagingDir(7), "day=2024-11-14")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{"data_0.parquet": 100, "data_1.parquet": 50, "tmp_x": 999} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got = m.Running(); got[0].Files != 2 || got[0].Bytes != 150 || got[0].Rows != -1 {
		t.Fatalf("while writing: %+v", got[0])
	}
	m.board.wrote(7, 1000, 3, 4096)
	if got = m.Running(); got[0].Files != 3 || got[0].Bytes != 4096 || got[0].Rows != 1000 {
		t.Fatalf("after the write: %+v", got[0])
	}
	m.board.end(7)
	if got = m.Running(); len(got) != 0 {
		t.Fatalf("after the attempt: %+v", got)
	}
	m.board.phase(7, "late") // a message after the end changes nothing
	if got = m.Running(); len(got) != 0 {
		t.Fatalf("a late message brought the run back: %+v", got)
	}
}

// While a run writes, its staging directory is listed at most once per
// recount interval: callers in between get the last listing's counts.
func TestRunningListsStagingAtMostOncePerInterval(t *testing.T) {
	m := New(Options{DataDir: t.TempDir()})
	m.board.recount = time.Hour
	run := &catalog.Run{ID: 8, Object: catalog.Ref{Schema: "public", Name: "v"}, Trigger: "manual", Attempt: 1}
	m.board.begin(run, m.stagingDir(run.ID))
	dir := filepath.Join(m.stagingDir(8), "day=2024-11-14")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, 10), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("data_0.parquet")
	if got := m.Running(); got[0].Files != 1 || got[0].Bytes != 10 {
		t.Fatalf("first listing: %+v", got[0])
	}
	write("data_1.parquet")
	if got := m.Running(); got[0].Files != 1 {
		t.Fatalf("listed again within the interval: %+v", got[0])
	}
	m.board.recount = 0
	if got := m.Running(); got[0].Files != 2 || got[0].Bytes != 20 {
		t.Fatalf("after the interval: %+v", got[0])
	}
	m.board.wrote(8, 100, 2, 20) // the write's own counts win at once
	if got := m.Running(); got[0].Rows != 100 || got[0].Files != 2 {
		t.Fatalf("after the write: %+v", got[0])
	}
}
