package segdl

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// jumpClock is a clock on which every wait ends at once: the time jumps
// forward by the wait. Tests of Retry-After and backoff run on it in no
// real time and read how much time the download waited.
type jumpClock struct {
	mu     sync.Mutex
	t      time.Time
	waited time.Duration
}

func newJumpClock() *jumpClock { return &jumpClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (j *jumpClock) clock() *clock {
	return &clock{
		now: func() time.Time {
			j.mu.Lock()
			defer j.mu.Unlock()
			return j.t
		},
		afterFunc: func(d time.Duration, f func()) timer {
			j.mu.Lock()
			j.t = j.t.Add(d)
			j.waited += d
			j.mu.Unlock()
			go f()
			return firedTimer{}
		},
	}
}

func (j *jumpClock) total() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.waited
}

// firedTimer is a timer that has fired: it cannot be stopped.
type firedTimer struct{}

func (firedTimer) Stop() bool { return false }

func TestWaitsAreOnTheClock(t *testing.T) {
	const size = 100 << 10
	cases := []struct {
		name      string
		fault     segdltest.Fault
		cfg       func(*Config)
		min, max  time.Duration // the time waited, on the clock
		wantTries int
	}{
		{name: "a long Retry-After is honoured", fault: segdltest.Fault{Kind: segdltest.Status, Code: 429, RetryAfter: "120"},
			cfg: func(c *Config) { c.MaxRetryAfter = time.Hour }, min: 120 * time.Second, max: 120 * time.Second, wantTries: 2},
		{name: "Retry-After is capped by MaxRetryAfter", fault: segdltest.Fault{Kind: segdltest.Status, Code: 503, RetryAfter: "86400"},
			cfg: func(c *Config) { c.MaxRetryAfter = time.Minute }, min: time.Minute, max: time.Minute, wantTries: 2},
		{name: "backoff stays under its ceilings", fault: segdltest.Fault{Kind: segdltest.Status, Code: 503},
			cfg: func(c *Config) { c.BackoffBase, c.BackoffMax = 10*time.Second, 20*time.Second }, max: 10*time.Second + 20*time.Second, wantTries: 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			data := segdltest.Content(1, size)
			srv.PutBytes("/f", data)
			srv.Fault = func(_ *http.Request, n int64) segdltest.Fault {
				if n < int64(c.wantTries) {
					return c.fault
				}
				return segdltest.Fault{}
			}
			cfg := testConfig()
			c.cfg(cfg)
			jc := newJumpClock()
			start := time.Now()
			r := fetchWith(t, "", withSum(Spec{URLs: []string{srv.URLOf("/f")}, Size: size}, data), cfg, 1, func(d *Download) { d.clock = jc.clock() })
			if r.err != nil || sha(r.data) != sha(data) {
				t.Fatalf("download = %v; want the file", r.err)
			}
			if waited := jc.total(); waited < c.min || waited > c.max {
				t.Errorf("waited %v on the clock; want %v to %v", waited, c.min, c.max)
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("took %v of real time; want the waits on the clock only", el)
			}
			if n := len(srv.Requests()); n != c.wantTries {
				t.Errorf("%d requests; want %d", n, c.wantTries)
			}
		})
	}
}

// The sync interval is read on the clock: a clock that stands still never
// reaches it, one that races past it checkpoints as the bytes come.
func TestSyncIntervalIsOnTheClock(t *testing.T) {
	for _, c := range []struct {
		name string
		step time.Duration // how far the clock moves at each reading
		some bool          // journal writes expected
	}{{"a clock that stands still", 0, false}, {"a clock past the interval at every reading", time.Hour, true}} {
		t.Run(c.name, func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			srv.RatePerConn.Store(8 << 20)
			data := segdltest.Content(5, 2<<20)
			srv.PutBytes("/f", data)
			cfg := testConfig()
			cfg.SyncBytes, cfg.SyncInterval = 1<<40, time.Minute
			o := &order{}
			var mu sync.Mutex
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			clk := &clock{
				now: func() time.Time {
					mu.Lock()
					defer mu.Unlock()
					now = now.Add(c.step)
					return now
				},
				afterFunc: realClock.afterFunc,
			}
			r := fetchWith(t, "", Spec{URLs: []string{srv.URLOf("/f")}}, cfg, 2, func(d *Download) { d.ops, d.clock = o.ops(), clk })
			if r.err != nil || sha(r.data) != sha(data) {
				t.Fatalf("download: %v", r.err)
			}
			if got := o.journals > 0; got != c.some {
				t.Errorf("%d journal writes; want some: %v", o.journals, c.some)
			}
		})
	}
}
