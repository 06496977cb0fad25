package segdl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

// Kinds of task failure, classified where they happen.
type (
	// fatalError fails the file's current source: no retry helps.
	fatalError struct{ err error }
	// restartError makes the download start again once no task runs.
	restartError struct {
		reason  error
		discard bool // drop the bytes on disk (the file changed)
		single  bool // fetch as one stream from now on
		broken  bool // bytes were lost to a failure: counts as an attempt
	}
)

func (e *fatalError) Error() string { return e.err.Error() }

func (e *fatalError) Unwrap() error { return e.err }

func (e *restartError) Error() string { return e.reason.Error() }

// asRestart returns the *restartError in err's chain, or nil. A function of
// its own: the target of errors.As goes to the heap, and a task that ends
// well should not pay for it.
func asRestart(err error) *restartError {
	var re *restartError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

func (e *restartError) Unwrap() error { return e.reason }

// errStop means the task's work was taken away (a restart or the end of
// its segment); it is not a failure.
var errStop = errors.New("segdl: task stopped")

// errParked means the task gave its connection back to wait for a retry.
var errParked = errors.New("segdl: waiting to retry")

// park gives t's work back until wait has passed: the segment is requeued
// with its attempt count, and notify wakes the scheduler when it may be
// claimed again.
func (d *Download) park(t *Task, wait time.Duration, attempts int, why error) {
	d.mu.Lock()
	t.seg.attempts = attempts
	d.parkLocked(wait, why)
	d.mu.Unlock()
}

// parkLocked keeps the download's work from being claimed for wait, or
// longer if it waits longer already (why is what Progress says it waits
// out), and has notify wake the scheduler when it may be claimed again.
// d.mu is held.
func (d *Download) parkLocked(wait time.Duration, why error) {
	if until := d.clock.now().Add(wait); until.After(d.notBefore) {
		d.notBefore, d.waitWhy = until, why
	}
	d.clock.afterFunc(wait, d.notify)
}

// Run fetches the task's range, retrying as Config says, and returns when
// the range is complete, the download cannot go on, or ctx is done. The
// last task of a download to return verifies and publishes the file.
//
// A task has no context of its own: each request and each wait before a
// retry gets one (watch), which the download cancels when it stops its
// tasks (stopTasksLocked). For a small file, whose task makes one request,
// that is one context instead of two.
func (t *Task) Run(ctx context.Context) {
	d := t.d
	d.mu.Lock()
	d.running = append(d.running, t)
	d.mu.Unlock()
	err := t.run(ctx)
	if t.mirror && err != nil && !errors.Is(err, errStop) && t.cancelled(ctx) == nil {
		d.mirrorFailed(t, err)
		err = errStop
	}
	d.taskEnded(t, err, ctx)
}

// watchLocked returns a context for one request or wait of t, derived from
// ctx, that stopTasksLocked cancels; call cancel when it is over. It
// returns a nil context if the task was stopped already. d.mu is held.
func (t *Task) watchLocked(ctx context.Context) (context.Context, context.CancelFunc) {
	if t.stopped {
		return nil, nil
	}
	wctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	return wctx, cancel
}

// cancelled returns why t must not go on: ctx's error, or
// context.Canceled once the download stopped it; nil if it may.
func (t *Task) cancelled(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	if t.stopped {
		return context.Canceled
	}
	return nil
}

// stopTasksLocked cancels the running tasks' requests and waits; a task
// stopped stays stopped. d.mu is held.
func (d *Download) stopTasksLocked() {
	for _, t := range d.running {
		t.stopped = true
		if t.cancel != nil {
			t.cancel()
		}
	}
}

// removeRunningLocked forgets t, which has returned. d.mu is held.
func (d *Download) removeRunningLocked(t *Task) {
	for i, r := range d.running {
		if r == t {
			last := len(d.running) - 1
			d.running[i] = d.running[last]
			d.running[last] = nil
			d.running = d.running[:last]
			return
		}
	}
}

func (t *Task) run(ctx context.Context) error {
	d := t.d
	if t.probe {
		if err := d.prepare(t); err != nil {
			if tooManyFiles(err) {
				return d.waitForFD(t, err)
			}
			return &fatalError{err}
		}
	}
	attempts := t.seg.attempts
	for {
		progress, err := t.once(ctx)
		if err == nil || errors.Is(err, errStop) || errors.Is(err, errNotModified) || t.mirror {
			return err // a mirror gets no retry: another source takes its range
		}
		if err := t.cancelled(ctx); err != nil {
			return err
		}
		var fe *fatalError
		var re *restartError
		if errors.As(err, &fe) || errors.As(err, &re) {
			return err
		}
		d.mu.Lock()
		resume, written := d.mayResumeLocked(), d.done.total() > 0
		d.mu.Unlock()
		if written && !resume {
			// Nothing proves that a request for the rest would continue
			// these bytes: start over, once no task runs.
			return &restartError{reason: err, discard: true, single: errors.Is(err, errShort), broken: true}
		}
		if errors.Is(err, errShort) {
			// A server that sends less than asked, all of what it said
			// it would send: not a failure; ask for the rest at once.
			continue
		}
		if tooManyFiles(err) {
			// No socket to be had: not this file's failure. Give the
			// connection back until other downloads close theirs.
			t.seg.attempts = attempts
			return d.waitForFD(t, err)
		}
		// A request that made real progress starts the count again, so a
		// long file on a flaky link is not failed by its length alone.
		if progress >= min(1<<20, d.cfg.MinSegment) {
			attempts = 0
		}
		attempts++
		if attempts > d.cfg.Retries {
			if attempts > 1 {
				return fmt.Errorf("%w, %d times", err, attempts)
			}
			return err
		}
		wait := d.backoff(attempts)
		var ra *retryAfterError
		if errors.As(err, &ra) && ra.wait > 0 {
			wait = ra.wait
		}
		if d.cfg.OnRetry != nil {
			d.cfg.OnRetry(d.spec.Path, attempts, d.cfg.Retries, wait, err)
		}
		if wait >= d.cfg.ParkAfter {
			d.park(t, wait, attempts, err)
			return errParked
		}
		if err := t.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// waitForFD parks the probe until file descriptors may be free again
// (other downloads end and close theirs), a bounded number of times.
func (d *Download) waitForFD(t *Task, err error) error {
	d.mu.Lock()
	d.fdWaits++
	n := d.fdWaits
	var idle *os.File
	named := !d.anon
	if t.probe && d.file != nil && d.done.total() == 0 && !d.journaled {
		// A probe that got no socket has written nothing: its
		// temporary file goes too, so that downloads waiting for
		// descriptors hold no file; the next probe creates it afresh.
		// A file without a name keeps its directory handle (d.dir,
		// shared with the other files there, given back by the next
		// prepare), one descriptor per directory, not per download.
		idle, d.file, d.sized = d.file, nil, false
	}
	d.mu.Unlock()
	if idle != nil {
		idle.Close()
		if named { // a file without a name went with its descriptor
			d.ops.remove(d.root, d.partName())
		}
	}
	if n > fdWaitLimit {
		return &fatalError{fmt.Errorf("%w: %w", errNoFD, err)}
	}
	d.mu.Lock()
	d.parkLocked(max(d.backoff(n), d.cfg.BackoffBase), err)
	d.mu.Unlock()
	return errParked
}

// backoff returns a full-jitter exponential backoff for the n-th retry.
func (d *Download) backoff(n int) time.Duration {
	ceil := d.cfg.BackoffBase << min(n-1, 20)
	if ceil > d.cfg.BackoffMax || ceil <= 0 {
		ceil = d.cfg.BackoffMax
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

type retryAfterError struct {
	err  error
	wait time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }

func (e *retryAfterError) Unwrap() error { return e.err }

// sleep waits for d before t's next attempt; it returns an error, at
// once, if ctx is done or the download stops t first.
func (t *Task) sleep(ctx context.Context, wait time.Duration) error {
	d := t.d
	d.mu.Lock()
	wctx, cancel := t.watchLocked(ctx)
	d.mu.Unlock()
	if wctx == nil {
		return context.Canceled
	}
	defer cancel()
	if !d.clock.sleep(wctx, wait) {
		return t.cancelled(ctx)
	}
	return nil
}

// sleep waits for d on the download's clock; it returns false, at once,
// if ctx is done first.
func (c *clock) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	done := make(chan struct{})
	t := c.afterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// certError reports whether err is a TLS certificate verification failure.
func certError(err error) bool {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}
