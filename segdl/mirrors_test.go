package segdl

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// TestMirrorsInParallel: the source and a mirror serve the same file; a
// third URL is a mirror that fails or lies in some way. Ranges come from
// the source and the good mirror at once; the bad mirror is dropped before
// any of its bytes is written, and the file is right.
func TestMirrorsInParallel(t *testing.T) {
	const size = 1 << 20
	data := segdltest.Content(42, size)
	other := segdltest.Content(43, size)
	lm := time.Unix(1700000000, 0)
	same := func() *segdltest.File { return &segdltest.File{Data: data, ETag: `"v1"`, LastModified: lm} }
	cases := []struct {
		name  string
		file  *segdltest.File
		fault segdltest.Fault
		noSum bool // no checksum: nothing but the mirror checks stands between a splice and the path
	}{
		{name: "a mirror of other bytes without a validator, ignoring If-Range, is dropped", file: &segdltest.File{Data: other, IgnoreIfRange: true}, noSum: true},
		{name: "a mirror of another version (ETag) is dropped", file: &segdltest.File{Data: other, ETag: `"v2"`, LastModified: lm}},
		{name: "a mirror of another size is dropped", file: &segdltest.File{Data: append(append([]byte(nil), data...), 'x'), ETag: `"v1"`, LastModified: lm}},
		{name: "a mirror with the same ETag but other bytes of another size is dropped", file: &segdltest.File{Data: other[:size/2], ETag: `"v1"`, LastModified: lm}},
		{name: "a mirror that shifts Content-Range is dropped", file: same(), fault: segdltest.Fault{Kind: segdltest.WrongRange, Value: 100}},
		{name: "a mirror that ignores ranges is dropped", file: same(), fault: segdltest.Fault{Kind: segdltest.IgnoreRange}},
		{name: "a mirror that compresses is dropped", file: same(), fault: segdltest.Fault{Kind: segdltest.Gzip}},
		{name: "a mirror that answers 404 is dropped", file: nil},
		{name: "a mirror that cuts its responses short is dropped", file: same(), fault: segdltest.Fault{Kind: segdltest.Truncate, After: 1000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, good, bad := segdltest.NewServer(), segdltest.NewServer(), segdltest.NewServer()
			defer src.Close()
			defer good.Close()
			defer bad.Close()
			src.Put("/f", same())
			good.Put("/f", same())
			if tc.file != nil {
				bad.Put("/f", tc.file)
			}
			if tc.fault.Kind != segdltest.None {
				f := tc.fault
				bad.Fault = func(*http.Request, int64) segdltest.Fault { return f }
			}
			for _, s := range []*segdltest.Server{src, good, bad} {
				s.RatePerConn.Store(1 << 20)
			}
			spec := Spec{URLs: []string{src.URLOf("/f"), good.URLOf("/f"), bad.URLOf("/f")}}
			if !tc.noSum {
				spec = withSum(spec, data)
			}
			r := fetch(t, "", spec, testConfig(), 6)
			if r.err != nil || sha(r.data) != sha(data) {
				t.Fatalf("err = %v, right bytes = %v; want the file", r.err, sha(r.data) == sha(data))
			}
			ms := r.d.Mirrors()
			if ms[0].Dropped != nil || ms[1].Dropped != nil {
				t.Errorf("source dropped: %v, good mirror dropped: %v; want both kept", ms[0].Dropped, ms[1].Dropped)
			}
			if ms[2].Dropped == nil {
				t.Errorf("bad mirror kept; want it dropped (served %d requests)", bad.Stats().Requests)
			}
			if n := len(requestsFor(good, "/f")); n == 0 {
				t.Errorf("the good mirror served no range; want ranges from it and the source at once")
			}
		})
	}
}

// TestMirrorsNeedAValidator: without an ETag or Last-Modified nothing
// proves that two URLs serve the same bytes; only the source is used.
func TestMirrorsNeedAValidator(t *testing.T) {
	data := segdltest.Content(44, 1<<20)
	src, mirror := segdltest.NewServer(), segdltest.NewServer()
	defer src.Close()
	defer mirror.Close()
	for _, s := range []*segdltest.Server{src, mirror} {
		s.Put("/f", &segdltest.File{Data: data})
		s.RatePerConn.Store(2 << 20)
	}
	r := fetch(t, "", withSum(Spec{URLs: []string{src.URLOf("/f"), mirror.URLOf("/f")}}, data), testConfig(), 4)
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("err = %v; want the file", r.err)
	}
	if n := mirror.Stats().Requests; n != 0 {
		t.Errorf("mirror saw %d requests; want none without a validator", n)
	}
}

