package materialize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	kind    catalog.Kind      // KindMaterializedView or KindPipeline
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
	clock := clockOf(ctx)
	for n := 1; ; n++ {
		run := &catalog.Run{Object: a.ref, ObjectID: a.id, Trigger: trigger, Attempt: n}
		if err := m.opts.Catalog.BeginRun(ctx, run); err != nil {
			return nil, err
		}
		clock.mark("begin_run")
		// Every line about the attempt carries its run id and object:
		// the same run_id as its row of sluice.runs.
		log := runLog(m.log, run)
		log.Debug(a.what+" started", "trigger", trigger, "attempt", n)
		start := time.Now()
		m.board.begin(run, m.stagingDir(run.ID))
		actx, cancel := ctx, context.CancelFunc(func() {})
		if policy.Timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, policy.Timeout)
		}
		published, err := a.do(actx, run)
		m.board.end(run.ID)
		timedOut := err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			clock.mark("retire")
			m.obs.RunDone(run, a.kind, RunSucceeded, time.Since(start))
			if published {
				m.Published(a.ref)
			}
			clock.mark("observe_notify")
			clock.log(ctx, log, a.what+" phases")
			log.Info(a.what+" succeeded", "trigger", trigger, "attempt", n, "version", run.Version,
				"rows", run.RowsOut, "files", run.FilesWritten, "bytes", run.BytesWritten, "duration", time.Since(start))
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
			log.Error("recording failed run", "err", ferr)
		}
		if ctx.Err() != nil {
			m.obs.RunDone(run, a.kind, RunCanceled, time.Since(start))
			log.Info(a.what+" canceled", "trigger", trigger, "attempt", n, "err", err)
			return run, err // cancelled by the user or shutdown: not the object's failure
		}
		m.obs.RunDone(run, a.kind, RunFailed, time.Since(start))
		if n > policy.Retries || !Retryable(err) {
			if a.keepStatus {
				m.log.Warn(a.what+" failed", "object", a.ref.String(), "run", run.ID, "attempt", n, "err", err)
				return run, err
			}
			if serr := m.opts.Catalog.SetStatus(context.WithoutCancel(ctx), a.id, "failed"); serr != nil {
				log.Error("marking object failed", "err", serr)
			}
			log.Warn(a.what+" failed", "trigger", trigger, "attempt", n, "sqlstate", pgerr.Code(err), "err", err)
			return run, err
		}
		d := sqlplan.Backoff(policy.Backoff, n, m.jitter())
		m.obs.Retried(a.ref, a.kind)
		progress(fmt.Sprintf("%s of %s: attempt %d of %d failed (%v); retrying in %s", a.what, a.ref.Name, n, policy.Retries+1, err, d.Round(time.Millisecond)))
		log.Info("retrying "+a.what, "trigger", trigger, "attempt", n, "delay", d, "sqlstate", pgerr.Code(err), "err", err)
		if serr := m.sleep(ctx, d); serr != nil {
			return run, err
		}
	}
}

// runLog is log with the run's object and run id, the fields every log
// line about a run carries.
func runLog(log *slog.Logger, run *catalog.Run) *slog.Logger {
	return log.With("object", run.Object.String(), "run_id", run.ID)
}

// viewAttempt is a refresh (or, with filters, a backfill) of v as an
// attempt.
func (m *Materializer) viewAttempt(v catalog.View, progress Progress, filters []sqlplan.PartitionFilter) attempt {
	return attempt{ref: v.Ref, id: v.ID, kind: catalog.KindMaterializedView, options: v.Options, what: "refresh",
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
