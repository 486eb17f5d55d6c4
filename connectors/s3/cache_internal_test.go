package s3

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// TestSharedDownloadOutlivesItsStarter: a Fetch that joined a download
// started by another gets the file even when the starter is canceled; the
// object is fetched once.
func TestSharedDownloadOutlivesItsStarter(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	gate := make(chan struct{})
	var gets atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/bucket/obj.bin" {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		gets.Add(1)
		w.Header().Set("ETag", `"e1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		w.Header().Set("Content-Length", "1048576")
		w.WriteHeader(http.StatusOK)
		w.Write(data[:1000])
		w.(http.Flusher).Flush()
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		w.Write(data[1000:])
	}))
	defer ts.Close()

	st, err := New(Config{Endpoint: ts.URL, Region: "us-east-1", AccessKey: "k", SecretKey: "s", CacheDir: t.TempDir(), Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj := Object{Bucket: "bucket", Key: "obj.bin", Size: int64(len(data)), ETag: "e1"}

	ctxA, cancelA := context.WithCancel(context.Background())
	errA := make(chan error, 1)
	go func() {
		_, _, err := st.Fetch(ctxA, []Object{obj})
		errA <- err
	}()
	waitFor(t, func() bool { return gets.Load() == 1 })

	type result struct {
		paths   []string
		release func()
		err     error
	}
	resB := make(chan result, 1)
	go func() {
		p, r, err := st.Fetch(context.Background(), []Object{obj})
		resB <- result{p, r, err}
	}()
	waitFor(t, func() bool {
		st.cache.mu.Lock()
		defer st.cache.mu.Unlock()
		e := st.cache.entries["bucket/obj.bin"]
		return e != nil && e.dl != nil && e.dl.waiters == 2
	})

	cancelA()
	if err := <-errA; pgerr.Code(err) != "57014" {
		t.Fatalf("canceled starter: %v", err)
	}
	close(gate)
	b := <-resB
	if b.err != nil {
		t.Fatalf("joined fetch: %v", b.err)
	}
	defer b.release()
	if got, _ := os.ReadFile(b.paths[0]); !bytes.Equal(got, data) {
		t.Error("content differs")
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("%d GETs, want 1", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSlotsFIFO(t *testing.T) {
	s := newSlots(4)
	ctx := context.Background()
	if err := s.acquire(ctx, 3); err != nil {
		t.Fatal(err)
	}
	big := make(chan struct{})
	go func() { s.acquire(ctx, 4); close(big) }()
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.waiters.Len() == 1 })
	// A small request waits behind the big one although one slot is free.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.acquire(cctx, 1); err == nil {
		t.Fatal("small request jumped the queue")
	}
	s.release(3)
	<-big
	s.release(4)
	if s.avail != 4 || s.waiters.Len() != 0 {
		t.Errorf("avail %d, waiters %d", s.avail, s.waiters.Len())
	}
}
