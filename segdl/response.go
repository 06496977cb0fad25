package segdl

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/bulkdl/bulkdl/redact"
)

// exchange is one request of a task and its response, as once saw them:
// what it asked for and what the download knew when it asked. Each class
// of response has its method, which returns what once returns.
type exchange struct {
	t        *Task
	ctx      context.Context // the request's: cancelling it ends the body
	resp     *http.Response
	pos, end int64  // the range asked for; end -1 for "to the end"
	etag     string // the version the download knows, if any
	lastMod  string
	size     int64  // the file's size if known, else -1
	resolved bool   // the request went to a redirect target remembered
	src      string // the URL requested; redact it before any message shows it
	hostport string
	stall    *stall
}

// partial takes a 206: the range asked for, if its Content-Range, length
// and validators say it is of the version being written.
func (x *exchange) partial() (int64, error) {
	t, d, resp, pos, end, size := x.t, x.t.d, x.resp, x.pos, x.end, x.size
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return 0, &restartError{reason: fmt.Errorf("%s sent a range with Content-Encoding %q", x.redacted(), ce), discard: true, single: true, broken: pos > 0}
	}
	first, last, total, err := ParseContentRange(resp.Header.Get("Content-Range"))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", x.redacted(), err)
	}
	if total < 0 {
		// "bytes a-b/*": the total may be known from elsewhere.
		total = size
		if total < 0 {
			total = d.spec.Size
		}
		if total < 0 {
			// No length to split by or to check ranges against:
			// fetch the file as one plain stream instead.
			return 0, &restartError{reason: fmt.Errorf("%s sent a range of unknown total", x.redacted()), discard: true, single: true}
		}
		if last >= total {
			return 0, fmt.Errorf("%s answered bytes %d-%d of a %d-byte file", x.redacted(), first, last, total)
		}
	}
	if first != pos || (end >= 0 && last > end-1) {
		return 0, fmt.Errorf("%s answered bytes %d-%d to a request for %d-%s", x.redacted(), first, last, pos, endStr(end))
	}
	if resp.ContentLength >= 0 && resp.ContentLength != last-first+1 {
		return 0, fmt.Errorf("%s sent Content-Length %d for a %d-byte range", x.redacted(), resp.ContentLength, last-first+1)
	}
	if size >= 0 && total != size || !sameVersion(x.etag, x.lastMod, resp.Header) {
		return 0, &restartError{reason: fmt.Errorf("%s: %w", x.redacted(), ErrChanged), discard: true}
	}
	if t.probe {
		if err := d.learn(t, resp, total, true); err != nil {
			return 0, err
		}
		d.notify()
	}
	return t.stream(x.ctx, resp.Body, pos, last+1, last+1-first, x.hostport, x.stall)
}

// whole takes a 200: the whole file from byte 0, written only at offset 0
// and only if it is of the version being written.
func (x *exchange) whole() (int64, error) {
	t, d, resp := x.t, x.t.d, x.resp
	if !sameVersion(x.etag, x.lastMod, resp.Header) || x.size >= 0 && resp.ContentLength >= 0 && resp.ContentLength != x.size {
		return 0, &restartError{reason: fmt.Errorf("%s: %w", x.redacted(), ErrChanged), discard: true}
	}
	if x.pos != 0 {
		// A 200 body starts at byte 0: never write it at an offset.
		return 0, &restartError{reason: fmt.Errorf("%s ignored a range request", x.redacted()), discard: true, single: true, broken: true}
	}
	if t.probe {
		if err := d.learn(t, resp, resp.ContentLength, false); err != nil {
			return 0, err
		}
		d.notify()
	} else {
		d.stopSplitting()
	}
	return t.stream(x.ctx, resp.Body, 0, x.end, resp.ContentLength, x.hostport, x.stall)
}

// unsatisfiable takes a 416: an empty file's answer to bytes=0-, or a file
// that shrank.
func (x *exchange) unsatisfiable() (int64, error) {
	if x.t.probe && x.pos == 0 && x.end < 0 {
		// An empty file answers bytes=0- with 416: ask again plainly.
		x.t.d.stopSplitting()
		return 0, fmt.Errorf("%s answered 416 to bytes=0-", x.redacted())
	}
	return 0, &restartError{reason: fmt.Errorf("%s: %w (416 to a range it had)", x.redacted(), ErrChanged), discard: true}
}

// retryLater takes a status worth retrying (429, 5xx): after Retry-After
// if the server gave one (do told the scheduler of a throttle already).
func (x *exchange) retryLater() (int64, error) {
	d, code := x.t.d, x.resp.StatusCode
	wait := retryAfter(x.resp.Header.Get("Retry-After"), d.clock.now(), d.cfg.MaxRetryAfter)
	return 0, &retryAfterError{err: &StatusError{Code: code, URL: x.redacted()}, wait: wait}
}

// refused takes any other status: final, unless it came from a redirect
// target remembered, which may have expired (signed URLs): then the next
// try resolves the redirect again.
func (x *exchange) refused() (int64, error) {
	d, code := x.t.d, x.resp.StatusCode
	if x.resolved {
		d.mu.Lock()
		d.resolved = ""
		d.mu.Unlock()
		return 0, &StatusError{Code: code, URL: x.redacted()}
	}
	return 0, &fatalError{&StatusError{Code: code, URL: x.redacted()}}
}

// redacted returns the URL requested as messages name it. Only a response
// that fails needs it: not computed for every request.
func (x *exchange) redacted() string { return redact.URL(x.src) }

func endStr(end int64) string {
	if end < 0 {
		return ""
	}
	return strconv.FormatInt(end-1, 10)
}

func (d *Download) stopSplitting() {
	d.mu.Lock()
	d.noRange = true
	d.mu.Unlock()
}

// sameVersion reports whether a response's header names the version the
// bytes on disk came with (etag as the server sent it, lastMod), or none
// was recorded. A response that drops or changes the ETag is another
// version; so is one with another Last-Modified, or, when no strong ETag
// vouches for it, one without a Last-Modified.
func sameVersion(etag, lastMod string, h http.Header) bool {
	if etag != "" && h.Get("ETag") != etag {
		return false
	}
	if lm := h.Get("Last-Modified"); lastMod != "" && lm != lastMod && (lm != "" || strongETag(etag) == "") {
		return false
	}
	return true
}

// ifRange returns the If-Range value: the strong ETag, else Last-Modified.
// A weak ETag is never sent: it cannot guarantee identical bytes.
func ifRange(etag, lastMod string) string {
	if etag != "" {
		return etag
	}
	return lastMod
}

// strongETag returns tag if it is a strong entity tag, else "".
func strongETag(tag string) string {
	if len(tag) < 2 || !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) {
		return ""
	}
	return tag
}
