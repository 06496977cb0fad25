package segdl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// faultCase is one row of the fault matrix: what the origin does, and what
// must be true afterwards of the bytes on disk and of what the server saw.
type faultCase struct {
	name    string
	size    int
	file    func(f *segdltest.File)
	fault   func(r *http.Request, n int64) segdltest.Fault
	rate    int64
	spec    func(s *Spec, srv *segdltest.Server)
	cfg     func(c *Config)
	conns   int    // connections to run; default 8
	wantErr error  // nil: the published file must equal the served content
	errText string // a substring the error must contain
	check   func(t *testing.T, srv *segdltest.Server, r result)
}

// nth returns a fault function that gives f to the requests numbered in ns.
func nth(f segdltest.Fault, ns ...int64) func(*http.Request, int64) segdltest.Fault {
	return func(_ *http.Request, n int64) segdltest.Fault {
		for _, x := range ns {
			if n == x {
				return f
			}
		}
		return segdltest.Fault{}
	}
}

// ranged returns a fault function that gives f to the first request whose
// Range does not start at 0.
func ranged(f segdltest.Fault) func(*http.Request, int64) segdltest.Fault {
	var done atomic.Bool
	return func(r *http.Request, _ int64) segdltest.Fault {
		if rg := r.Header.Get("Range"); rg != "" && !strings.HasPrefix(rg, "bytes=0-") && done.CompareAndSwap(false, true) {
			return f
		}
		return segdltest.Fault{}
	}
}

// noSum takes the checksum off a case's Spec: a fault whose splice the
// checksum would catch and a retry would mend must be stopped before it
// is written.
func noSum(s *Spec, _ *segdltest.Server) { s.Hash, s.Sum = nil, nil }

func always(f segdltest.Fault) func(*http.Request, int64) segdltest.Fault {
	return func(*http.Request, int64) segdltest.Fault { return f }
}

