package scheduler

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// testFile is one entry of a test manifest.
type testFile struct {
	url     string
	mirrors []string
	data    []byte
	fails   bool // expected to fail
}

// testSource is a Source over test files downloading into dir.
type testSource struct {
	t     *testing.T
	root  *os.Root
	files []testFile
	cfg   *segdl.Config

	mu    sync.Mutex
	order []int // in the order files finished
	errs  map[int]error
}

func (s *testSource) Len() int { return len(s.files) }
func (s *testSource) Host(i int) string {
	u, _ := url.Parse(s.files[i].url)
	return u.Host
}
func (s *testSource) Start(i int, notify func()) *segdl.Download {
	sum := sha256.Sum256(s.files[i].data)
	return segdl.New(s.root, segdl.Spec{URLs: append([]string{s.files[i].url}, s.files[i].mirrors...), Path: fmt.Sprintf("f%05d", i), Size: -1, Hash: sha256.New, Sum: sum[:]}, s.cfg, notify)
}
func (s *testSource) Finished(i int, d *segdl.Download) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.order = append(s.order, i)
	if err := d.Err(); err != nil {
		s.errs[i] = err
	}
}

// run downloads files under cfg and checks every byte on disk. The
// returned transport counts requests in flight on the client side.
func run(t *testing.T, cfg Config, files []testFile, tweak func(*segdl.Config)) (*testSource, *Scheduler, *segdltest.CountingTransport) {
	t.Helper()
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	s := New(cfg)
	ct := &segdltest.CountingTransport{RT: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}}
	scfg := &segdl.Config{
		Client:      segdl.NewClient(ct),
		MinSegment:  64 << 10,
		Retries:     5,
		ChunkSize:   32 << 10,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, MaxRetryAfter: 10 * time.Millisecond,
		Limiter: s.Limiter, OnSuccess: s.OnSuccess, OnThrottle: s.OnThrottle,
	}
	if tweak != nil {
		tweak(scfg)
	}
	src := &testSource{t: t, root: root, files: files, cfg: scfg, errs: map[int]error{}}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Run(ctx, src); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(src.order) != len(files) {
		t.Fatalf("%d files reported finished; want %d", len(src.order), len(files))
	}
	for i, f := range files {
		if f.fails {
			if src.errs[i] == nil {
				t.Errorf("file %d did not fail", i)
			}
			continue
		}
		if err := src.errs[i]; err != nil {
			t.Errorf("file %d failed: %v", i, err)
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)))
		if err != nil || sha256.Sum256(got) != sha256.Sum256(f.data) {
			t.Errorf("file %d: bytes on disk differ (%v)", i, err)
		}
	}
	return src, s, ct
}

// serve puts n files of size bytes on srv and returns them.
func serve(srv *segdltest.Server, prefix string, n, size int) []testFile {
	var out []testFile
	for i := range n {
		data := segdltest.Content(uint64(i+len(prefix)*1000), size)
		p := fmt.Sprintf("/%s%d", prefix, i)
		srv.PutBytes(p, data)
		out = append(out, testFile{url: srv.URLOf(p), data: data})
	}
	return out
}

func TestBudgetHoldsAcrossHosts(t *testing.T) {
	var g segdltest.Gauge
	a, b := segdltest.NewServer(), segdltest.NewServer()
	defer a.Close()
	defer b.Close()
	for _, srv := range []*segdltest.Server{a, b} {
		srv.Shared = &g
		srv.RatePerConn.Store(2 << 20)
		srv.Latency = 5 * time.Millisecond
	}
	files := append(serve(a, "big", 2, 1<<20), serve(a, "small", 20, 16<<10)...)
	files = append(files, serve(b, "big", 2, 1<<20)...)
	files = append(files, serve(b, "small", 20, 16<<10)...)
	_, _, ct := run(t, Config{Connections: 6, PerHost: 4, PerFile: 3}, files, nil)
	if p := ct.Gauge.Peak(); p != 6 {
		t.Errorf("peak requests in flight = %d; want the whole budget of 6 used, never more", p)
	}
	// A server sees an abandoned response end a moment after bulkdl closed
	// it (see CountingTransport), so its own peak is an upper bound only
	// up to that lag; the client's count above is exact.
	if p := g.Peak(); p < 5 {
		t.Errorf("servers saw at most %d requests at once; want the budget used", p)
	}
}

