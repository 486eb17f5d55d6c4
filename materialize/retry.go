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

// attempts runs a refresh (or backfill, with filters) of v, already locked,
// under the view's retry policy: each attempt is its own run in sluice.runs,
// bounded by the view's timeout; a failed attempt is retried after an
// exponential backoff with jitter unless retrying cannot help. When the
// last attempt fails the view's status becomes "failed" and its current
// version stays.
func (m *Materializer) attempts(ctx context.Context, v catalog.View, trigger string, progress Progress, filters []sqlplan.PartitionFilter) (*catalog.Run, error) {
	policy := sqlplan.Retry(v.Options)
	for attempt := 1; ; attempt++ {
		run := &catalog.Run{Object: v.Ref, ObjectID: v.ID, Trigger: trigger, Attempt: attempt}
		if err := m.opts.Catalog.BeginRun(ctx, run); err != nil {
			return nil, err
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if policy.Timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, policy.Timeout)
		}
		retired, err := m.refresh(actx, v, run, progress, filters)
		timedOut := err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			m.Readers.Retire(retired...)
			m.Published(v.Ref)
			m.log.Info("refreshed", "object", v.Ref.String(), "run", run.ID, "attempt", attempt, "version", run.Version,
				"rows", run.RowsOut, "files", run.FilesWritten, "bytes", run.BytesWritten)
			return run, nil
		}
		if timedOut {
			e := pgerr.New(pgerrcode.QueryCanceled, "canceling statement due to statement timeout")
			e.Detail = fmt.Sprintf("The refresh attempt of %s ran longer than its timeout of %s.", v.Ref.Name, policy.Timeout)
			err = e
		} else {
			err = m.translate(err)
		}
		// Record the failure even if ctx was cancelled.
		if ferr := m.opts.Catalog.FailRun(context.WithoutCancel(ctx), run, err); ferr != nil {
			m.log.Error("recording failed run", "object", v.Ref.String(), "run", run.ID, "err", ferr)
		}
		if ctx.Err() != nil {
			return run, err // cancelled by the user or shutdown: not the object's failure
		}
		if attempt > policy.Retries || !Retryable(err) {
			if serr := m.opts.Catalog.SetViewStatus(context.WithoutCancel(ctx), v.ID, "failed"); serr != nil {
				m.log.Error("marking view failed", "object", v.Ref.String(), "err", serr)
			}
			m.log.Warn("refresh failed", "object", v.Ref.String(), "run", run.ID, "attempt", attempt, "err", err)
			return run, err
		}
		d := sqlplan.Backoff(policy.Backoff, attempt, m.jitter())
		progress(fmt.Sprintf("refreshing %s: attempt %d of %d failed (%v); retrying in %s", v.Ref.Name, attempt, policy.Retries+1, err, d.Round(time.Millisecond)))
		m.log.Info("retrying refresh", "object", v.Ref.String(), "run", run.ID, "attempt", attempt, "delay", d, "err", err)
		if serr := m.sleep(ctx, d); serr != nil {
			return run, err
		}
	}
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