func requestsFor(srv *segdltest.Server, path string) []segdltest.Request {
	var out []segdltest.Request
	for _, r := range srv.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func wantRequests(n int) func(t *testing.T, srv *segdltest.Server, r result) {
	return func(t *testing.T, srv *segdltest.Server, r result) {
		if got := srv.Stats().Requests; got != int64(n) {
			t.Errorf("server saw %d requests; want %d", got, n)
		}
	}
}

func TestFaults(t *testing.T) {
	const mib = 1 << 20
	cases := []faultCase{
		{name: "a small file takes one request", size: 100 << 10, check: wantRequests(1)},
		{name: "a large throttled file is split over connections", size: 2 * mib, rate: 4 * mib,
			check: func(t *testing.T, srv *segdltest.Server, r result) {
				if p := srv.Stats().PeakInFlight; p < 4 {
					t.Errorf("peak in flight = %d; want at least 4", p)
				}
			}},
		{name: "connections never exceed what the caller runs", size: 2 * mib, rate: 4 * mib,
			cfg: func(c *Config) { c.MinSegment = 64 << 10 },
			check: func(t *testing.T, srv *segdltest.Server, r result) {
				if p := srv.Stats().PeakInFlight; p > 8 {
					t.Errorf("peak in flight = %d; want at most 8", p)
				}
			}},
		{name: "a server without range support gets one stream", size: mib, file: func(f *segdltest.File) { f.NoRange = true }, check: wantRequests(1)},
		{name: "a truncated body is resumed from the last byte", size: mib, conns: 1,
			fault: nth(segdltest.Fault{Kind: segdltest.Truncate, After: 300 << 10}, 1),
			cfg:   func(c *Config) { c.ChunkSize = 16 << 10 },
			check: func(t *testing.T, srv *segdltest.Server, r result) {
				for _, q := range srv.Requests()[1:] {
					if q.Header.Get("Range") == "bytes=0-" {
						t.Errorf("retry asked for the whole file again")
					}
				}
				if sent := srv.Stats().BytesSent; sent > mib+400<<10 {
					t.Errorf("server sent %d bytes for a %d-byte file", sent, mib)
				}
			}},
		{name: "a reset connection is retried", size: mib, fault: nth(segdltest.Fault{Kind: segdltest.Reset, After: 100 << 10}, 1, 2)},
		{name: "a stalled response is abandoned after the timeout", size: 256 << 10,
			fault: nth(segdltest.Fault{Kind: segdltest.Stall, After: 10 << 10}, 1),
			cfg:   func(c *Config) { c.StallTimeout = 200 * time.Millisecond }},
		{name: "slow-loris headers hit the stall timeout", size: 100 << 10,
			fault: nth(segdltest.Fault{Kind: segdltest.SlowHeaders, Delay: 5 * time.Second}, 1),
			cfg:   func(c *Config) { c.StallTimeout = 200 * time.Millisecond }},
		{name: "a Content-Length longer than the body is a truncation", size: 200 << 10,
			fault: nth(segdltest.Fault{Kind: segdltest.WrongLength, Value: 1000}, 1)},
		{name: "bytes beyond the declared length never reach the file", size: 200 << 10,
			fault: nth(segdltest.Fault{Kind: segdltest.LongBody, Value: 5000}, 1)},
		{name: "a Content-Range that starts early is rejected, not shifted", size: mib, rate: 4 * mib,
			fault: ranged(segdltest.Fault{Kind: segdltest.WrongRange, Value: -4096}), spec: noSum},
		{name: "a Content-Range that starts late is rejected", size: mib, rate: 4 * mib,
			fault: ranged(segdltest.Fault{Kind: segdltest.WrongRange, Value: 4096}), spec: noSum},
		{name: "a 200 to a range request restarts as one stream", size: mib, rate: 4 * mib,
			fault: ranged(segdltest.Fault{Kind: segdltest.IgnoreRange}), spec: noSum,
			check: func(t *testing.T, srv *segdltest.Server, r result) {
				if sha(r.data) != sha(srv.Files("/f").Data) {
					t.Errorf("bytes on disk differ from the served file")
				}
				qs := srv.Requests()
				i := slices.IndexFunc(qs, func(q segdltest.Request) bool { return q.Fault == segdltest.IgnoreRange })
				if i < 0 || !slices.ContainsFunc(qs[i+1:], func(q segdltest.Request) bool {
					rg := q.Header.Get("Range")
					return rg == "" || rg == "bytes=0-"
				}) {
					t.Errorf("no request for the whole file after the 200 to a range; want the file fetched again as one stream")
				}
			}},
		{name: "gzip on a range is never written as file bytes", size: mib, rate: 4 * mib,
			fault: ranged(segdltest.Fault{Kind: segdltest.Gzip}), spec: noSum},
		{name: "503 with Retry-After is retried", size: 100 << 10,
			fault: nth(segdltest.Fault{Kind: segdltest.Status, Code: 503, RetryAfter: "0"}, 1, 2), check: wantRequests(3)},
		{name: "429 is retried and reported as throttling", size: 100 << 10,
			fault: nth(segdltest.Fault{Kind: segdltest.Status, Code: 429, RetryAfter: "1"}, 1)},
		{name: "a 404 fails at once", size: 100 << 10, fault: always(segdltest.Fault{Kind: segdltest.Status, Code: 404}),
			errText: "404", check: wantRequests(1)},
		{name: "a 403 fails at once", size: 100 << 10, fault: always(segdltest.Fault{Kind: segdltest.Status, Code: 403}),
			errText: "403", check: wantRequests(1)},
		{name: "retries are bounded", size: 100 << 10, fault: always(segdltest.Fault{Kind: segdltest.Status, Code: 500}),
			cfg: func(c *Config) { c.Retries = 3 }, errText: "500 Internal Server Error, 4 times", check: wantRequests(4)},
		{name: "a failing url falls back to its mirror", size: 300 << 10,
			fault: func(r *http.Request, _ int64) segdltest.Fault {
				if r.URL.Path == "/f" {
					return segdltest.Fault{Kind: segdltest.Status, Code: 404}
				}
				return segdltest.Fault{}
			},
			spec: func(s *Spec, srv *segdltest.Server) {
				srv.Put("/mirror", srv.Files("/f"))
				s.URLs = append(s.URLs, srv.URLOf("/mirror"))
			}},
		{name: "a redirect on the same host is followed", size: 300 << 10,
			fault: func(r *http.Request, _ int64) segdltest.Fault {
				if r.URL.Path == "/f" {
					return segdltest.Fault{Kind: segdltest.Redirect, Location: "/real"}
				}
				return segdltest.Fault{}
			},
			spec: func(s *Spec, srv *segdltest.Server) { srv.Put("/real", srv.Files("/f")) }},
		{name: "a redirect loop is an error naming the chain", size: 1000,
			fault: func(r *http.Request, _ int64) segdltest.Fault {
				if r.URL.Path == "/f" {
					return segdltest.Fault{Kind: segdltest.Redirect, Location: "/g"}
				}
				return segdltest.Fault{Kind: segdltest.Redirect, Location: "/f"}
			},
			wantErr: ErrRedirect, errText: "loop"},
		{name: "more than 10 redirects is an error", size: 1000,
			fault: func(r *http.Request, n int64) segdltest.Fault {
				return segdltest.Fault{Kind: segdltest.Redirect, Location: fmt.Sprintf("/r%d", n)}
			},
			wantErr: ErrRedirect, errText: "more than 10 redirects", check: wantRequests(11)},
		{name: "a file that changes once is fetched again whole", size: mib, rate: 8 * mib,
			fault: func() func(*http.Request, int64) segdltest.Fault {
				return nil
			}(),
			spec: func(s *Spec, srv *segdltest.Server) {
				old := srv.Files("/f")
				srv.Fault = func(r *http.Request, n int64) segdltest.Fault {
					if n == 3 {
						srv.Put("/f", &segdltest.File{Data: segdltest.Content(99, len(old.Data)), ETag: `"v2"`})
					}
					return segdltest.Fault{}
				}
			},
			check: func(t *testing.T, srv *segdltest.Server, r result) {
				if sha(r.data) != sha(srv.Files("/f").Data) {
					t.Errorf("published file is not the new version whole")
				}
			}},
		{name: "a file that keeps changing fails", size: mib, rate: 8 * mib,
			spec: func(s *Spec, srv *segdltest.Server) {
				size := len(srv.Files("/f").Data)
				srv.Fault = func(r *http.Request, n int64) segdltest.Fault {
					if n > 1 {
						srv.Put("/f", &segdltest.File{Data: segdltest.Content(uint64(n), size), ETag: fmt.Sprintf(`"v%d"`, n)})
					}
					return segdltest.Fault{}
				}
			},
			wantErr: ErrChanged},
		{name: "a checksum mismatch downloads again once, then fails and leaves nothing", size: 200 << 10,
			spec:    func(s *Spec, _ *segdltest.Server) { s.Sum = make([]byte, 32) },
			wantErr: ErrChecksum, check: func(t *testing.T, srv *segdltest.Server, r result) {
				probes := 0
				for _, q := range srv.Requests() {
					if q.Header.Get("Range") == "bytes=0-" {
						probes++
					}
				}
				if probes != 2 {
					t.Errorf("file downloaded %d times; want 2", probes)
				}
				assertNoLitter(t, r.dir)
			}},
		{name: "a size that disagrees with the manifest fails", size: 200 << 10,
			spec: func(s *Spec, _ *segdltest.Server) { s.Size = 1000 }, wantErr: ErrSize},
		{name: "a weak ETag is never sent in If-Range", size: mib, rate: 8 * mib,
			file: func(f *segdltest.File) { f.ETag = `W/"weak"` },
			check: func(t *testing.T, srv *segdltest.Server, r result) {
				for _, q := range srv.Requests() {
					if strings.HasPrefix(q.Header.Get("If-Range"), "W/") {
						t.Errorf("If-Range %q sent", q.Header.Get("If-Range"))
					}
				}
				if len(srv.Requests()) < 2 {
					t.Errorf("not split although Last-Modified allows it")
				}
			}},
		{name: "no validator at all means one stream", size: mib,
			file: func(f *segdltest.File) { f.ETag = ""; f.LastModified = time.Time{} }, check: wantRequests(1)},
		{name: "an empty file is published empty", size: 0},
		{name: "every request carries Accept-Encoding identity and If-Range when ranged", size: mib, rate: 8 * mib,
			check: func(t *testing.T, srv *segdltest.Server, r result) {
				for _, q := range srv.Requests() {
					if q.Header.Get("Accept-Encoding") != "identity" {
						t.Errorf("Accept-Encoding = %q", q.Header.Get("Accept-Encoding"))
					}
					if q.Header.Get("Range") != "bytes=0-" && q.Header.Get("If-Range") == "" {
						t.Errorf("ranged request %q without If-Range", q.Header.Get("Range"))
					}
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			srv.RatePerConn.Store(c.rate)
			data := segdltest.Content(uint64(len(c.name)), c.size)
			f := srv.PutBytes("/f", data)
			if c.file != nil {
				c.file(f)
			}
			// Every fault must be injected, or the case tests nothing.
			var injected atomic.Int64
			if c.fault != nil {
				srv.Fault = func(r *http.Request, n int64) segdltest.Fault {
					f := c.fault(r, n)
					if f.Kind != segdltest.None {
						injected.Add(1)
					}
					return f
				}
			}
			spec := withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data)
			if c.spec != nil {
				c.spec(&spec, srv)
			}
			if spec.Size == 0 {
				spec.Size = -1
			}
			cfg := testConfig()
			var throttled atomic.Int64
			cfg.OnThrottle = func(string, time.Duration) { throttled.Add(1) }
			if c.cfg != nil {
				c.cfg(cfg)
			}
			if c.name == "a file that changes once is fetched again whole" {
				spec.Hash = nil
			}
			conns := c.conns
			if conns == 0 {
				conns = 8
			}
			r := fetch(t, "", spec, cfg, conns)
			if c.fault != nil && injected.Load() == 0 {
				t.Errorf("the server injected no fault in %d requests; the case tests nothing", srv.Stats().Requests)
			}
			if c.wantErr == nil && c.errText == "" {
				if r.err != nil {
					t.Fatalf("download failed: %v", r.err)
				}
				if c.check == nil || spec.Hash != nil {
					if sha(r.data) != sha(data) {
						t.Fatalf("bytes on disk differ from the served file (%d bytes, want %d)", len(r.data), len(data))
					}
				}
				assertNoLitter(t, r.dir)
			} else {
				if r.err == nil {
					t.Fatalf("download succeeded; want an error")
				}
				if c.wantErr != nil && !errors.Is(r.err, c.wantErr) {
					t.Errorf("error = %v; want %v", r.err, c.wantErr)
				}
				if !strings.Contains(r.err.Error(), c.errText) {
					t.Errorf("error = %q; want it to contain %q", r.err, c.errText)
				}
				if r.data != nil {
					t.Errorf("a file was published at the final path after a failure")
				}
			}
			if strings.Contains(c.name, "429") && throttled.Load() == 0 {
				t.Errorf("OnThrottle not called for a 429")
			}
			if c.check != nil {
				c.check(t, srv, r)
			}
		})
	}
}

// assertNoLitter fails if temporary files are left in dir.
func assertNoLitter(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, PartSuffix) || strings.HasSuffix(p, JournalSuffix) || strings.HasSuffix(p, ".tmp")) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