func TestPerFileCap(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(2 << 20)
	_, _, ct := run(t, Config{Connections: 8, PerHost: 8, PerFile: 3}, serve(srv, "f", 1, 2<<20), nil)
	if p := ct.Gauge.Peak(); p != 3 {
		t.Errorf("peak for one file = %d; want per_file 3", p)
	}
}

func TestHostCapOverride(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(1 << 20)
	host := srv.Listener.Addr().String()
	cfg := Config{Connections: 8, PerHost: 8, HostCap: func(h string) int {
		if h == host {
			return 2
		}
		return 0
	}}
	_, _, ct := run(t, cfg, serve(srv, "f", 6, 64<<10), nil)
	if p := ct.Gauge.Peak(); p != 2 {
		t.Errorf("peak = %d; want the host's own cap 2", p)
	}
}

// TestLargeFileDoesNotEndAlone: a large file first and small ones after.
// Left to one connection, the large file would end alone after the small
// ones; split early, it ends before them, and the small files, which
// cannot be split, fill the end.
func TestLargeFileDoesNotEndAlone(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(1 << 20)
	files := append(serve(srv, "big", 1, 2<<20), serve(srv, "small", 24, 100<<10)...)
	src, _, _ := run(t, Config{Connections: 3, PerHost: 3, PerFile: 3}, files, nil)
	if last := src.order[len(src.order)-1]; last == 0 {
		t.Errorf("finish order %v; want the large file (0) to end before the last small files", src.order)
	}
}

func TestHostAtCapDoesNotBlockOthers(t *testing.T) {
	slow, fast := segdltest.NewServer(), segdltest.NewServer()
	defer slow.Close()
	defer fast.Close()
	slow.RatePerConn.Store(256 << 10)
	fast.RatePerConn.Store(1 << 20)
	slowHost := slow.Listener.Addr().String()
	files := append(serve(slow, "s", 4, 64<<10), serve(fast, "f", 8, 64<<10)...)
	cfg := Config{Connections: 4, PerHost: 4, HostCap: func(h string) int {
		if h == slowHost {
			return 1
		}
		return 0
	}}
	src, _, _ := run(t, cfg, files, nil)
	for _, i := range src.order[len(src.order)-2:] {
		if i >= 4 {
			t.Errorf("finish order %v; a fast-host file (>=4) finished among the last", src.order)
		}
	}
	if p := fast.Stats().PeakInFlight; p < 3 {
		t.Errorf("fast host peak = %d; want it to use the budget the slow host cannot", p)
	}
}

func TestThrottledHostIsSlowedDown(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.Fault = func(r *http.Request, n int64) segdltest.Fault {
		if n <= 3 {
			return segdltest.Fault{Kind: segdltest.Status, Code: 429, RetryAfter: "0"}
		}
		return segdltest.Fault{}
	}
	// The cap climbs a step after 4 x cap answers in a row since the last
	// 429: 80 files leave room for that however the 429s interleave.
	_, s, _ := run(t, Config{Connections: 8, PerHost: 8}, serve(srv, "f", 80, 4<<10), nil)
	hs := s.Hosts()
	if len(hs) != 1 || hs[0].MinCap >= hs[0].ConfigCap {
		t.Fatalf("hosts = %+v; want the cap lowered after 429s", hs)
	}
	if hs[0].Cap <= hs[0].MinCap {
		t.Errorf("cap = %d after the 429s stopped; want it to climb back above %d", hs[0].Cap, hs[0].MinCap)
	}
}

func TestRateCapHolds(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	files := serve(srv, "f", 4, 256<<10)
	const rate = 2 << 20
	start := time.Now()
	run(t, Config{Connections: 4, Rate: rate, Burst: 32 << 10}, files, nil)
	// The limiter can only be beaten by its burst; this fails only if it
	// does not limit at all.
	if min := time.Duration(float64(4*256<<10-32<<10) / rate * float64(time.Second)); time.Since(start) < min {
		t.Errorf("1 MiB at a 2 MiB/s cap took %v; want at least %v", time.Since(start), min)
	}
}

func TestInterruptStopsEverything(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(256 << 10)
	files := serve(srv, "f", 10, 1<<20)
	root, _ := os.OpenRoot(t.TempDir())
	defer root.Close()
	s := New(Config{Connections: 4})
	src := &testSource{t: t, root: root, files: files, errs: map[int]error{},
		cfg: &segdl.Config{Client: segdl.NewClient(http.DefaultTransport), MinSegment: 64 << 10}}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx, src); err != context.DeadlineExceeded {
		t.Errorf("Run = %v; want the context's error", err)
	}
	if n := s.InFlight(); n != 0 {
		t.Errorf("%d requests still in flight after Run returned", n)
	}
}

