package materialize

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sqlplan"
)

// attempt is one object's work under the attempt loop: a refresh or
// backfill of a materialized view, or a pipeline run.
type attempt struct {
	ref     catalog.Ref
	id      int64
	options map[string]string // retries, retry_backoff, timeout
	what    string            // "refresh" or "run", for messages
	// keepStatus leaves the object's status alone when the last attempt
	// fails: what failed was a replacement, not the object's refresh.
	keepStatus bool
	// do runs one attempt recorded as run; published reports a new version
	// or appended rows, which ON CHANGE dependents must see.
	do func(ctx context.Context, run *catalog.Run) (published bool, err error)
}

// attempts runs a, already locked, under the object's retry policy: each
// attempt is its own run in sluice.runs, bounded by the object's timeout; a
// failed attempt is retried after an exponential backoff with jitter unless
// retrying cannot help. When the last attempt fails the object's status
// becomes "failed" and what it published before stays.
func (m *Materializer) attempts(ctx context.Context, a attempt, trigger string, progress Progress) (*catalog.Run, error) {
	policy := sqlplan.Retry(a.options)
	for n := 1; ; n++ {
		run := &catalog.Run{Object: a.ref, ObjectID: a.id, Trigger: trigger, Attempt: n}
		if err := m.opts.Catalog.BeginRun(ctx, run); err != nil {
			return nil, err
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if policy.Timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, policy.Timeout)
		}
		published, err := a.do(actx, run)
		timedOut := err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			if published {
				m.Published(a.ref)
			}
			m.log.Info(a.what+" succeeded", "object", a.ref.String(), "run", run.ID, "attempt", n, "version", run.Version,
				"rows", run.RowsOut, "files", run.FilesWritten, "bytes", run.BytesWritten)
			return run, nil
		}
		if timedOut {
			e := pgerr.New(pgerrcode.QueryCanceled, "canceling statement due to statement timeout")
			e.Detail = fmt.Sprintf("The %s attempt of %s ran longer than its timeout of %s.", a.what, a.ref.Name, policy.Timeout)
			err = e
		} else {
			err = m.translate(err)
		}
		// Record the failure even if ctx was cancelled.
		if ferr := m.opts.Catalog.FailRun(context.WithoutCancel(ctx), run, err); ferr != nil {
			m.log.Error("recording failed run", "object", a.ref.String(), "run", run.ID, "err", ferr)
		}
		if ctx.Err() != nil {
			return run, err // cancelled by the user or shutdown: not the object's failure
		}
		if n > policy.Retries || !Retryable(err) {
			if a.keepStatus {
				m.log.Warn(a.what+" failed", "object", a.ref.String(), "run", run.ID, "attempt", n, "err", err)
				return run, err
			}
			if serr := m.opts.Catalog.SetStatus(context.WithoutCancel(ctx), a.id, "failed"); serr != nil {
				m.log.Error("marking object failed", "object", a.ref.String(), "err", serr)
			}
			m.log.Warn(a.what+" failed", "object", a.ref.String(), "run", run.ID, "attempt", n, "err", err)
			return run, err
		}
		d := sqlplan.Backoff(policy.Backoff, n, m.jitter())
		progress(fmt.Sprintf("%s of %s: attempt %d of %d failed (%v); retrying in %s", a.what, a.ref.Name, n, policy.Retries+1, err, d.Round(time.Millisecond)))
		m.log.Info("retrying "+a.what, "object", a.ref.String(), "run", run.ID, "attempt", n, "delay", d, "err", err)
		if serr := m.sleep(ctx, d); serr != nil {
			return run, err
		}
	}
}

// viewAttempt is a refresh (or, with filters, a backfill) of v as an
// attempt.
func (m *Materializer) viewAttempt(v catalog.View, progress Progress, filters []sqlplan.PartitionFilter) attempt {
	return attempt{ref: v.Ref, id: v.ID, options: v.Options, what: "refresh",
		do: func(ctx context.Context, run *catalog.Run) (bool, error) {
			retired, err := m.refresh(ctx, v, run, progress, filters, nil)
			if err != nil {
				return false, err
			}
			m.Readers.Retire(retired...)
			return true, nil
		}}
}

// Retryable reports whether another attempt could succeed after err:
// not after a violated FAIL constraint (23514), an error in the query's
// definition (class 42: syntax, unknown relation or column, type), a
// cancellation by the user (57014 other than a timeout) or an unsupported
// feature (0A000). Everything else (I/O, a source briefly unreadable, a
// timeout, out of memory) is retried.
func Retryable(err error) bool {
	code := pgerr.Code(err)
	switch {
	case code == pgerrcode.CheckViolation, code == pgerrcode.FeatureNotSupported, strings.HasPrefix(code, "42"):
		return false
	case code == pgerrcode.QueryCanceled:
		return strings.Contains(err.Error(), "statement timeout")
	}
	return true
}

func (m *Materializer) sleep(ctx context.Context, d time.Duration) error {
	if m.opts.Sleep != nil {
		return m.opts.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Materializer) jitter() float64 {
	if m.opts.Jitter != nil {
		return m.opts.Jitter()
	}
	return rand.Float64()
}

func (m *Materializer) translate(err error) error {
	if m.opts.Translate != nil {
		return m.opts.Translate(err)
	}
	return err
}
