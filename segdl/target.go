package segdl

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
)

// target is one of a Spec's URLs, parsed once when the download is
// created: requests to it reuse its parsed URL, its host:port and the
// headers it may carry, so that a request for a small file costs no URL
// parse and no walk of the header policy. A redirect target is parsed at
// its hop, as before.
type target struct {
	raw      string
	u        *url.URL // nil if raw does not parse
	hostport string
	// header is headersFor(u) with the headers every request carries
	// (Accept-Encoding, User-Agent), built under d.mu for the second
	// request to the target; nil until then. Never modified once built:
	// each request copies it. The first request builds its headers
	// directly: a small file makes no other.
	header http.Header
	asked  bool // a request went to the target; under d.mu
}

// parseTargets parses each of urls once, into ts (as long as urls).
func parseTargets(ts []target, urls []string) {
	for i, s := range urls {
		ts[i].raw = s
		if u, err := url.Parse(s); err == nil {
			ts[i].u, ts[i].hostport = u, hostPort(u)
		}
	}
}

// baseHeaderLocked returns the headers of every request to URL i before
// its range and conditions.
func (d *Download) baseHeaderLocked(i int) http.Header {
	tg := &d.targets[i]
	if tg.header == nil && tg.u != nil {
		tg.header = d.requestHeader(tg.u, tg.hostport, nil)
	}
	return tg.header
}

// requestHeader returns the headers of a request to u (at host:port hp)
// with the conditions c (nil for none), in one new map: what headersFor
// allows, Accept-Encoding and User-Agent, then c's.
func (d *Download) requestHeader(u *url.URL, hp string, c *conditions) http.Header {
	h := d.headersFor(u, hp, 2+c.count())
	h["Accept-Encoding"] = identity
	if d.cfg.UserAgent != "" {
		h["User-Agent"] = userAgent(d.cfg.UserAgent)
	}
	c.addTo(h)
	return h
}

// identity is the one Accept-Encoding segdl sends: bytes at offsets must be
// the file's bytes. Shared by every request, never modified.
var identity = []string{"identity"}

// probeRange is the Range of a probe, "bytes=0-", shared like identity.
var probeRange = []string{"bytes=0-"}

// lastUserAgent holds the User-Agent value of the requests made last: the
// same for every request of a run, shared like identity, so that a
// request does not allocate a slice for it.
var lastUserAgent atomic.Pointer[[]string]

// userAgent returns ua as a header value, never to be modified.
func userAgent(ua string) []string {
	if p := lastUserAgent.Load(); p != nil && (*p)[0] == ua {
		return *p
	}
	v := []string{ua}
	lastUserAgent.Store(&v)
	return v
}

// conditions are the headers of one request beyond its target's: the
// range it asks for and the validators it is conditional on; "" for none.
type conditions struct {
	rng, ifRange, ifNoneMatch, ifModifiedSince string
}

// header returns base with c added, in a new map.
func (c *conditions) header(base http.Header) http.Header {
	h := make(http.Header, len(base)+c.count())
	for k, v := range base {
		h[k] = v
	}
	c.addTo(h)
	return h
}

// count returns how many headers c has; 0 for a nil c.
func (c *conditions) count() int {
	if c == nil {
		return 0
	}
	n := 0
	for _, v := range [...]string{c.rng, c.ifRange, c.ifNoneMatch, c.ifModifiedSince} {
		if v != "" {
			n++
		}
	}
	return n
}

// addTo sets c's headers in h: one allocation for their values, none for
// a probe's plain "bytes=0-".
func (c *conditions) addTo(h http.Header) {
	n := c.count()
	if n == 0 {
		return
	}
	if n == 1 && c.rng == probeRange[0] {
		h["Range"] = probeRange
		return
	}
	vals := [...]string{c.rng, c.ifRange, c.ifNoneMatch, c.ifModifiedSince}
	names := [...]string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"}
	store := make([]string, 0, n)
	for k, v := range vals {
		if v != "" {
			store = append(store, v)
			h[names[k]] = store[len(store)-1 : len(store) : len(store)]
		}
	}
}

// rangeHeader returns "bytes=pos-" or, with end >= 0, "bytes=pos-(end-1)".
func rangeHeader(pos, end int64) string {
	if pos == 0 && end < 0 {
		return "bytes=0-" // every probe's: no string built for it
	}
	var b [48]byte
	s := append(b[:0], "bytes="...)
	s = strconv.AppendInt(s, pos, 10)
	s = append(s, '-')
	if end >= 0 {
		s = strconv.AppendInt(s, end-1, 10)
	}
	return string(s)
}

// newRequest returns a GET for u with header h, built without parsing u
// again (http.NewRequest takes a string): the same request
// http.NewRequestWithContext(ctx, "GET", u.String(), nil) makes.
func newRequest(ctx context.Context, u *url.URL, h http.Header) *http.Request {
	if strings.HasSuffix(u.Host, ":") {
		// An empty port, which NewRequest drops from the URL and Host.
		c := *u
		c.Host = strings.TrimSuffix(u.Host, ":")
		u = &c
	}
	return (&http.Request{Method: http.MethodGet, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Host: u.Host}).WithContext(ctx)
}