// TestWaitingForRetryAfterFreesTheConnection: a host that answers 429 with
// Retry-After must not hold a budget slot while it waits; another host
// gets the whole budget meanwhile. The wait is capped (MaxRetryAfter) to
// 800 ms, above ParkAfter, so the retry parks as a long one would, in a
// fraction of the time (segdl's own tests check long waits on its clock).
func TestWaitingForRetryAfterFreesTheConnection(t *testing.T) {
	throttled, other := segdltest.NewServer(), segdltest.NewServer()
	defer throttled.Close()
	defer other.Close()
	throttled.Fault = func(r *http.Request, n int64) segdltest.Fault {
		if n == 1 {
			return segdltest.Fault{Kind: segdltest.Status, Code: 429, RetryAfter: "2"}
		}
		return segdltest.Fault{}
	}
	other.RatePerConn.Store(1 << 20)
	files := append(serve(throttled, "t", 1, 4<<10), serve(other, "o", 8, 64<<10)...)
	src, _, _ := run(t, Config{Connections: 2, PerHost: 2}, files, func(c *segdl.Config) {
		c.MaxRetryAfter, c.ParkAfter = 800*time.Millisecond, 100*time.Millisecond
	})
	if last := src.order[len(src.order)-1]; last != 0 {
		t.Errorf("finish order %v; want the throttled host's file (0) last", src.order)
	}
	if p := other.Stats().PeakInFlight; p != 2 {
		t.Errorf("the other host had at most %d requests at once; want the whole budget of 2 while the throttled one waited", p)
	}
	if n := len(throttled.Requests()); n != 2 {
		t.Errorf("throttled host saw %d requests; want the 429 and one retry after Retry-After", n)
	}
}

// TestFilesWaitingToBePublishedHoldNoConnection: a Publisher that flushes
// only once every file has joined its batch can finish only if a verified
// file gives its connection back while it waits; and each file is
// reported once it is published, before Run returns.
func TestFilesWaitingToBePublishedHoldNoConnection(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	files := serve(srv, "f", 12, 4<<10)
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var mu sync.Mutex
	published := 0
	pub := segdl.NewPublisher(root, segdl.PublisherConfig{Wait: time.Hour, Max: len(files), Published: func(ds []*segdl.Download) {
		mu.Lock()
		published += len(ds)
		mu.Unlock()
	}})
	defer pub.Close()
	s := New(Config{Connections: 2, PerHost: 2})
	src := &testSource{t: t, root: root, files: files, errs: map[int]error{},
		cfg: &segdl.Config{Client: segdl.NewClient(http.DefaultTransport), Publisher: pub}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Run(ctx, src); err != nil {
		t.Fatalf("Run = %v; want every file published (a waiting file held its connection?)", err)
	}
	if len(src.order) != len(files) || published != len(files) {
		t.Fatalf("%d files reported, %d published; want %d", len(src.order), published, len(files))
	}
	for i, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)))
		if err != nil || sha256.Sum256(got) != sha256.Sum256(f.data) {
			t.Errorf("file %d: bytes on disk differ (%v)", i, err)
		}
	}
}

// TestRedirectsAreChargedToTheirTarget: every file's URL redirects to a
// target whose cap is 2 and which refuses a third request in flight.
// Probes and redirect hops are charged to the host they go to, so the
// target never sees more than its cap.
func TestRedirectsAreChargedToTheirTarget(t *testing.T) {
	origin, target := segdltest.NewServer(), segdltest.NewServer()
	defer origin.Close()
	defer target.Close()
	target.RatePerConn.Store(2 << 20)
	target.MaxInFlight = 2
	target.RefuseGrace = 20 * time.Millisecond // see TestAbandonedResponsesLeaveNoGhosts
	origin.Fault = func(r *http.Request, _ int64) segdltest.Fault {
		return segdltest.Fault{Kind: segdltest.Redirect, Location: target.URLOf(r.URL.Path)}
	}
	// Small files (probes only) and large ones (ranges to the target too).
	files := append(serve(target, "f", 8, 96<<10), serve(target, "g", 2, 512<<10)...)
	for i := range files {
		u, _ := url.Parse(files[i].url)
		files[i].url = origin.URLOf(u.Path)
	}
	targetHost := target.Listener.Addr().String()
	cfg := Config{Connections: 8, PerHost: 8, HostCap: func(h string) int {
		if h == targetHost {
			return 2
		}
		return 0
	}}
	run(t, cfg, files, nil)
	if st := target.Stats(); st.Refused > 0 || st.PeakInFlight != 2 {
		t.Errorf("target with connections = 2: %d requests refused for a third in flight, peak %d; want 0 refused, peak 2", st.Refused, st.PeakInFlight)
	}
}

