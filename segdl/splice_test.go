package segdl

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// TestNeverASplice runs servers that change, lie or break mid-download,
// without a checksum in the spec (a checksum's retry would hide a splice),
// and asserts what is at the path: the current version whole, or nothing
// and an error. Never bytes of two versions, never bytes at the wrong
// offset.
func TestNeverASplice(t *testing.T) {
	const size = 1 << 20
	v1 := segdltest.Content(1, size)
	v2 := segdltest.Content(2, size)
	lm1, lm2 := time.Unix(1700000000, 0), time.Unix(1700009999, 0)
	cut := segdltest.Fault{Kind: segdltest.Truncate, After: 300 << 10}
	cases := []struct {
		name  string
		conns int
		setup func(srv *segdltest.Server) // serves /f
		fault func(r *http.Request, n int64) segdltest.Fault
		cfg   func(c *Config)
		size  int64 // the Spec's size; 0 means unknown
		// want is the content that may be published; nil: none may be.
		want    []byte
		wantErr error
		check   func(t *testing.T, srv *segdltest.Server, r result)
	}{
		{name: "no validator, the file changes while a dropped stream is retried", conns: 1,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1})
				srv.PutAfter("/f", 2, &segdltest.File{Data: v2})
			},
			fault: nth(cut, 1), want: v2},
		{name: "a weak ETag only, unchanged across versions, and a dropped stream", conns: 1,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, ETag: `W/"same"`})
				srv.PutAfter("/f", 2, &segdltest.File{Data: v2, ETag: `W/"same"`})
			},
			fault: nth(cut, 1), want: v2},
		{name: "Last-Modified only, If-Range ignored, a new date on the 206", conns: 1,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, LastModified: lm1})
				srv.PutAfter("/f", 2, &segdltest.File{Data: v2, LastModified: lm2, IgnoreIfRange: true})
			},
			fault: nth(cut, 1), want: v2},
		{name: "a strong ETag, then 206s whose ETag is weak (If-Range ignored)", conns: 1,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`})
				srv.PutAfter("/f", 2, &segdltest.File{Data: v2, ETag: `"v1"`, WeakOn206: true, IgnoreIfRange: true})
			},
			fault: nth(cut, 1), want: v2},
		{name: "a strong ETag, then 206s without validators (If-Range ignored)", conns: 1,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`, LastModified: lm1})
				srv.PutAfter("/f", 2, &segdltest.File{Data: v2, ETag: `"v1"`, LastModified: lm1, DropOn206: true, IgnoreIfRange: true})
			},
			fault: nth(cut, 1), want: v2},
		{name: "a new version with a new ETag, If-Range honoured", conns: 1,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`})
				srv.PutAfter("/f", 2, &segdltest.File{Data: v2, ETag: `"v2"`})
			},
			fault: nth(cut, 1), want: v2},
		{name: "a new version with a new ETag, If-Range ignored", conns: 1,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`})
				srv.PutAfter("/f", 2, &segdltest.File{Data: v2, ETag: `"v2"`, IgnoreIfRange: true})
			},
			fault: nth(cut, 1), want: v2},
		{name: "a Content-Range that starts early carries the bytes it names",
			setup: func(srv *segdltest.Server) { srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`}) },
			fault: ranged(segdltest.Fault{Kind: segdltest.WrongRange, Value: -4096}), want: v1},
		{name: "a Content-Range that starts late carries the bytes it names",
			setup: func(srv *segdltest.Server) { srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`}) },
			fault: ranged(segdltest.Fault{Kind: segdltest.WrongRange, Value: 4096}), want: v1},
		{name: "a 206 with another total is another version",
			setup: func(srv *segdltest.Server) { srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`}) },
			fault: ranged(segdltest.Fault{Kind: segdltest.WrongTotal, Data: segdltest.Content(3, size+4096)}), want: v1},
		{name: "a 200 to a range request is never written at an offset",
			setup: func(srv *segdltest.Server) { srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`}) },
			fault: ranged(segdltest.Fault{Kind: segdltest.IgnoreRange}), want: v1},
		{name: "a gzip range is never written as file bytes",
			setup: func(srv *segdltest.Server) { srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`}) },
			fault: ranged(segdltest.Fault{Kind: segdltest.Gzip}), want: v1},
		{name: "a range of unknown total is accepted", conns: 4,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`, UnknownTotal: true})
			},
			want: v1},
		{name: "a range of unknown total is checked against the known size", size: size,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`, UnknownTotal: true})
			},
			want: v1, check: func(t *testing.T, srv *segdltest.Server, r result) {
				for _, q := range srv.Requests() {
					if q.Header.Get("Range") == "" {
						t.Errorf("a plain request was sent; want ranges checked against the known size")
					}
				}
				if n := srv.Stats().Requests; n < 2 {
					t.Errorf("server saw %d requests; want the file split", n)
				}
			}},
		{name: "short 206s that make progress are not failures", conns: 2,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`, MaxRange: 100 << 10})
			},
			cfg: func(c *Config) { c.Retries = 1; c.MinSegment = 4 << 20 }, want: v1},
		{name: "short 206s without a validator are not continued on trust", conns: 1,
			setup: func(srv *segdltest.Server) {
				srv.Put("/f", &segdltest.File{Data: v1, MaxRange: 100 << 10})
				srv.PutAfter("/f", 2, &segdltest.File{Data: v2, MaxRange: 100 << 10})
			},
			cfg: func(c *Config) { c.Retries = 1 }, want: v2},
		{name: "no range support and dropped connections: retries apply", conns: 1,
			setup: func(srv *segdltest.Server) { srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`, NoRange: true}) },
			fault: always(cut), cfg: func(c *Config) { c.Retries = 3 },
			check: func(t *testing.T, srv *segdltest.Server, r result) {
				if n := srv.Stats().Requests; n > 5 {
					t.Errorf("server saw %d requests with retries = 3; want at most 5", n)
				}
			}},
		{name: "compressed ranges and dropped connections: retries apply", conns: 1,
			setup: func(srv *segdltest.Server) { srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`}) },
			fault: func(r *http.Request, n int64) segdltest.Fault {
				if rg := r.Header.Get("Range"); rg != "" && !strings.HasPrefix(rg, "bytes=0-") {
					return segdltest.Fault{Kind: segdltest.Gzip}
				}
				return cut
			},
			cfg: func(c *Config) { c.Retries = 3 },
			check: func(t *testing.T, srv *segdltest.Server, r result) {
				if n := srv.Stats().Requests; n > 10 {
					t.Errorf("server saw %d requests with retries = 3; want at most 10", n)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			c.setup(srv)
			srv.Fault = c.fault
			cfg := testConfig()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			conns := c.conns
			if conns == 0 {
				conns = 8
				srv.RatePerConn.Store(4 << 20) // so that the file is split
			}
			spec := Spec{URLs: []string{srv.URLOf("/f")}, Size: -1}
			if c.size > 0 {
				spec.Size = c.size
			}
			r := fetch(t, "", spec, cfg, conns)
			switch {
			case r.data == nil && c.want != nil:
				t.Fatalf("nothing published (err %v); want the current version", r.err)
			case r.data != nil && c.want == nil:
				t.Fatalf("a file was published (%d bytes); want none", len(r.data))
			case r.data != nil && sha(r.data) != sha(c.want):
				t.Fatalf("published file is not the expected version whole: %s", describe(r.data, v1, v2))
			}
			if c.want != nil && r.err != nil {
				t.Errorf("err = %v with a file published", r.err)
			}
			if c.want == nil && r.err == nil {
				t.Errorf("no error, no file")
			}
			if c.wantErr != nil && !errors.Is(r.err, c.wantErr) {
				t.Errorf("err = %v; want %v", r.err, c.wantErr)
			}
			if r.err == nil {
				if p := r.d.Progress(); p.Written != int64(len(r.data)) {
					t.Errorf("Progress().Written = %d; want %d", p.Written, len(r.data))
				}
				assertNoLitter(t, r.dir)
			}
			if c.check != nil {
				c.check(t, srv, r)
			}
		})
		if c.want == nil {
			continue
		}
		// The same server with the current version's checksum: the file
		// is hashed while it downloads (hash.go), and every restart must
		// throw that digest away, or the right file fails its checksum.
		t.Run(c.name+", with a checksum", func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			c.setup(srv)
			srv.Fault = c.fault
			cfg := testConfig()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			conns := c.conns
			if conns == 0 {
				conns = 8
				srv.RatePerConn.Store(4 << 20)
			}
			spec := withSum(Spec{URLs: []string{srv.URLOf("/f")}, Size: -1}, c.want)
			if c.size > 0 {
				spec.Size = c.size
			}
			r := fetch(t, "", spec, cfg, conns)
			if r.err != nil || r.data == nil {
				t.Fatalf("err = %v, %d bytes published; want the current version", r.err, len(r.data))
			}
			if sha(r.data) != sha(c.want) {
				t.Fatalf("published file is not the expected version whole: %s", describe(r.data, v1, v2))
			}
			assertNoLitter(t, r.dir)
		})
	}
}

