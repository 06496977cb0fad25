package segdl

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// stall is the stall timeout of a Task's current request: a request that
// receives no byte for d is cancelled. A Task keeps one for its requests
// (startStall); a stallWatch does the timing.
type stall struct {
	d      time.Duration
	w      *stallWatch
	cancel context.CancelFunc
	// req counts the task's requests; fired is the number of the request
	// the watch cut, so that a cut as a request ends does not mark the
	// task's next request as stalled.
	req   uint64
	fired atomic.Uint64
	// moved changes whenever bytes arrive (and on resume); paused is set
	// while the task waits for its bandwidth limiter, which is no stall.
	moved  atomic.Uint64
	paused atomic.Bool

	// Under w.mu: the moved count at the watch's last look, when it
	// changed last, and the request's index in w.watched (-1 if none).
	seen  uint64
	since time.Time
	at    int
}

// startStall starts the stall timeout of a new request of t, which cancel
// ends, and returns it; stop it when the request is over.
func (t *Task) startStall(d time.Duration, cancel context.CancelFunc) *stall {
	s := &t.stall
	s.d, s.w, s.cancel = d, t.d.stalls, cancel
	s.req++
	s.paused.Store(false)
	if d > 0 {
		s.w.add(s)
	}
	return s
}

// progress says bytes arrived.
func (s *stall) progress() { s.moved.Add(1) }

// pause stops the timeout while the task waits for its limiter or for
// room at a host; resume starts it again from the full timeout.
func (s *stall) pause() { s.paused.Store(true) }

func (s *stall) resume() {
	s.paused.Store(false)
	s.moved.Add(1)
}

// stop ends the timeout: the request is over.
func (s *stall) stop() {
	if s.d > 0 {
		s.w.remove(s)
	}
}

// stallWatch times the stall timeouts of the requests it watches. Instead
// of a timer per request, reset by every read, one check looks at every
// watched request's moved count now and then: a request whose count has
// not changed for its timeout is cancelled. The check runs every eighth of
// the shortest timeout watched, so a stall is cut between its timeout and
// a quarter more after its last byte. It runs as a callback of its clock,
// only while requests are watched: the watch has no goroutine of its own.
type stallWatch struct {
	now       func() time.Time
	afterFunc func(time.Duration, func()) timer

	mu      sync.Mutex
	watched []*stall
	next    timer // the check scheduled, or nil
	tick    time.Duration
}

// realStalls watches the requests of every Download, on the real clock.
var realStalls = newStallWatch(realClock)

func newStallWatch(c *clock) *stallWatch {
	return &stallWatch{now: c.now, afterFunc: c.afterFunc}
}

// add watches s, as of now.
func (w *stallWatch) add(s *stall) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// The first check to see s sets its since: no clock read here.
	s.seen = s.moved.Load() - 1
	s.at = len(w.watched)
	w.watched = append(w.watched, s)
	if tick := stallTick(s.d); w.next == nil || tick < w.tick {
		if w.next == nil || w.next.Stop() {
			w.tick = tick
			w.next = w.afterFunc(tick, w.check)
		}
	}
}

// remove stops watching s, if it is watched.
func (w *stallWatch) remove(s *stall) {
	w.mu.Lock()
	if s.at >= 0 && s.at < len(w.watched) && w.watched[s.at] == s {
		w.removeLocked(s.at)
	}
	w.mu.Unlock()
}

func (w *stallWatch) removeLocked(i int) {
	last := len(w.watched) - 1
	gone := w.watched[i]
	w.watched[i] = w.watched[last]
	w.watched[i].at = i
	w.watched[last] = nil
	w.watched = w.watched[:last]
	gone.at = -1 // after the move: it may have been the last
}

// check cuts the watched requests that have received nothing for their
// timeout, and schedules the next check while any is left.
func (w *stallWatch) check() {
	var cut []context.CancelFunc
	w.mu.Lock()
	now := w.now()
	var tick time.Duration
	for i := 0; i < len(w.watched); {
		s := w.watched[i]
		if m := s.moved.Load(); m != s.seen || s.paused.Load() {
			s.seen, s.since = m, now
		} else if now.Sub(s.since) >= s.d {
			s.fired.Store(s.req)
			cut = append(cut, s.cancel) // its own: the task may start another request
			w.removeLocked(i)
			continue
		}
		if t := stallTick(s.d); tick == 0 || t < tick {
			tick = t
		}
		i++
	}
	w.next = nil
	if len(w.watched) > 0 {
		w.tick = tick
		w.next = w.afterFunc(tick, w.check)
	}
	w.mu.Unlock()
	for _, cancel := range cut {
		cancel()
	}
}

// stallTick is how often a timeout of d is checked.
func stallTick(d time.Duration) time.Duration { return max(d/8, time.Millisecond) }