// TestPushbackConverges: an origin refuses anything beyond 4 requests in
// flight with 503 and Retry-After. The host's cap settles on the 4 it
// accepts, not below, and the refusals stay within the budget.
func TestPushbackConverges(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.MaxInFlight = 4
	srv.RefuseRetryAfter = "1"
	// As the other refusing origins here and bulkdl-origin: a request
	// waits a moment for room, the time a server takes to notice that a
	// client closed a connection, so that a response the client already
	// abandoned is not counted against it (on a loaded machine it was,
	// and the cap fell to 3).
	srv.RefuseGrace = 20 * time.Millisecond
	srv.RatePerConn.Store(2 << 20)
	_, s, _ := run(t, Config{Connections: 12, PerHost: 12, PerFile: 12}, serve(srv, "f", 6, 1<<20), nil)
	st := srv.Stats()
	hs := s.Hosts()
	if st.Refused > 12 {
		t.Errorf("%d requests refused; want at most the budget, 12", st.Refused)
	}
	if len(hs) != 1 || hs[0].MinCap < 3 || hs[0].Cap > 5 {
		t.Errorf("hosts = %+v; want the cap to settle near the 4 the origin accepts", hs)
	}
	if st.PeakInFlight != 4 {
		t.Errorf("origin peak = %d; want the 4 it accepts used", st.PeakInFlight)
	}
}

// TestAbandonedResponsesLeaveNoGhosts: in a run that splits ranges all the
// time, an origin that enforces the budget as its own limit refuses
// nothing: a response cut short by a split closes its connection at once,
// before the next request is sent.
func TestAbandonedResponsesLeaveNoGhosts(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.MaxInFlight = 4
	// The origin learns that a client closed a connection a moment after
	// it did; a drained response (a ghost) lasts far longer.
	srv.RefuseGrace = 20 * time.Millisecond
	srv.RatePerConn.Store(2 << 20)
	srv.Fault = func(_ *http.Request, n int64) segdltest.Fault {
		// Uneven first-byte delays make ranges end at different times:
		// each end is a split, each split an abandoned response.
		return segdltest.Fault{Kind: segdltest.SlowHeaders, Delay: time.Duration(n%5) * 15 * time.Millisecond}
	}
	run(t, Config{Connections: 4, PerHost: 4, PerFile: 4}, serve(srv, "f", 2, 4<<20), nil)
	st := srv.Stats()
	splits := 0
	for _, r := range srv.Requests() {
		if !strings.HasPrefix(r.Header.Get("Range"), "bytes=0-") {
			splits++
		}
	}
	if st.Refused > 0 {
		t.Errorf("origin limited to the budget of 4 refused %d requests; want none", st.Refused)
	}
	if splits < 6 {
		t.Errorf("%d ranges split off; want a split-heavy run", splits)
	}
}

// TestLargeFileSplitEarly: a large file followed by many small ones gets
// more connections before the small files have all started, so that it
// does not end alone after them.
func TestLargeFileSplitEarly(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(4 << 20)
	srv.Latency = time.Millisecond
	files := append(serve(srv, "big", 1, 2<<20), serve(srv, "small", 40, 32<<10)...)
	run(t, Config{Connections: 4, PerHost: 4, PerFile: 4}, files, nil)
	split, lastSmall := -1, -1
	for k, r := range srv.Requests() {
		switch {
		case r.Path == "/big0" && !strings.HasPrefix(r.Header.Get("Range"), "bytes=0-") && split < 0:
			split = k
		case strings.HasPrefix(r.Path, "/small"):
			lastSmall = k
		}
	}
	if split < 0 || split > lastSmall {
		t.Errorf("first range of the large file after the start at request %d, last small file at %d; want the large file split before the small files have all started", split, lastSmall)
	}
}