// TestMirrorRefusalIsWaitedOut: a mirror that answers 503 is not dropped;
// it is asked again once its Retry-After has passed. The wait is on a
// clock that jumps (clock_test.go), so the mirror's turn after it does not
// depend on when the slot it gave back is claimed again: with two
// connections, the probe's and the mirror's, that slot is the only one.
func TestMirrorRefusalIsWaitedOut(t *testing.T) {
	const retryAfter = 20 * time.Second
	data := segdltest.Content(45, 2<<20)
	src, mirror := segdltest.NewServer(), segdltest.NewServer()
	defer src.Close()
	defer mirror.Close()
	for _, s := range []*segdltest.Server{src, mirror} {
		s.Put("/f", &segdltest.File{Data: data, ETag: `"v1"`})
		s.RatePerConn.Store(1 << 20)
	}
	jc := newJumpClock()
	clk := jc.clock()
	var mu sync.Mutex
	var asked []time.Time // the clock at each of the mirror's requests
	mirror.Fault = func(_ *http.Request, n int64) segdltest.Fault {
		mu.Lock()
		asked = append(asked, clk.now())
		mu.Unlock()
		if n == 1 {
			return segdltest.Fault{Kind: segdltest.Status, Code: 503, RetryAfter: strconv.Itoa(int(retryAfter / time.Second))}
		}
		return segdltest.Fault{}
	}
	cfg := testConfig()
	cfg.MaxRetryAfter = time.Minute
	spec := withSum(Spec{URLs: []string{src.URLOf("/f"), mirror.URLOf("/f")}}, data)
	r := fetchWith(t, "", spec, cfg, 2, func(d *Download) { d.clock = clk })
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("err = %v; want the file", r.err)
	}
	if err := r.d.Mirrors()[1].Dropped; err != nil {
		t.Errorf("mirror dropped after one 503: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) < 2 {
		t.Fatalf("mirror saw %d requests; want it asked again after its 503", len(asked))
	}
	if waited := asked[1].Sub(asked[0]); waited < retryAfter {
		t.Errorf("mirror asked again %v after its 503; want at least its Retry-After, %v", waited, retryAfter)
	}
}

// TestMirrorNotAskedBeforeRetryAfter: a connection claimed while a
// refusing mirror's Retry-After runs goes to the source; one claimed once
// it has passed goes to the mirror, which has fewer connections.
func TestMirrorNotAskedBeforeRetryAfter(t *testing.T) {
	const wait = 20 * time.Second
	refused := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := refused
	var woken []time.Duration // the waits of afterFunc
	d := New(nil, Spec{URLs: []string{"http://a.test/f", "http://b.test/f"}, Path: "f"}, testConfig(), nil)
	d.clock = &clock{now: func() time.Time { return now }, afterFunc: func(w time.Duration, _ func()) timer {
		woken = append(woken, w)
		return heldTimer{}
	}}
	d.state, d.size, d.etag, d.splittable = stateRunning, 1<<20, `"v1"`, true
	d.mirrors[0].active = 1
	refusal := &retryAfterError{err: &StatusError{Code: http.StatusServiceUnavailable}, wait: wait}
	d.mirrorFailed(&Task{d: d, src: 1, mirror: true}, refusal)
	if len(woken) != 1 || woken[0] != wait {
		t.Errorf("waits asked of the clock: %v; want one of %v, to claim again when it ends", woken, wait)
	}
	for _, c := range []struct {
		after time.Duration
		want  int
	}{
		{0, 0},
		{wait - time.Second, 0},
		{wait, 1},
	} {
		now = refused.Add(c.after)
		d.mu.Lock()
		got := d.sourceLocked(nil)
		d.mu.Unlock()
		if got != c.want {
			t.Errorf("%v after the refusal: a new connection goes to URL %d; want %d", c.after, got, c.want)
		}
	}
	if err := d.Mirrors()[1].Dropped; err != nil {
		t.Errorf("mirror dropped after its 503: %v", err)
	}
}
