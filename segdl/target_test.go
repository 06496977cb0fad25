package segdl

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"
)

// newRequest builds from a parsed URL the request NewRequestWithContext
// builds from its text: the same URL, Host (an empty port dropped) and
// protocol, so that requests go out as before.
func TestNewRequestIsNewRequestWithContext(t *testing.T) {
	ctx := context.Background()
	for _, raw := range []string{
		"http://example.com/a",
		"https://Example.com:8443/a%20b?x=1&y=%2F",
		"http://example.com:/empty-port",
		"http://[::1]:/v6-empty-port",
		"http://user:pw@example.com/with-userinfo",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		want, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		got := newRequest(ctx, u, http.Header{})
		if got.Method != want.Method || got.URL.String() != want.URL.String() || got.Host != want.Host ||
			got.Proto != want.Proto || got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor || got.Context() != ctx {
			t.Errorf("newRequest(%s) = %s %s Host %q %s; want %s %s Host %q %s", raw,
				got.Method, got.URL, got.Host, got.Proto, want.Method, want.URL, want.Host, want.Proto)
		}
	}
}

// A request's headers are its URL's, which it must not change, plus its
// range and conditions.
func TestConditionsHeader(t *testing.T) {
	base := http.Header{"Accept-Encoding": identity, "X-Token": {"t"}}
	cases := []struct {
		name string
		c    conditions
		want http.Header
	}{
		{"a plain request", conditions{}, http.Header{"Accept-Encoding": {"identity"}, "X-Token": {"t"}}},
		{"a probe", conditions{rng: rangeHeader(0, -1)},
			http.Header{"Accept-Encoding": {"identity"}, "X-Token": {"t"}, "Range": {"bytes=0-"}}},
		{"a range to the end", conditions{rng: rangeHeader(5, -1)},
			http.Header{"Accept-Encoding": {"identity"}, "X-Token": {"t"}, "Range": {"bytes=5-"}}},
		{"a range with its validator", conditions{rng: rangeHeader(0, 4096), ifRange: `"v1"`},
			http.Header{"Accept-Encoding": {"identity"}, "X-Token": {"t"}, "Range": {"bytes=0-4095"}, "If-Range": {`"v1"`}}},
		{"a conditional probe", conditions{rng: rangeHeader(0, -1), ifNoneMatch: `"v0"`, ifModifiedSince: "Mon, 02 Jan 2006 15:04:05 GMT"},
			http.Header{"Accept-Encoding": {"identity"}, "X-Token": {"t"}, "Range": {"bytes=0-"}, "If-None-Match": {`"v0"`},
				"If-Modified-Since": {"Mon, 02 Jan 2006 15:04:05 GMT"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.c.header(base)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("header = %v; want %v", got, c.want)
			}
			got.Add("Range", "bytes=9-") // a Doer may change its request's headers
			if len(base) != 2 || len(base["X-Token"]) != 1 {
				t.Errorf("the URL's headers changed to %v", base)
			}
			if len(probeRange) != 1 || probeRange[0] != "bytes=0-" {
				t.Errorf("the probes' shared Range changed to %v", probeRange)
			}
		})
	}
}

// Progress says until when a parked download waits, and why; nothing once
// the wait is over or for one never parked.
func TestProgressOfAParkedDownload(t *testing.T) {
	d := New(nil, Spec{URLs: []string{"http://example.com/f"}, Path: "f", Size: -1}, &Config{}, nil)
	if p := d.Progress(); !p.WaitUntil.IsZero() || p.WaitFor != nil {
		t.Errorf("never parked: WaitUntil %v, WaitFor %v; want none", p.WaitUntil, p.WaitFor)
	}
	why := &StatusError{Code: 503, URL: "http://example.com/f"}
	for _, c := range []struct {
		name   string
		in     time.Duration
		parked bool
	}{{"parked", time.Hour, true}, {"its wait over", -time.Second, false}} {
		until := time.Now().Add(c.in)
		d.mu.Lock()
		d.notBefore, d.waitWhy = until, why
		d.mu.Unlock()
		p := d.Progress()
		if c.parked && (!p.WaitUntil.Equal(until) || p.WaitFor != error(why)) || !c.parked && !p.WaitUntil.IsZero() {
			t.Errorf("%s: WaitUntil %v, WaitFor %v; want %v", c.name, p.WaitUntil, p.WaitFor, c.parked)
		}
	}
}