// TestMirrorsInParallelWithinHostCaps: three origins of different speeds
// list the same file; the third serves another version. Ranges come from
// the first two at once, each within its host's cap of 2 (each origin
// refuses a third request in flight), and no byte of the third version
// reaches the file.
func TestMirrorsInParallelWithinHostCaps(t *testing.T) {
	data := segdltest.Content(7, 3<<20)
	v1 := &segdltest.File{Data: data, ETag: `"v1"`, LastModified: time.Unix(1700000000, 0)}
	slow, fast, other := segdltest.NewServer(), segdltest.NewServer(), segdltest.NewServer()
	defer slow.Close()
	defer fast.Close()
	defer other.Close()
	slow.Put("/f", v1)
	fast.Put("/f", v1)
	other.Put("/f", &segdltest.File{Data: segdltest.Content(8, 3<<20), ETag: `"v2"`, LastModified: time.Unix(1700000000, 0)})
	slow.RatePerConn.Store(512 << 10)
	fast.RatePerConn.Store(2 << 20)
	other.RatePerConn.Store(4 << 20)
	for _, srv := range []*segdltest.Server{slow, fast, other} {
		srv.MaxInFlight = 2
		srv.RefuseGrace = 20 * time.Millisecond // see TestAbandonedResponsesLeaveNoGhosts
	}
	files := []testFile{{url: slow.URLOf("/f"), mirrors: []string{fast.URLOf("/f"), other.URLOf("/f")}, data: data}}
	_, _, ct := run(t, Config{Connections: 8, PerHost: 2, PerFile: 8}, files, nil)
	for name, srv := range map[string]*segdltest.Server{"slow": slow, "fast": fast, "other": other} {
		if n := srv.Stats().Refused; n > 0 {
			t.Errorf("%s origin refused %d requests beyond its cap of 2; want none", name, n)
		}
	}
	if sf, ff := slow.Stats().BytesSent, fast.Stats().BytesSent; sf == 0 || ff <= sf {
		t.Errorf("bytes sent: slow source %d, fast mirror %d; want both used, the fast one more", sf, ff)
	}
	if p := ct.Gauge.Peak(); p < 4 {
		t.Errorf("peak requests in flight = %d; want the two agreeing hosts' caps used together", p)
	}
}

// TestRefusalSetsTheCapToWhatTheHostAccepted drives the slots by hand:
// six requests in flight, two refused: the cap becomes the four still in
// flight, and a refused request that tries again waits for one of them to
// end.
func TestRefusalSetsTheCapToWhatTheHostAccepted(t *testing.T) {
	s := New(Config{Connections: 12, PerHost: 12})
	const host = "origin.example:80"
	var slots []*slot
	for range 6 {
		sl := &slot{s: s}
		if err := sl.Send(t.Context(), host); err != nil {
			t.Fatal(err)
		}
		slots = append(slots, sl)
	}
	slots[4].Answered(http.StatusOK)
	slots[5].Answered(http.StatusServiceUnavailable)
	slots[3].Answered(http.StatusTooManyRequests)
	hs := s.Hosts()
	if hs[0].Cap != 4 || hs[0].InFlight != 4 || hs[0].Refusals != 2 {
		t.Fatalf("after 2 of 6 refused: %+v; want cap 4, 4 in flight, 2 refusals", hs[0])
	}
	done := make(chan error)
	go func() { done <- slots[5].Send(t.Context(), host) }()
	for waiting := 0; waiting == 0; {
		s.mu.Lock()
		waiting = len(s.hosts[host].waiters)
		s.mu.Unlock()
		runtime.Gosched()
	}
	select {
	case err := <-done:
		t.Fatalf("a refused request was sent again while the host was at its cap (err %v)", err)
	default:
	}
	s.mu.Lock()
	s.releaseLocked(slots[0].h) // one accepted request ends
	slots[0].h = nil
	s.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatalf("Send after a request ended = %v", err)
	}
	if hs := s.Hosts(); hs[0].InFlight != 4 {
		t.Errorf("in flight = %d; want 4, the cap", hs[0].InFlight)
	}
}

// TestWaitingForARedirectTargetIsNoStall: a file's URL redirects to a host
// whose one connection another file holds for over a second. The hop
// waits for that room longer than the stall timeout, which must not count
// it as a stall: the request has not been sent. (It was cut, and with no
// retries the file failed.)
func TestWaitingForARedirectTargetIsNoStall(t *testing.T) {
	origin, target := segdltest.NewServer(), segdltest.NewServer()
	defer origin.Close()
	defer target.Close()
	target.RatePerConn.Store(2 << 20)
	big := serve(target, "big", 1, 3<<20) // 1.5 s on the target's one connection
	small := serve(target, "small", 1, 4<<10)
	origin.Fault = func(r *http.Request, _ int64) segdltest.Fault {
		return segdltest.Fault{Kind: segdltest.Redirect, Location: target.URLOf(r.URL.Path)}
	}
	u, _ := url.Parse(small[0].url)
	small[0].url = origin.URLOf(u.Path)
	targetHost := target.Listener.Addr().String()
	cfg := Config{Connections: 2, PerHost: 2, HostCap: func(h string) int {
		if h == targetHost {
			return 1
		}
		return 0
	}}
	run(t, cfg, append(big, small...), func(c *segdl.Config) {
		c.StallTimeout = 200 * time.Millisecond
		c.Retries = 0
	})
	if st := target.Stats(); st.PeakInFlight != 1 {
		t.Errorf("target peak in flight %d; want its cap, 1", st.PeakInFlight)
	}
}

