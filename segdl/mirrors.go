package segdl

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/bulkdl/bulkdl/redact"
)

// Mirrors in parallel. Once the probe of the file's source has learned its
// size and validator, ranges may also be fetched from the other URLs of the
// Spec, each charged to its own host. A mirror's every response must prove
// that it serves the same bytes before one of them is written: a 206 for
// exactly the range asked, of a file of the same size, with the same strong
// ETag (or, when the source has none, the same Last-Modified). A mirror
// that fails to, or fails in any other way, is dropped for the rest of the
// download and its range goes back to the queue; one that refuses (429,
// 503) is left alone until its Retry-After has passed. The source itself
// is never dropped for a mirror's sake, so the file never depends on one.

// mirror is the state of one of the Spec's URLs as a source of ranges.
type mirror struct {
	resolved  string    // the redirect target once known, else ""
	dropped   error     // why it is no longer used, or nil
	notBefore time.Time // refused: not asked again before this
	active    int       // tasks fetching from it
	speed     float64   // bytes per second of one connection, from its last tasks; 0 unknown
}

// errMirror marks a mirror's response that does not prove the same bytes.
var errMirror = errors.New("segdl: mirror disagrees")

// parallelLocked reports whether ranges may come from mirrors now: the
// file is split into ranges, and its size and a validator are known.
func (d *Download) parallelLocked() bool {
	return len(d.spec.URLs) > 1 && !d.noMirrors && d.splittable && !d.noRange && d.size >= 0 && (d.etag != "" || d.lastMod != "")
}

// sourceLocked picks the URL a new range task fetches from: of the
// source and the usable mirrors whose host has room, the one with the
// fewest tasks, the source on a tie. It returns -1 if none has room.
func (d *Download) sourceLocked(room func(hostport string) bool) int {
	best := -1
	if room == nil || room(d.hostLocked()) {
		best = d.url
	}
	if !d.parallelLocked() {
		return best
	}
	now := d.clock.now()
	for i := range d.mirrors {
		m := &d.mirrors[i]
		if i == d.url || m.dropped != nil || now.Before(m.notBefore) {
			continue
		}
		if best >= 0 && m.active >= d.mirrors[best].active {
			continue
		}
		if room != nil && !room(d.mirrorHostLocked(i)) {
			continue
		}
		best = i
	}
	return best
}

// srcURLLocked returns the URL a task from URL i requests, and whether it
// is a redirect target.
func (d *Download) srcURLLocked(i int) (string, bool) {
	if i == d.url {
		if d.resolved != "" {
			return d.resolved, true
		}
		return d.spec.URLs[i], false
	}
	if r := d.mirrors[i].resolved; r != "" {
		return r, true
	}
	return d.spec.URLs[i], false
}

func (d *Download) mirrorHostLocked(i int) string {
	src, resolved := d.srcURLLocked(i)
	if !resolved {
		return d.targets[i].hostport
	}
	u, err := url.Parse(src)
	if err != nil {
		return ""
	}
	return hostPort(u)
}

// firstHopLocked returns what the first request of a task from URL i goes
// to, and whether it is a redirect target remembered (parsed afresh, its
// headers computed at its request) rather than URL i itself.
func (d *Download) firstHopLocked(i int) (target, bool) {
	src, resolved := d.srcURLLocked(i)
	if !resolved {
		if tg := &d.targets[i]; tg.asked {
			d.baseHeaderLocked(i) // worth keeping from the second request on
		} else {
			tg.asked = true
		}
		return d.targets[i], false
	}
	tg := target{raw: src}
	if u, err := url.Parse(src); err == nil {
		tg.u, tg.hostport = u, hostPort(u)
	}
	return tg, true
}

// setResolvedLocked records where URL i redirects to.
func (d *Download) setResolvedLocked(i int, target string) {
	if i == d.url {
		d.resolved = target
	} else if i >= 0 && i < len(d.mirrors) {
		d.mirrors[i].resolved = target
	}
}

// mirrorFailed takes a mirror out of use after its task failed with err:
// until its Retry-After has passed if it refused, else for good. The task's
// range goes back to the queue.
func (d *Download) mirrorFailed(t *Task, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := &d.mirrors[t.src]
	var ra *retryAfterError
	var se *StatusError
	if errors.As(err, &ra) && errors.As(err, &se) && (se.Code == http.StatusTooManyRequests || se.Code == http.StatusServiceUnavailable) {
		wait := max(ra.wait, d.cfg.BackoffBase)
		m.notBefore = d.clock.now().Add(wait)
		d.clock.afterFunc(wait, d.notify)
		return
	}
	if m.dropped == nil {
		m.dropped = err
	}
}

// mirrorAgrees checks a mirror's response to a request for [pos, end)
// against the file the source described: a 206 for that range, of the
// same size, of the same version. Refusals pass: the caller waits them out.
func mirrorAgrees(resp *http.Response, pos, end, size int64, etag, lastMod string) error {
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		return nil
	case code != http.StatusPartialContent:
		return fmt.Errorf("%w: answered %d to a range request", errMirror, code)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return fmt.Errorf("%w: Content-Encoding %q", errMirror, ce)
	}
	first, last, total, err := ParseContentRange(resp.Header.Get("Content-Range"))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", errMirror, err)
	case total != size:
		return fmt.Errorf("%w: a %d-byte file, the source has %d", errMirror, total, size)
	case first != pos || end >= 0 && last > end-1:
		return fmt.Errorf("%w: bytes %d-%d to a request for %d-%s", errMirror, first, last, pos, endStr(end))
	case etag != "" && resp.Header.Get("ETag") != etag:
		return fmt.Errorf("%w: ETag %q, the source has %q", errMirror, resp.Header.Get("ETag"), etag)
	case etag == "" && resp.Header.Get("Last-Modified") != lastMod:
		return fmt.Errorf("%w: Last-Modified %q, the source has %q", errMirror, resp.Header.Get("Last-Modified"), lastMod)
	}
	return nil
}

// MirrorStatus describes how a download used one of its URLs.
type MirrorStatus struct {
	URL     string // redacted
	Dropped error  // why it was dropped, or nil
}

// Mirrors returns the status of each of the Spec's URLs.
func (d *Download) Mirrors() []MirrorStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]MirrorStatus, len(d.spec.URLs))
	for i, u := range d.spec.URLs {
		out[i] = MirrorStatus{URL: redact.URL(u), Dropped: d.mirrors[i].dropped}
	}
	return out
}

// nextSourceLocked returns the URL to fail over to when the source fails:
// the next one not dropped, or -1.
func (d *Download) nextSourceLocked() int {
	for i := d.url + 1; i < len(d.spec.URLs); i++ {
		if d.mirrors[i].dropped == nil {
			return i
		}
	}
	return -1
}