// Every wait says what it waits out: a retry's refusal, a restart's
// failure, and descriptors run out, each on a fresh download.
func TestProgressSaysWhatEachWaitIsFor(t *testing.T) {
	refused := &StatusError{Code: 503, URL: "http://example.com/f"}
	cut := errors.New("connection reset")
	noFD := &os.SyscallError{Syscall: "socket", Err: syscall.EMFILE}
	for _, c := range []struct {
		name string
		wait func(*Download)
		why  error
	}{
		{"retry", func(d *Download) { d.park(&Task{d: d, seg: &segment{}}, time.Hour, 1, refused) }, refused},
		{"restart", func(d *Download) {
			d.mu.Lock()
			d.restart = &restartError{reason: &fatalError{cut}, broken: true}
			d.restartLocked()
			d.mu.Unlock()
		}, cut},
		{"descriptors", func(d *Download) { d.waitForFD(&Task{d: d}, noFD) }, noFD},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := New(nil, Spec{URLs: []string{"http://example.com/f"}, Path: "f", Size: -1}, &Config{Retries: 3}, nil)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			d.clock = &clock{now: func() time.Time { return now }, afterFunc: func(time.Duration, func()) timer { return heldTimer{} }}
			c.wait(d)
			if p := d.Progress(); !p.WaitUntil.After(now) || p.WaitFor != c.why {
				t.Errorf("WaitUntil %v, WaitFor %v; want after %v, for %v", p.WaitUntil, p.WaitFor, now, c.why)
			}
		})
	}
}

// A redirect hop's headers are computed without d.mu while a mirror's
// first request fills its target's cached headers under it: headersFor
// must read only what New fixed. The race detector (make test runs with
// -race) fails this test if headersFor copies whole targets again.
func TestHeadersForNeedsNoLock(t *testing.T) {
	d := New(nil, Spec{URLs: []string{"http://a.example/f", "http://b.example/f"}, Path: "f", Size: -1}, &Config{}, nil)
	hop, _ := url.Parse("http://c.example/f")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); d.headersFor(hop, hostPort(hop), 0) }() // a redirect hop, as do() runs it
	go func() { defer wg.Done(); d.mu.Lock(); d.baseHeaderLocked(1); d.mu.Unlock() }()
	wg.Wait()
}

// A target's first request builds its headers in one map; later ones copy
// the target's cached headers and add their conditions. Both ways give
// the same headers, whatever the configuration.
func TestFirstRequestHeadersAreTheCachedOnes(t *testing.T) {
	cfg := &Config{
		UserAgent:     "ua/1",
		Header:        http.Header{"X-Global": {"g"}, "X-Api-Key": {"k"}},
		Credentials:   http.Header{"X-From-Env": {"e"}},
		HostHeader:    func(hp string) http.Header { return http.Header{"X-Host": {hp}} },
		Authorization: func(string) string { return "Basic bmV0cmM=" },
	}
	d := New(nil, Spec{URLs: []string{"http://a.example/f", "http://b.example:81/f"}, Path: "f", Size: -1,
		Header: http.Header{"X-File": {"f"}}}, cfg, nil)
	hop, _ := url.Parse("http://other.example/f") // not listed: no credentials
	for _, u := range []*url.URL{d.targets[0].u, d.targets[1].u, hop} {
		for _, c := range []conditions{{}, {rng: rangeHeader(0, -1)}, {rng: rangeHeader(9, 100), ifRange: `"v"`},
			{rng: rangeHeader(0, -1), ifNoneMatch: `"v0"`, ifModifiedSince: "Mon, 02 Jan 2006 15:04:05 GMT"}} {
			first := d.requestHeader(u, hostPort(u), &c)
			later := c.header(d.requestHeader(u, hostPort(u), nil))
			if !reflect.DeepEqual(first, later) {
				t.Errorf("%s %+v: first request's headers %v; later ones' %v", u, c, first, later)
			}
			if first.Get("User-Agent") != "ua/1" || first.Get("Accept-Encoding") != "identity" {
				t.Errorf("%s: headers %v lack the User-Agent or Accept-Encoding", u, first)
			}
		}
	}
}
