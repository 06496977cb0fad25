package segdl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// Kinds of task failure, classified where they happen.
type (
	// fatalError fails the file's current source: no retry helps.
	fatalError struct{ err error }
	// restartError makes the download start again once no task runs.
	restartError struct {
		reason  error
		discard bool // drop the bytes on disk (the file changed)
		single  bool // fetch as one stream from now on
		broken  bool // bytes were lost to a failure: counts as an attempt
	}
)

func (e *fatalError) Error() string   { return e.err.Error() }
func (e *fatalError) Unwrap() error   { return e.err }
func (e *restartError) Error() string { return e.reason.Error() }
func (e *restartError) Unwrap() error { return e.reason }

// errStop means the task's work was taken away (a restart or the end of
// its segment); it is not a failure.
var errStop = errors.New("segdl: task stopped")

// errParked means the task gave its connection back to wait for a retry.
var errParked = errors.New("segdl: waiting to retry")

// park gives t's work back until wait has passed: the segment is requeued
// with its attempt count, and notify wakes the scheduler when it may be
// claimed again.
func (d *Download) park(t *Task, wait time.Duration, attempts int, why error) {
	d.mu.Lock()
	t.seg.attempts = attempts
	if until := time.Now().Add(wait); until.After(d.notBefore) {
		d.notBefore = until
		d.waitWhy = why
	}
	d.mu.Unlock()
	time.AfterFunc(wait, d.notify)
}

// errNotModified ends a download whose conditional request got a 304.
var errNotModified = errors.New("segdl: not modified")

var bufPool sync.Pool

// getBuf returns a buffer of size bytes from bufPool; put it back after use.
func getBuf(size int) *[]byte {
	bp, _ := bufPool.Get().(*[]byte)
	if bp == nil || len(*bp) != size {
		b := make([]byte, size)
		bp = &b
	}
	return bp
}

// Run fetches the task's range, retrying as Config says, and returns when
// the range is complete, the download cannot go on, or ctx is done. The
// last task of a download to return verifies and publishes the file.
func (t *Task) Run(ctx context.Context) {
	d := t.d
	tctx, cancel := context.WithCancel(ctx)
	d.mu.Lock()
	d.cancels[t] = cancel
	d.mu.Unlock()
	err := t.run(tctx)
	if t.mirror && err != nil && !errors.Is(err, errStop) && tctx.Err() == nil {
		d.mirrorFailed(t, err)
		err = errStop
	}
	cancel()
	d.taskEnded(t, err, ctx)
}

