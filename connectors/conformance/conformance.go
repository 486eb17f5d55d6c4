// Package conformance is the suite every connector runs against the real
// server of its kind (in the manner of benthos' integration StreamTests):
// open, schema, full read, incremental read from a position, resume after a
// restart, bad options, an unreachable endpoint, and cancel mid-read.
package conformance

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
)

// Harness is what a connector's test gives the suite.
type Harness struct {
	Connector connectors.Connector
	// Fresh returns the config of a new source (its own topic, table or
	// document) that already holds rows, and how many.
	Fresh func(t *testing.T) (cfg connectors.Config, rows int)
	// Append adds n rows to what cfg's source reads.
	Append func(t *testing.T, cfg connectors.Config, n int)
	// Large returns the config of a source with enough rows that a read
	// takes more than one batch (for cancel mid-read).
	Large func(t *testing.T) connectors.Config
	// BadOptions are option sets Open must refuse with 22023, each with
	// the name of the option its message must name.
	BadOptions []BadOption
	// Unreachable is a config whose endpoint nobody listens on.
	Unreachable func(t *testing.T) connectors.Config
	// Replaces is true where positions only tell a change (HTTP): a read
	// after a position returns the whole new content, not only the rows
	// appended after it.
	Replaces bool
}

// BadOption is an option set Open must refuse.
type BadOption struct {
	Options map[string]string // merged over Fresh's options
	Names   string            // the option the error must name
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("OpenAndSchema", func(t *testing.T) {
		cfg, _ := h.Fresh(t)
		src := open(t, h, cfg)
		if s := src.Schema(); s == nil || s.NumFields() == 0 {
			t.Fatalf("schema is empty: %v", s)
		}
	})
	t.Run("FullRead", func(t *testing.T) {
		cfg, n := h.Fresh(t)
		src := open(t, h, cfg)
		if got := count(t, src, "", ""); got != n {
			t.Fatalf("full read: %d rows, want %d", got, n)
		}
		// A second full read returns the same.
		if got := count(t, src, "", ""); got != n {
			t.Fatalf("second full read: %d rows, want %d", got, n)
		}
	})
	t.Run("IncrementalAndResume", func(t *testing.T) {
		cfg, n := h.Fresh(t)
		src := open(t, h, cfg)
		ctx := context.Background()
		pos, err := src.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := count(t, src, "", pos); got != n {
			t.Fatalf("read up to Latest: %d rows, want %d", got, n)
		}
		if got := count(t, src, pos, pos); got != 0 {
			t.Fatalf("read of (pos, pos]: %d rows, want 0", got)
		}
		h.Append(t, cfg, 5)
		next, err := src.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if next == pos {
			t.Fatalf("Latest did not move after an append: %q", pos)
		}
		want := 5
		if h.Replaces {
			want = n + 5
		}
		if got := count(t, src, pos, next); got != want {
			t.Fatalf("incremental read: %d rows, want %d", got, want)
		}
		// Resume after a restart: a new source reads the same from the
		// committed position, which is plain text.
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
		again := open(t, h, cfg)
		if got := count(t, again, connectors.Position(string(pos)), next); got != want {
			t.Fatalf("incremental read after reopen: %d rows, want %d", got, want)
		}
	})
	t.Run("BadOptions", func(t *testing.T) {
		if len(h.BadOptions) == 0 {
			t.Fatal("the harness declares no bad options")
		}
		cfg, _ := h.Fresh(t)
		for _, bad := range h.BadOptions {
			c := cfg
			c.Options = map[string]string{}
			for k, v := range cfg.Options {
				c.Options[k] = v
			}
			for k, v := range bad.Options {
				if v == "" {
					delete(c.Options, k)
				} else {
					c.Options[k] = v
				}
			}
			src, err := h.Connector.Open(context.Background(), c)
			if err == nil {
				src.Close()
				t.Errorf("options %v: Open succeeded", bad.Options)
				continue
			}
			if code := pgerr.Code(err); code != "22023" {
				t.Errorf("options %v: SQLSTATE %s (%v), want 22023", bad.Options, code, err)
			}
			if !strings.Contains(err.Error(), bad.Names) {
				t.Errorf("options %v: error %q does not name %q", bad.Options, err, bad.Names)
			}
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		cfg := h.Unreachable(t)
		cfg.Timeout = 2 * time.Second
		start := time.Now()
		src, err := h.Connector.Open(context.Background(), cfg)
		if err == nil {
			// Some connectors connect lazily: the first read must fail.
			defer src.Close()
			_, err = src.Latest(context.Background())
		}
		if err == nil {
			t.Fatal("an unreachable endpoint gave no error")
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("the error took %v", d)
		}
		if code := pgerr.Code(err); code == "XX000" {
			t.Errorf("unreachable endpoint: error without a SQLSTATE: %v", err)
		}
	})
	t.Run("CancelMidRead", func(t *testing.T) {
		src := open(t, h, h.Large(t))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		splits, err := src.Plan(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(splits) == 0 {
			t.Fatal("no splits")
		}
		r, err := splits[0].Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		b, err := r.Next()
		if err != nil {
			t.Fatalf("first batch: %v", err)
		}
		b.Release()
		cancel()
		done := make(chan error, 1)
		go func() {
			for {
				b, err := r.Next()
				if err != nil {
					done <- err
					return
				}
				b.Release()
			}
		}()
		select {
		case err := <-done:
			if errors.Is(err, io.EOF) {
				t.Fatal("the read ended normally after cancel: Large must hold more than what was read before it")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the read went on 10 s after cancel")
		}
	})
}

func open(t *testing.T, h Harness, cfg connectors.Config) connectors.Source {
	t.Helper()
	if cfg.Allocator == nil {
		cfg.Allocator = memory.NewGoAllocator()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	src, err := h.Connector.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// count reads (from, to] through every split in parallel and counts rows,
// checking each batch has the source's schema.
func count(t *testing.T, src connectors.Source, from, to connectors.Position) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	splits, err := src.Plan(ctx, from, to)
	if err != nil {
		t.Fatalf("Plan(%q, %q): %v", from, to, err)
	}
	var (
		mu    sync.Mutex
		total int
		errs  []error
		wg    sync.WaitGroup
	)
	for _, sp := range splits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := readAll(ctx, src, sp)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("read: %v", err)
	}
	return total
}

func readAll(ctx context.Context, src connectors.Source, sp connectors.Split) (int, error) {
	r, err := sp.Open(ctx)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := 0
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if !b.Schema().Equal(src.Schema()) {
			b.Release()
			return n, errors.New("a batch's schema differs from the source's: " + b.Schema().String() + " vs " + src.Schema().String())
		}
		n += int(b.NumRows())
		b.Release()
	}
}
