package segdl

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"
)

// manualClock is a clock whose time moves only when a test advances it;
// afterFunc's functions run, in the advancing goroutine, once their time
// has come.
type manualClock struct {
	mu  sync.Mutex
	t   time.Time
	due []*manualTimer
}

type manualTimer struct {
	c    *manualClock
	at   time.Time
	f    func()
	done bool
}

func (m *manualTimer) Stop() bool {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	stopped := !m.done
	m.done = true
	return stopped
}

func newManualClock() *manualClock {
	return &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *manualClock) clock() *clock {
	return &clock{
		now: func() time.Time {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.t
		},
		afterFunc: func(d time.Duration, f func()) timer {
			c.mu.Lock()
			defer c.mu.Unlock()
			m := &manualTimer{c: c, at: c.t.Add(d), f: f}
			c.due = append(c.due, m)
			return m
		},
	}
}

// advance moves the time on by d in steps, running what falls due.
func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	end := c.t.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.Slice(c.due, func(i, j int) bool { return c.due[i].at.Before(c.due[j].at) })
		var next *manualTimer
		for len(c.due) > 0 && c.due[0].done {
			c.due = c.due[1:]
		}
		if len(c.due) > 0 && !c.due[0].at.After(end) {
			next, c.due = c.due[0], c.due[1:]
			next.done = true
			c.t = next.at
		} else {
			c.t = end
		}
		c.mu.Unlock()
		if next == nil {
			return
		}
		next.f()
	}
}

// pending is how many functions wait to run.
func (c *manualClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.due {
		if !m.done {
			n++
		}
	}
	return n
}

// stallRig is one task's stall timeout on a watch with a manual clock.
type stallRig struct {
	clk *manualClock
	t   *Task
	s   *stall
	ctx context.Context
}

func newStallRig(d time.Duration) *stallRig {
	clk := newManualClock()
	dl := &Download{stalls: newStallWatch(clk.clock())}
	t := &Task{d: dl}
	ctx, cancel := context.WithCancel(context.Background())
	return &stallRig{clk: clk, t: t, s: t.startStall(d, cancel), ctx: ctx}
}

func (r *stallRig) cut() bool { return r.ctx.Err() != nil }

// cutOnTime checks that, counted from now (since says from what), the
// request is not cut just before its timeout d and is cut a quarter past it.
func (r *stallRig) cutOnTime(t *testing.T, d time.Duration, since string) {
	t.Helper()
	r.clk.advance(d - time.Millisecond)
	if r.cut() {
		t.Fatal("cut before the timeout" + since)
	}
	r.clk.advance(d/4 + time.Millisecond)
	if !r.cut() {
		t.Fatal("not cut a quarter past the timeout" + since)
	}
}

// A request's stall timeout, timed by the shared watch on injected time:
// cut once nothing has arrived for the timeout (within a quarter more),
// never while bytes arrive or while the task waits for its limiter, never
// after the request ended; and only the request cut says it stalled.
func TestStallWatch(t *testing.T) {
	const d = 8 * time.Second
	t.Run("a request that receives nothing is cut after the timeout", func(t *testing.T) {
		r := newStallRig(d)
		r.cutOnTime(t, d, "")
		if err := r.s.explain(context.Canceled, "waiting for the response"); err == nil || err.Error() != "no data for 8s waiting for the response" {
			t.Errorf("explain = %v; want no data for 8s waiting for the response", err)
		}
	})
	t.Run("bytes arriving keep a request going", func(t *testing.T) {
		r := newStallRig(d)
		for range 60 {
			r.clk.advance(time.Second)
			r.s.progress()
		}
		if r.cut() {
			t.Fatal("cut while bytes arrived every second")
		}
		r.cutOnTime(t, d, " after the last byte")
	})
	t.Run("waiting for the limiter is no stall", func(t *testing.T) {
		r := newStallRig(d)
		r.s.pause()
		r.clk.advance(10 * d)
		if r.cut() {
			t.Fatal("cut while waiting for the limiter")
		}
		r.s.resume()
		r.cutOnTime(t, d, " after the wait")
	})
	t.Run("a request that ended is never cut, and the watch stops", func(t *testing.T) {
		r := newStallRig(d)
		r.clk.advance(d / 2)
		r.s.stop()
		r.clk.advance(10 * d)
		if r.cut() {
			t.Fatal("cut after it ended")
		}
		if n := r.clk.pending(); n != 0 {
			t.Errorf("%d checks still scheduled with nothing watched; want none", n)
		}
	})
	t.Run("the next request of a task cut is not marked as stalled", func(t *testing.T) {
		r := newStallRig(d)
		r.clk.advance(2 * d)
		if !r.cut() {
			t.Fatal("not cut")
		}
		r.s.stop()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s := r.t.startStall(d, cancel)
		defer s.stop()
		other := errors.New("connection reset")
		if err := s.explain(other, "after 1 B of 2 B"); !errors.Is(err, other) {
			t.Errorf("explain = %v for a request that was not cut; want its own error", err)
		}
		if ctx.Err() != nil {
			t.Error("the next request was cancelled")
		}
	})
	t.Run("a shorter timeout is checked at its own pace", func(t *testing.T) {
		clk := newManualClock()
		dl := &Download{stalls: newStallWatch(clk.clock())}
		_, cancelLong := context.WithCancel(context.Background())
		defer cancelLong()
		long := (&Task{d: dl}).startStall(time.Hour, cancelLong)
		defer long.stop()
		ctx, cancel := context.WithCancel(context.Background())
		short := (&Task{d: dl}).startStall(d, cancel)
		defer short.stop()
		clk.advance(d + d/4 + time.Millisecond)
		if ctx.Err() == nil {
			t.Fatal("the short timeout was not cut a quarter past it: checked at the long one's pace")
		}
	})
}