func (t *Task) run(ctx context.Context) error {
	d := t.d
	if t.probe {
		if err := d.prepare(t); err != nil {
			if tooManyFiles(err) {
				return d.waitForFD(t, err)
			}
			return &fatalError{err}
		}
	}
	bp := getBuf(d.cfg.ChunkSize)
	defer bufPool.Put(bp)
	t.buf = *bp
	attempts := t.seg.attempts
	for {
		progress, err := t.once(ctx)
		if err == nil || errors.Is(err, errStop) || errors.Is(err, errNotModified) || t.mirror {
			return err // a mirror gets no retry: another source takes its range
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fe *fatalError
		var re *restartError
		if errors.As(err, &fe) || errors.As(err, &re) {
			return err
		}
		d.mu.Lock()
		resume, written := d.mayResumeLocked(), d.done.total() > 0
		d.mu.Unlock()
		if written && !resume {
			// Nothing proves that a request for the rest would continue
			// these bytes: start over, once no task runs.
			if errors.Is(err, errShort) {
				return &restartError{reason: err, discard: true, single: true, broken: true}
			}
			return &restartError{reason: err, discard: true, broken: true}
		}
		if errors.Is(err, errShort) {
			// A server that sends less than asked, all of what it said
			// it would send: not a failure; ask for the rest at once.
			continue
		}
		if tooManyFiles(err) {
			// No socket to be had: not this file's failure. Give the
			// connection back until other downloads close theirs.
			t.seg.attempts = attempts
			return d.waitForFD(t, err)
		}
		// A request that made real progress starts the count again, so a
		// long file on a flaky link is not failed by its length alone.
		if progress >= min(1<<20, d.cfg.MinSegment) {
			attempts = 0
		}
		attempts++
		if attempts > d.cfg.Retries {
			if attempts > 1 {
				return fmt.Errorf("%w, %d times", err, attempts)
			}
			return err
		}
		wait := d.backoff(attempts)
		var ra *retryAfterError
		if errors.As(err, &ra) && ra.wait > 0 {
			wait = ra.wait
		}
		if d.cfg.OnRetry != nil {
			d.cfg.OnRetry(d.spec.Path, attempts, d.cfg.Retries, wait, err)
		}
		if wait >= d.cfg.ParkAfter {
			d.park(t, wait, attempts, err)
			return errParked
		}
		if !sleepCtx(ctx, wait) {
			return ctx.Err()
		}
	}
}

// waitForFD parks the probe until file descriptors may be free again
// (other downloads end and close theirs), a bounded number of times.
func (d *Download) waitForFD(t *Task, err error) error {
	d.mu.Lock()
	d.fdWaits++
	n := d.fdWaits
	var idle *os.File
	if t.probe && d.file != nil && d.done.total() == 0 && !d.journaled {
		// A probe that got no socket has written nothing: its
		// temporary file goes too, so that downloads waiting for
		// descriptors hold none; the next probe creates it afresh.
		idle, d.file, d.sized = d.file, nil, false
	}
	d.mu.Unlock()
	if idle != nil {
		idle.Close()
		d.root.Remove(d.partName())
	}
	if n > fdWaitLimit {
		return &fatalError{fmt.Errorf("%w: %w", errNoFD, err)}
	}
	wait := max(d.backoff(n), d.cfg.BackoffBase)
	d.mu.Lock()
	if until := time.Now().Add(wait); until.After(d.notBefore) {
		d.notBefore = until
	}
	d.mu.Unlock()
	time.AfterFunc(wait, d.notify)
	return errParked
}

// backoff returns a full-jitter exponential backoff for the n-th retry.
func (d *Download) backoff(n int) time.Duration {
	ceil := d.cfg.BackoffBase << min(n-1, 20)
	if ceil > d.cfg.BackoffMax || ceil <= 0 {
		ceil = d.cfg.BackoffMax
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

type retryAfterError struct {
	err  error
	wait time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// once makes one request for the task's remaining range and writes what
// it gets. It returns the bytes written and nil when the range is complete.
func (t *Task) once(ctx context.Context) (int64, error) {
	d := t.d
	d.mu.Lock()
	if t.gen != d.gen || d.restart != nil || d.err != nil {
		d.mu.Unlock()
		return 0, errStop
	}
	pos, end := t.seg.pos, t.seg.end
	etag, lastMod, size := d.etag, d.lastMod, d.size
	conditional := t.probe && d.conditional && d.gen == 0 && d.done.total() == 0
	plain := t.probe && pos == 0 && end < 0 && d.noRange
	src, resolved := d.srcURLLocked(t.src)
	d.mu.Unlock()
	if end >= 0 && pos >= end {
		return 0, nil
	}

	hdr := http.Header{}
	if !plain {
		if end >= 0 {
			hdr.Set("Range", fmt.Sprintf("bytes=%d-%d", pos, end-1))
		} else {
			hdr.Set("Range", fmt.Sprintf("bytes=%d-", pos))
		}
		if v := ifRange(strongETag(etag), lastMod); v != "" {
			hdr.Set("If-Range", v)
		}
	}
	if conditional {
		if v := d.spec.IfNoneMatch; v != "" {
			hdr.Set("If-None-Match", v)
		}
		if v := d.spec.IfModifiedSince; v != "" {
			hdr.Set("If-Modified-Since", v)
		}
	}
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stall := newStall(d.cfg.StallTimeout, cancel)
	defer stall.stop()
	var conn net.Conn
	reqCtx = httptrace.WithClientTrace(reqCtx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { conn = info.Conn },
	})
	resp, hostport, err := d.do(reqCtx, t, src, hdr)
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
		if !t.consumed && conn != nil {
			conn.Close()
		}
		resp.Body.Close()
	}()
	redacted := redact.URL(src)
	if t.mirror {
		if err := mirrorAgrees(resp, pos, end, size, etag, lastMod); err != nil {
			return 0, fmt.Errorf("%s: %w", redacted, err)
		}
	}

	switch code := resp.StatusCode; {
	case code == http.StatusNotModified && conditional:
		return 0, errNotModified
	case code == http.StatusPartialContent:
		if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
			return 0, &restartError{reason: fmt.Errorf("%s sent a range with Content-Encoding %q", redacted, ce), discard: true, single: true, broken: pos > 0}
		}
		first, last, total, err := ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", redacted, err)
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
				return 0, &restartError{reason: fmt.Errorf("%s sent a range of unknown total", redacted), discard: true, single: true}
			}
			if last >= total {
				return 0, fmt.Errorf("%s answered bytes %d-%d of a %d-byte file", redacted, first, last, total)
			}
		}
		if first != pos || (end >= 0 && last > end-1) {
			return 0, fmt.Errorf("%s answered bytes %d-%d to a request for %d-%s", redacted, first, last, pos, endStr(end))
		}
		if resp.ContentLength >= 0 && resp.ContentLength != last-first+1 {
			return 0, fmt.Errorf("%s sent Content-Length %d for a %d-byte range", redacted, resp.ContentLength, last-first+1)
		}
		if size >= 0 && total != size || !sameVersion(etag, lastMod, resp.Header) {
			return 0, &restartError{reason: fmt.Errorf("%s: %w", redacted, ErrChanged), discard: true}
		}
		if t.probe {
			if err := d.learn(t, resp, total, true); err != nil {
				return 0, err
			}
			d.notify()
		}
		return t.stream(reqCtx, resp.Body, pos, last+1, last+1-first, hostport, stall)
	case code == http.StatusOK:
		if !sameVersion(etag, lastMod, resp.Header) || size >= 0 && resp.ContentLength >= 0 && resp.ContentLength != size {
			return 0, &restartError{reason: fmt.Errorf("%s: %w", redacted, ErrChanged), discard: true}
		}
		if pos != 0 {
			// A 200 body starts at byte 0: never write it at an offset.
			return 0, &restartError{reason: fmt.Errorf("%s ignored a range request", redacted), discard: true, single: true, broken: true}
		}
		if t.probe {
			if err := d.learn(t, resp, resp.ContentLength, false); err != nil {
				return 0, err
			}
			d.notify()
		} else {
			d.stopSplitting()
		}
		return t.stream(reqCtx, resp.Body, 0, end, resp.ContentLength, hostport, stall)
	case code == http.StatusRequestedRangeNotSatisfiable:
		if t.probe && pos == 0 && end < 0 {
			// An empty file answers bytes=0- with 416: ask again plainly.
			d.stopSplitting()
			return 0, fmt.Errorf("%s answered 416 to bytes=0-", redacted)
		}
		return 0, &restartError{reason: fmt.Errorf("%s: %w (416 to a range it had)", redacted, ErrChanged), discard: true}
	case retryable(code):
		wait := retryAfter(resp.Header.Get("Retry-After"), time.Now(), d.cfg.MaxRetryAfter)
		if (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && d.cfg.OnThrottle != nil {
			d.cfg.OnThrottle(hostport, wait)
		}
		return 0, &retryAfterError{err: &StatusError{Code: code, URL: redacted}, wait: wait}
	default:
		if resolved {
			// A redirect target may have expired (signed URLs): resolve again.
			d.mu.Lock()
			d.resolved = ""
			d.mu.Unlock()
			return 0, &StatusError{Code: code, URL: redacted}
		}
		return 0, &fatalError{&StatusError{Code: code, URL: redacted}}
	}
}

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

