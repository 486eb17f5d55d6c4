package materialize

import (
	"context"
	"log/slog"
	"time"
)

// phaseClock notes how long each phase of a refresh took (lock, describe,
// COPY, publish, ...): the debug log line "refresh phases" carries them,
// to tell Sluice's fixed work around the COPY from the COPY itself. A mark
// is one time.Now and one append.
type phaseClock struct {
	start, last time.Time
	attrs       []any
}

func newPhaseClock() *phaseClock {
	now := time.Now()
	return &phaseClock{start: now, last: now, attrs: make([]any, 0, 32)}
}

// mark ends the phase called name.
func (p *phaseClock) mark(name string) {
	if p == nil {
		return
	}
	now := time.Now()
	p.attrs = append(p.attrs, name, now.Sub(p.last))
	p.last = now
}

// log writes the phases at debug level.
func (p *phaseClock) log(ctx context.Context, log *slog.Logger, msg string) {
	if p == nil || !log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	log.Debug(msg, append(p.attrs, "total", time.Since(p.start))...)
}

type clockKey struct{}

// withClock carries a refresh's phase clock down to its attempts.
func withClock(ctx context.Context, p *phaseClock) context.Context {
	return context.WithValue(ctx, clockKey{}, p)
}

// clockOf is ctx's phase clock, nil (marks nothing) when none.
func clockOf(ctx context.Context) *phaseClock {
	p, _ := ctx.Value(clockKey{}).(*phaseClock)
	return p
}