// TestMirrorDoesNotContinueAnotherVersion fails a file's url part-way
// with bytes written: it streams, without a length, more than the file's
// size (from the spec, or max_size). The next mirror may carry on from
// those bytes only if something vouches for them; here nothing does (no
// validator, a weak one) or the source has just shown them to be of
// another version (a strong ETag the mirror shares, but too many bytes).
// So the mirror's file is published whole, never the url's first bytes
// and the mirror's tail.
func TestMirrorDoesNotContinueAnotherVersion(t *testing.T) {
	const size = 1<<20 + 1000
	v1 := segdltest.Content(1, size)
	v2 := segdltest.Content(2, size+300<<10) // a newer, longer version
	cases := []struct {
		name    string
		etag    string // of both servers
		maxSize bool   // the limit is max_size, not the spec's size
	}{
		{name: "no validator"},
		{name: "no validator, max_size", maxSize: true},
		{name: "the same weak ETag", etag: `W/"same"`},
		{name: "the same strong ETag", etag: `"same"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.etag != "" {
					w.Header().Set("ETag", c.etag)
				}
				w.WriteHeader(http.StatusOK) // no Content-Length: streamed
				for b := v2; len(b) > 0; {
					n := min(len(b), 16<<10)
					if _, err := w.Write(b[:n]); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					b = b[n:]
				}
			}))
			defer url.Close()
			mirror := segdltest.NewServer()
			defer mirror.Close()
			mirror.Put("/f", &segdltest.File{Data: v1, ETag: c.etag})

			cfg := testConfig()
			spec := Spec{URLs: []string{url.URL + "/f", mirror.URLOf("/f")}, Size: size}
			if c.maxSize {
				spec.Size, cfg.MaxSize = -1, size
			}
			r := fetch(t, "", spec, cfg, 4)
			if r.err != nil || r.data == nil {
				t.Fatalf("err = %v, %d bytes published; want the mirror's file", r.err, len(r.data))
			}
			if sha(r.data) != sha(v1) {
				t.Fatalf("published file is not the mirror's whole: %s", describe(r.data, v1, v2))
			}
			if n := mirror.Stats().Requests; n == 0 {
				t.Fatalf("the mirror was not asked")
			}
		})
	}
}

// describe says which version each 64 KiB of got comes from.
func describe(got, v1, v2 []byte) string {
	var b strings.Builder
	for i := 0; i < len(got); i += 64 << 10 {
		j := min(i+64<<10, len(got))
		switch {
		case j <= len(v1) && string(got[i:j]) == string(v1[i:j]):
			b.WriteByte('1')
		case j <= len(v2) && string(got[i:j]) == string(v2[i:j]):
			b.WriteByte('2')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// TestCommitStopsAtASplitBoundary commits a read that crossed the end its
// segment got from a split made while it was reading: the bytes past the
// end belong to the new segment and are neither counted nor claimed here.
func TestCommitStopsAtASplitBoundary(t *testing.T) {
	d := New(nil, Spec{URLs: []string{"http://example.com/f"}, Path: "f", Size: -1}, testConfig(), nil)
	s := &segment{pos: 0, end: 100}
	d.segs = []*segment{s, {pos: 100, end: 200}}
	task := &Task{d: d, seg: s}
	s.task = task
	newPos, end, stop := task.commit(0, 150)
	if newPos != 100 || end != 100 || !stop {
		t.Errorf("commit(0, 150) = %d, %d, %v; want 100, 100, true", newPos, end, stop)
	}
	if w := d.written.Load(); w != 100 {
		t.Errorf("written = %d; want 100", w)
	}
	if got := d.done.total(); got != 100 {
		t.Errorf("done claims %d bytes; want 100", got)
	}
}