var (
	_ = context.Background
	_ = httptest.NewServer
	_ = os.ReadFile
)

// chunked serves data without a Content-Length, in small chunks.
func chunked(data []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(data); i += 1000 {
			w.Write(data[i:min(i+1000, len(data))])
			w.(http.Flusher).Flush()
		}
	})
}

func TestUnknownLength(t *testing.T) {
	data := segdltest.Content(3, 100<<10)
	srv := httptest.NewServer(chunked(data))
	defer srv.Close()
	cases := []struct {
		name    string
		size    int64
		max     int64
		wantErr error
	}{
		{"a stream of unknown length is written whole", -1, 0, nil},
		{"more bytes than the manifest's size fail the file", 50 << 10, 0, ErrSize},
		{"more bytes than max_size fail the file", -1, 10 << 10, ErrSize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxSize = c.max
			r := fetch(t, "", Spec{URLs: []string{srv.URL + "/f"}, Size: c.size}, cfg, 4)
			if c.wantErr == nil {
				if r.err != nil || sha(r.data) != sha(data) {
					t.Fatalf("err %v, %d bytes; want the stream whole", r.err, len(r.data))
				}
				return
			}
			if !errors.Is(r.err, c.wantErr) || r.data != nil {
				t.Errorf("err = %v, published %v; want %v and nothing published", r.err, r.data != nil, c.wantErr)
			}
			assertNoLitter(t, r.dir)
		})
	}
}

