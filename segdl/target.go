package segdl

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
	// (Accept-Encoding, User-Agent), built on the first request under
	// d.mu; nil until then. Never modified once built: each request
	// copies it.
	header http.Header
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
		tg.header = d.requestHeader(tg.u, tg.hostport)
	}
	return tg.header
}

// requestHeader returns the headers a request to u (at host:port hp)
// carries whatever its range: what headersFor allows, Accept-Encoding and
// User-Agent.
func (d *Download) requestHeader(u *url.URL, hp string) http.Header {
	h := d.headersFor(u, hp)
	h["Accept-Encoding"] = identity
	if d.cfg.UserAgent != "" {
		h["User-Agent"] = []string{d.cfg.UserAgent}
	}
	return h
}

// identity is the one Accept-Encoding segdl sends: bytes at offsets must be
// the file's bytes. Shared by every request, never modified.
var identity = []string{"identity"}

// conditions are the headers of one request beyond its target's: the
// range it asks for and the validators it is conditional on; "" for none.
type conditions struct {
	rng, ifRange, ifNoneMatch, ifModifiedSince string
}

// header returns base with c added, in a new map: one allocation for the
// map and one for the values.
func (c *conditions) header(base http.Header) http.Header {
	h := make(http.Header, len(base)+4)
	for k, v := range base {
		h[k] = v
	}
	vals := [...]string{c.rng, c.ifRange, c.ifNoneMatch, c.ifModifiedSince}
	names := [...]string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"}
	n := 0
	for _, v := range vals {
		if v != "" {
			n++
		}
	}
	if n == 0 {
		return h
	}
	store := make([]string, 0, n)
	for k, v := range vals {
		if v != "" {
			store = append(store, v)
			h[names[k]] = store[len(store)-1 : len(store) : len(store)]
		}
	}
	return h
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
