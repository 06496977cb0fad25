package segdl

import "time"

// clock is the time a Download reads and waits on. Like x/time/rate's
// wait(ctx, n, now, newTimer), it is an unexported seam: downloads use
// realClock; tests give a fake one, so that Retry-After, backoff, parking
// and the sync interval take no real seconds.
type clock struct {
	now func() time.Time
	// afterFunc calls f in its own goroutine after d, like time.AfterFunc;
	// the returned timer's Stop cancels it (reporting whether it did).
	afterFunc func(d time.Duration, f func()) timer
}

// timer is the part of *time.Timer a Download uses.
type timer interface {
	Stop() bool
}

var realClock = &clock{
	now:       time.Now,
	afterFunc: func(d time.Duration, f func()) timer { return time.AfterFunc(d, f) },
}

// since returns the time elapsed since t.
func (c *clock) since(t time.Time) time.Duration { return c.now().Sub(t) }