func TestMaxSizeFromContentLength(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.PutBytes("/f", segdltest.Content(1, 100<<10))
	cfg := testConfig()
	cfg.MaxSize = 10 << 10
	r := fetch(t, "", Spec{URLs: []string{srv.URLOf("/f")}}, cfg, 2)
	if !errors.Is(r.err, ErrSize) || !strings.Contains(r.err.Error(), "max_size") {
		t.Errorf("err = %v; want ErrSize naming max_size", r.err)
	}
	if r.data != nil {
		t.Error("a file larger than max_size was published")
	}
	assertNoLitter(t, r.dir)
}

func TestHugeResponseHeadersFail(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("x", 200<<10))
		w.Write([]byte("body"))
	}))
	defer srv.Close()
	cfg := testConfig()
	cfg.Client = NewClient(&http.Transport{MaxResponseHeaderBytes: 64 << 10})
	cfg.Retries = 1
	r := fetch(t, "", Spec{URLs: []string{srv.URL + "/f"}}, cfg, 1)
	if r.err == nil || !strings.Contains(r.err.Error(), "header") {
		t.Errorf("err = %v; want the oversized header refused", r.err)
	}
}

// TestTrickleCostsNoBusyLoop receives a body one byte at a time, 2 s long,
// and checks the bytes and that waiting for them used little CPU.
func TestTrickleCostsNoBusyLoop(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(50) // one byte per write, 50 writes a second
	data := segdltest.Content(5, 100)
	srv.PutBytes("/f", data)
	before := processCPU()
	r := fetch(t, "", withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data), testConfig(), 1)
	cpu := processCPU() - before
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("trickled download: %v", r.err)
	}
	if cpu > 500*time.Millisecond {
		t.Errorf("2 s of trickle used %v of CPU; want no busy loop", cpu)
	}
}