// stream writes a response body that starts at file offset pos. limit is
// the offset past the last byte the response carries (-1 if unknown) and
// want the number of body bytes expected (-1 if unknown). It returns the
// bytes written and nil once the task's segment is complete.
func (t *Task) stream(ctx context.Context, body io.Reader, pos, limit, want int64, hostport string, stall *stall) (int64, error) {
	d := t.d
	var lim Limiter
	if d.cfg.Limiter != nil {
		lim = d.cfg.Limiter(hostport)
	}
	b := t.buf
	start, got := pos, int64(0)
	d.mu.Lock()
	t.startedLocked(time.Now())
	end := t.seg.end
	d.mu.Unlock()
	for {
		n := int64(len(b))
		if limit >= 0 {
			n = min(n, limit-pos)
		}
		if end >= 0 {
			n = min(n, end-pos)
		}
		if n <= 0 {
			if end >= 0 && pos >= end {
				return pos - start, nil
			}
			break
		}
		if lim != nil {
			stall.pause()
			if err := lim.WaitN(ctx, int(n)); err != nil {
				return pos - start, err
			}
			stall.resume()
		}
		k, rerr := readSome(body, b[:n], stall)
		if lb := d.limitBytes(); limit < 0 && lb >= 0 && pos+int64(k) > lb {
			return pos - start, &fatalError{fmt.Errorf("%w: the server sent more than %d bytes", ErrSize, lb)}
		}
		got += int64(k)
		t.consumed = rerr == io.EOF || want >= 0 && got >= want
		d.received.Add(int64(k))
		if k > 0 {
			if _, err := d.ops.writeAt(d.file, b[:k], pos); err != nil {
				return pos - start, &fatalError{fmt.Errorf("writing %s: %w", d.spec.Path, err)}
			}
			var stop bool
			pos, end, stop = t.commit(pos, int64(k))
			if stop {
				if d.cfg.OnSuccess != nil {
					d.cfg.OnSuccess(hostport)
				}
				return pos - start, nil
			}
		}
		if rerr == io.EOF {
			if limit < 0 && want < 0 {
				// One stream of unknown length: its end is the file's end.
				t.endOfStream(pos)
				return pos - start, nil
			}
			if want >= 0 && got < want {
				return pos - start, fmt.Errorf("server closed the connection after %s of %s", fmtBytes(got), fmtBytes(want))
			}
			break
		}
		if rerr != nil {
			return pos - start, stall.explain(rerr, fmt.Sprintf("after %s of %s", fmtBytes(got), fmtBytes(want)))
		}
	}
	if d.cfg.OnSuccess != nil {
		d.cfg.OnSuccess(hostport)
	}
	if end >= 0 && pos < end {
		if limit >= 0 && pos >= limit {
			return pos - start, fmt.Errorf("%w: it ended at byte %d, before %d", errShort, pos, end)
		}
		return pos - start, fmt.Errorf("response ended at byte %d, before %d", pos, end)
	}
	return pos - start, nil
}

