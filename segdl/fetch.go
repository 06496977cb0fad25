package segdl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"time"

	"github.com/bulkdl/bulkdl/redact"
)

// NewClient returns a client for downloads over rt. It never follows
// redirects (segdl does, applying its header policy at every hop), never
// decompresses bodies and, unlike net/http's Client, never reads a
// Location header itself, so one that does not parse reaches segdl, which
// names it redacted. Like net/http's Client it sends a URL's userinfo as
// Basic credentials when no Authorization header is set, and wraps errors
// in a *url.Error.
func NewClient(rt http.RoundTripper) Doer { return client{rt} }

type client struct{ rt http.RoundTripper }

var _ Doer = client{}

func (c client) Do(req *http.Request) (*http.Response, error) {
	if u := req.URL.User; u != nil && req.Header.Get("Authorization") == "" {
		pw, _ := u.Password()
		req = req.Clone(req.Context())
		req.SetBasicAuth(u.Username(), pw)
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		op := req.Method[:1] + strings.ToLower(req.Method[1:])
		return nil, &url.Error{Op: op, URL: redact.URL(req.URL.String()), Err: err}
	}
	return resp, nil
}

// errNotModified ends a download whose conditional request got a 304.
var errNotModified = errors.New("segdl: not modified")

// once makes one request for the task's remaining range and writes what
// it gets. It returns the bytes written and nil when the range is complete.
func (t *Task) once(ctx context.Context) (int64, error) {
	d := t.d
	d.mu.Lock()
	if t.gen != d.gen || d.restart != nil || d.err != nil {
		d.mu.Unlock()
		return 0, errStop
	}
	reqCtx, cancel := t.watchLocked(ctx)
	if reqCtx == nil {
		d.mu.Unlock()
		return 0, errStop
	}
	defer cancel()
	// What this request costs to its first byte sizes the pieces: timed
	// from here, so that a probe's disk work, a retry's wait and an earlier
	// attempt that failed or stalled are not counted as a request's cost.
	t.claimed = time.Now()
	pos, end := t.seg.pos, t.seg.end
	etag, lastMod, size := d.etag, d.lastMod, d.size
	conditional := t.probe && d.conditional && d.gen == 0 && d.done.total() == 0
	plain := t.probe && pos == 0 && end < 0 && d.noRange
	tg, resolved := d.firstHopLocked(t.src)
	d.mu.Unlock()
	if end >= 0 && pos >= end {
		return 0, nil
	}

	var c conditions
	if !plain {
		c.rng = rangeHeader(pos, end)
		c.ifRange = ifRange(strongETag(etag), lastMod)
	}
	if conditional {
		c.ifNoneMatch, c.ifModifiedSince = d.spec.IfNoneMatch, d.spec.IfModifiedSince
	}
	stall := t.startStall(d.cfg.StallTimeout, cancel)
	defer stall.stop()
	t.conn = nil
	if httptrace.ContextClientTrace(reqCtx) != nil {
		// The caller traces too: WithClientTrace merges its hooks into
		// the trace it is given, so the Task's own would gain them
		// again on every request. A trace of this request's own.
		reqCtx = httptrace.WithClientTrace(reqCtx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { t.conn = info.Conn }})
	} else {
		if t.trace.GotConn == nil {
			t.trace.GotConn = func(info httptrace.GotConnInfo) { t.conn = info.Conn }
		}
		reqCtx = httptrace.WithClientTrace(reqCtx, &t.trace)
	}
	resp, hostport, err := d.do(reqCtx, t, tg, &c)
	if err != nil {
		if certError(err) {
			return 0, &fatalError{err} // no retry makes a certificate valid
		}
		if errors.Is(err, ErrHostDown) {
			return 0, &fatalError{err} // the Doer knows no retry reaches it
		}
		return 0, stall.explain(err, "waiting for the response")
	}
	t.consumed = false
	defer func() {
		// A response abandoned before its end: close its connection now.
		// net/http closes it too, but only after Body.Close has returned,
		// so the server could see this request overlap the next one.
		if !t.consumed && t.conn != nil {
			t.conn.Close()
		}
		resp.Body.Close()
	}()
	if t.mirror {
		if err := mirrorAgrees(resp, pos, end, size, etag, lastMod); err != nil {
			return 0, fmt.Errorf("%s: %w", redact.URL(tg.raw), err)
		}
	}
	x := &exchange{t: t, ctx: reqCtx, resp: resp, pos: pos, end: end, etag: etag, lastMod: lastMod, size: size,
		resolved: resolved, src: tg.raw, hostport: hostport, stall: stall}
	switch code := resp.StatusCode; {
	case code == http.StatusNotModified && conditional:
		return 0, errNotModified
	case code == http.StatusPartialContent:
		return x.partial()
	case code == http.StatusOK:
		return x.whole()
	case code == http.StatusRequestedRangeNotSatisfiable:
		return x.unsatisfiable()
	case retryable(code):
		return x.retryLater()
	default:
		return x.refused()
	}
}