// TestRetryAfterHoldsTheHost: a host's Retry-After is the host's, not one
// request's. Refused with nothing else in flight, the host gets no new
// request (another file, as the floor of 1 would allow) until the wait
// is over, then every file; another host is not held. When the refused
// file fails at once (no retries), the run still waits for the host to
// fetch the others: nothing is running meanwhile.
func TestRetryAfterHoldsTheHost(t *testing.T) {
	const wait = 600 * time.Millisecond
	for _, retries := range []int{1, 0} {
		t.Run(fmt.Sprintf("retries %d", retries), func(t *testing.T) {
			srv, other := segdltest.NewServer(), segdltest.NewServer()
			defer srv.Close()
			defer other.Close()
			var mu sync.Mutex
			var at []time.Duration // when each request to srv came, from the refusal
			var refused time.Time
			srv.Fault = func(r *http.Request, n int64) segdltest.Fault {
				mu.Lock()
				defer mu.Unlock()
				if n == 1 {
					refused = time.Now()
					return segdltest.Fault{Kind: segdltest.Status, Code: 429, RetryAfter: "5"} // capped to wait
				}
				at = append(at, time.Since(refused))
				return segdltest.Fault{}
			}
			files := serve(srv, "t", 6, 4<<10)
			files[0].fails = retries == 0
			files = append(files, serve(other, "o", 2, 4<<10)...)
			// One connection per host: nothing else is in flight at the refusal.
			run(t, Config{Connections: 4, PerHost: 1}, files, func(c *segdl.Config) {
				c.MaxRetryAfter, c.Retries = wait, retries
			})
			if want := 5 + retries; len(at) != want {
				t.Fatalf("the host saw %d requests after the 429; want %d", len(at), want)
			}
			for _, d := range at {
				if d < wait {
					t.Errorf("a request came %v after the 429; want none before its Retry-After (%v)", d, wait)
				}
			}
			if n := len(other.Requests()); n != 2 {
				t.Errorf("the other host saw %d requests; want 2", n)
			}
		})
	}
}

// TestRedirectWaitersDoNotStarveOtherHosts: every file of origin A
// redirects to B, one connection each; B is slow. Files of A that wait
// for room at B must not take the whole budget from C, which has room:
// once A is seen to redirect to a full B, its next files wait to start.
// C, with half the work of B, ends before B.
func TestRedirectWaitersDoNotStarveOtherHosts(t *testing.T) {
	a, b, c := segdltest.NewServer(), segdltest.NewServer(), segdltest.NewServer()
	defer a.Close()
	defer b.Close()
	defer c.Close()
	b.RatePerConn.Store(200 << 10)
	c.RatePerConn.Store(200 << 10)
	a.Fault = func(r *http.Request, _ int64) segdltest.Fault {
		return segdltest.Fault{Kind: segdltest.Redirect, Location: b.URLOf(r.URL.Path)}
	}
	viaA := serve(b, "b", 6, 64<<10)
	for i := range viaA {
		u, _ := url.Parse(viaA[i].url)
		viaA[i].url = a.URLOf(u.Path)
	}
	var mu sync.Mutex
	var last [2]time.Time // when B's and C's last requests came
	stamp := func(k int) func(*http.Request, int64) segdltest.Fault {
		return func(*http.Request, int64) segdltest.Fault {
			mu.Lock()
			defer mu.Unlock()
			last[k] = time.Now()
			return segdltest.Fault{}
		}
	}
	b.Fault, c.Fault = stamp(0), stamp(1)
	run(t, Config{Connections: 3, PerHost: 1}, append(viaA, serve(c, "c", 6, 32<<10)...), nil)
	if !last[1].Before(last[0]) {
		t.Errorf("C's last request came %v after B's; want C, never short of a connection, done first", last[1].Sub(last[0]))
	}
}