// errShort means a response carried all it announced, less than asked.
var errShort = errors.New("segdl: short range")

// readSome reads until b is full, EOF or an error, resetting the stall
// timer whenever bytes arrive.
func readSome(r io.Reader, b []byte, st *stall) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		if k > 0 {
			st.progress()
		}
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func fmtBytes(n int64) string {
	switch {
	case n < 0:
		return "an unknown length"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// stall cancels a request when no byte arrives for a while.
type stall struct {
	d     time.Duration
	t     *time.Timer
	fired atomic.Bool
}

func newStall(d time.Duration, cancel context.CancelFunc) *stall {
	s := &stall{d: d}
	if d > 0 {
		s.t = time.AfterFunc(d, func() { s.fired.Store(true); cancel() })
	}
	return s
}

func (s *stall) progress() {
	if s.t != nil {
		s.t.Reset(s.d)
	}
}
func (s *stall) pause() {
	if s.t != nil {
		s.t.Stop()
	}
}
func (s *stall) resume() { s.progress() }
func (s *stall) stop()   { s.pause() }

// explain turns the error of a request the stall timer cancelled into one
// that says so.
func (s *stall) explain(err error, when string) error {
	if s.fired.Load() {
		return fmt.Errorf("no data for %v %s", s.d, when)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timed out %s: %w", when, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("server closed the connection %s", when)
	}
	if errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("server reset the connection %s", when)
	}
	return err
}

// certError reports whether err is a TLS certificate verification failure.
func certError(err error) bool {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// credentialNames are headers that carry credentials whatever their
// value; credentialParts mark a name as one when it contains them.
var (
	credentialNames = map[string]bool{
		"authorization": true, "proxy-authorization": true, "cookie": true,
		"private-token": true, "job-token": true, "deploy-token": true,
		"x-api-key": true, "x-auth-token": true, "x-access-token": true,
		"x-jfrog-art-api": true, "x-vault-token": true, "x-amz-security-token": true,
	}
	credentialParts = []string{"auth", "token", "secret", "password", "passwd", "api-key", "apikey", "cookie", "session", "credential", "signature"}
)

// CredentialHeader reports whether a header named name carries a
// credential whatever its value: Authorization, Proxy-Authorization,
// Cookie, PRIVATE-TOKEN, JOB-TOKEN, DEPLOY-TOKEN, X-API-Key, X-Auth-Token,
// X-Access-Token, X-JFrog-Art-Api, X-Vault-Token, X-Amz-Security-Token,
// any name that contains auth, token, secret, password, passwd, api-key,
// apikey, cookie, session, credential or signature, and any name that
// ends in key (Ocp-Apim-Subscription-Key), in any case.
func CredentialHeader(name string) bool {
	n := strings.ToLower(name)
	if credentialNames[n] || strings.HasSuffix(n, "key") {
		return true
	}
	for _, p := range credentialParts {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// do sends a GET for rawurl with extra headers, following redirects itself.
// Every hop's headers come from headersFor, the one place that decides what
// a host may see, and every hop is charged to its host through slot. It
// returns the final response and its host:port.
func (d *Download) do(ctx context.Context, t *Task, rawurl string, extra http.Header) (*http.Response, string, error) {
	slot := t.slot
	u, err := url.Parse(rawurl)
	if err != nil {
		return nil, "", &fatalError{fmt.Errorf("bad url %q", redact.URL(rawurl))}
	}
	var chain []string       // for messages; built at the first redirect,
	var seen map[string]bool // so that a plain request pays for neither
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, "", &fatalError{err}
		}
		req.Header = d.headersFor(u)
		for k, v := range extra {
			req.Header[k] = v
		}
		req.Header.Set("Accept-Encoding", "identity")
		if d.cfg.UserAgent != "" {
			req.Header.Set("User-Agent", d.cfg.UserAgent)
		}
		if slot != nil {
			if err := slot.Send(ctx, hostPort(u)); err != nil {
				return nil, "", err
			}
		}
		d.requests.Add(1)
		resp, err := d.cfg.Client.Do(req)
		if err != nil {
			// net/http names the URL in its errors with the password
			// removed but the query kept: signed URLs' tokens stay out.
			var ue *url.Error
			if errors.As(err, &ue) {
				ue.URL = redact.URL(ue.URL)
			}
			return nil, "", err
		}
		if slot != nil {
			slot.Answered(resp.StatusCode)
		}
		switch resp.StatusCode {
		case 301, 302, 303, 307, 308:
		default:
			if hop > 0 {
				d.mu.Lock()
				if t.gen == d.gen {
					d.setResolvedLocked(t.src, u.String())
				}
				d.mu.Unlock()
			}
			return resp, hostPort(u), nil
		}
		loc := resp.Header.Get("Location")
		io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
		if chain == nil {
			chain = []string{redact.URL(u.String())}
			seen = map[string]bool{u.String(): true}
		}
		if loc == "" {
			return nil, "", &fatalError{fmt.Errorf("%w: %d without Location after %s", ErrRedirect, resp.StatusCode, strings.Join(chain, " -> "))}
		}
		next, err := u.Parse(loc)
		if err != nil {
			return nil, "", &fatalError{fmt.Errorf("%w: bad Location %s after %s", ErrRedirect, redact.URL(loc), strings.Join(chain, " -> "))}
		}
		chain = append(chain, redact.URL(next.String()))
		switch {
		case next.Scheme != "http" && next.Scheme != "https":
			return nil, "", &fatalError{fmt.Errorf("%w: to a %s URL: %s", ErrRedirect, next.Scheme, strings.Join(chain, " -> "))}
		case u.Scheme == "https" && next.Scheme == "http":
			return nil, "", &fatalError{fmt.Errorf("%w: from https to http refused: %s", ErrRedirect, strings.Join(chain, " -> "))}
		case seen[next.String()]:
			return nil, "", &fatalError{fmt.Errorf("%w: loop: %s", ErrRedirect, strings.Join(chain, " -> "))}
		case hop+1 > maxRedirects:
			return nil, "", &fatalError{fmt.Errorf("%w: more than %d redirects: %s", ErrRedirect, maxRedirects, strings.Join(chain, " -> "))}
		}
		seen[next.String()] = true
		u = next
	}
}

const maxRedirects = 10

// headersFor returns the configured headers that a request to u may carry:
// the global ones (credentials only to the file's listed origins), the
// ones configured for u's host, and the file's own if u is one of its
// listed origins. It is computed afresh for every hop, so no header
// survives a redirect to an origin that may not see it.
func (d *Download) headersFor(u *url.URL) http.Header {
	h := http.Header{}
	listed := false
	for _, lu := range d.listed {
		if sameOrigin(lu, u) {
			listed = true
			break
		}
	}
	for k, v := range d.cfg.Header {
		if CredentialHeader(k) && !listed {
			continue
		}
		h[k] = v
	}
	if listed {
		for k, v := range d.cfg.Credentials {
			h[k] = v
		}
	}
	if d.cfg.HostHeader != nil {
		for k, v := range d.cfg.HostHeader(hostPort(u)) {
			h[k] = v
		}
	}
	if listed {
		for k, v := range d.spec.Header {
			h[k] = v
		}
		// Credentials from outside the manifest never replace the URL's
		// own userinfo (net/http sends it only when no Authorization
		// header is set) nor an Authorization configured.
		if d.cfg.Authorization != nil && h.Get("Authorization") == "" && u.User == nil {
			if a := d.cfg.Authorization(hostPort(u)); a != "" {
				h.Set("Authorization", a)
			}
		}
	}
	return h
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && hostPort(a) == hostPort(b)
}

// HostPort returns the "host:port" of rawurl as segdl and schedulers key
// hosts: lower case, with the scheme's default port made explicit; "" if
// rawurl does not parse.
func HostPort(rawurl string) string {
	u, err := url.Parse(rawurl)
	if err != nil {
		return ""
	}
	return hostPort(u)
}

// hostPort returns u's host with an explicit port, lower case.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
