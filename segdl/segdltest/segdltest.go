// Package segdltest provides a fault-injecting HTTP origin on loopback for
// tests of downloaders, in the spirit of net/http/httptest.
//
// A Server serves files held in memory with single-range semantics
// (Range, If-Range, strong ETag, Last-Modified), and can be told to cap each
// response's bytes per second, wait before the first byte, and inject faults
// chosen per request. It counts requests in flight (and the peak) and logs
// every request (unless NoLog), so tests can assert what the server saw.
//
// Faults change bytes, not only headers, so a downloader that trusts a
// lying header writes wrong bytes a test can see: a shifted Content-Range
// carries the bytes it names, a gzip range is really compressed, and a
// file can be replaced by another version mid-download (PutAfter), with or
// without new validators, by a server honouring or ignoring If-Range.
package segdltest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// File is content the server serves at a path.
type File struct {
	Data         []byte
	ETag         string    // quoted, e.g. `"v1"`; W/ prefix for weak; "" for none
	LastModified time.Time // zero for none
	NoRange      bool      // ignore Range headers (answer 200 with the whole body)

	IgnoreIfRange bool  // serve the range even when If-Range does not match
	MaxRange      int64 // a 206 carries at most this many bytes; 0 = no cap
	UnknownTotal  bool  // Content-Range "bytes a-b/*"
	DropOn206     bool  // 206 responses carry no ETag and no Last-Modified
	WeakOn206     bool  // 206 responses carry the ETag as a weak one
}

// FaultKind names a way a response goes wrong.
type FaultKind int

// The faults a Server can inject.
const (
	None        FaultKind = iota
	Truncate              // send After bytes of the body, then close the connection
	Reset                 // send After bytes, then reset the connection (RST)
	Stall                 // send After bytes, then stop sending until the client gives up
	WrongLength           // declare a Content-Length of Value more than is sent, send the real body
	LongBody              // send Value extra bytes beyond the declared length
	WrongRange            // answer 206 with a Content-Range shifted by Value bytes, and the bytes it names
	IgnoreRange           // answer 200 with the whole body
	Gzip                  // send the body gzip-compressed, with Content-Encoding: gzip and no Content-Length
	WrongTotal            // answer 206 with the total of Data (another version) and its bytes
	Status                // answer Code (e.g. 429, 503, 404) with Retry-After RetryAfter
	Redirect              // answer 302 to Location
	SlowHeaders           // wait Delay before sending the response headers
)

// Fault is what one request gets.
type Fault struct {
	Kind       FaultKind
	After      int64
	Value      int64
	Code       int
	RetryAfter string
	Location   string
	Delay      time.Duration
	Data       []byte // WrongTotal: the other version served
}

// Request is the log entry of one request.
type Request struct {
	Method, Path, Host string
	Proto              string // "HTTP/1.1", "HTTP/2.0"
	Header             http.Header
	Fault              FaultKind
}

// Gauge counts requests in flight and their peak. Several servers can
// share one to show a budget held across hosts.
type Gauge struct{ cur, peak atomic.Int64 }

func (g *Gauge) enter() { g.raisePeak(g.cur.Add(1)) }

// tryEnter counts one more in flight if fewer than limit are.
func (g *Gauge) tryEnter(limit int64) bool {
	for {
		cur := g.cur.Load()
		if cur >= limit {
			return false
		}
		if g.cur.CompareAndSwap(cur, cur+1) {
			g.raisePeak(cur + 1)
			return true
		}
	}
}

func (g *Gauge) raisePeak(cur int64) {
	for {
		p := g.peak.Load()
		if cur <= p || g.peak.CompareAndSwap(p, cur) {
			return
		}
	}
}

func (g *Gauge) leave() { g.cur.Add(-1) }

// Current returns the requests in flight now.
func (g *Gauge) Current() int64 { return g.cur.Load() }

// Peak returns the most requests that were in flight at once.
func (g *Gauge) Peak() int64 { return g.peak.Load() }

// Stats are the server's counters.
type Stats struct {
	Requests     int64 `json:"requests"`
	Connections  int64 `json:"connections"`    // TCP connections accepted
	PeakInFlight int64 `json:"peak_in_flight"` // of the requests not refused
	BytesSent    int64 `json:"bytes_sent"`
	Refused      int64 `json:"refused"` // by MaxInFlight
}

// Server is a fault-injecting origin. Set its fields before the first
// request; they are not safe to change while requests run.
type Server struct {
	*httptest.Server

	// RatePerConn caps each response body at this many bytes per second;
	// 0 is unlimited. It may be changed while requests run.
	RatePerConn atomic.Int64
	// Latency is waited before each response's headers.
	Latency time.Duration
	// Fault, if set, chooses the fault for the n-th request (1-based).
	Fault func(r *http.Request, n int64) Fault
	// Shared, if set, also counts this server's requests in flight.
	Shared *Gauge
	// MaxInFlight, if positive, refuses any request beyond this many in
	// flight at once with 503 and Retry-After: RefuseRetryAfter, as an
	// origin that enforces its own connection limit does. Refused
	// requests do not count as in flight.
	MaxInFlight      int64
	RefuseRetryAfter string
	// RefuseGrace is how long a request beyond MaxInFlight waits for room
	// before it is refused: the moment the server takes to learn that a
	// client closed a connection, which a real server also needs.
	RefuseGrace time.Duration
	// NoLog, if set, keeps no request log (Requests returns nil): for a
	// server that outlives a test, such as bulkdl-origin or make bench's,
	// whose log would otherwise keep 0.5-2 KiB per request it ever served
	// (a copy of its headers), and its collector scanning all of it.
	NoLog bool

	mu    sync.Mutex
	files map[string]*File
	later []swap
	log   []Request

	n, sent, conns, refused atomic.Int64
	gauge                   Gauge
}

// NewServer starts a server on 127.0.0.1. The caller must Close it.
func NewServer() *Server {
	s := NewUnstartedServer()
	s.Start()
	return s
}

// NewUnstartedServer returns a server that Start (or StartTLS) starts.
func NewUnstartedServer() *Server {
	s := &Server{files: map[string]*File{}}
	s.Server = httptest.NewUnstartedServer(s)
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	return s
}

// Put serves f at path, replacing what was there (a new version).
func (s *Server) Put(path string, f *File) {
	s.mu.Lock()
	s.files[path] = f
	s.mu.Unlock()
}

type swap struct {
	path string
	n    int64
	f    *File
}

// PutAfter serves f at path from the n-th request (1-based) on: a new
// version that appears while a download runs.
func (s *Server) PutAfter(path string, n int64, f *File) {
	s.mu.Lock()
	s.later = append(s.later, swap{path, n, f})
	s.mu.Unlock()
}

// PutBytes serves data at path with a strong ETag derived from a counter.
func (s *Server) PutBytes(path string, data []byte) *File {
	f := &File{Data: data, ETag: fmt.Sprintf(`"%x-%d"`, len(data), s.n.Load()+rand.Int64N(1<<20)), LastModified: time.Unix(1700000000, 0)}
	s.Put(path, f)
	return f
}

// LimitConnections caps every TCP connection the server accepts at rate
// bytes per second, whatever it carries: several HTTP/2 streams on one
// connection share the cap, as they do behind real per-connection limits.
// Call it before Start.
func (s *Server) LimitConnections(rate int64) {
	s.Listener = &throttledListener{Listener: s.Listener, rate: rate}
}

type throttledListener struct {
	net.Listener
	rate int64
}

func (l *throttledListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &throttledConn{Conn: c, rate: l.rate, start: time.Now()}, nil
}

type throttledConn struct {
	net.Conn
	rate  int64
	start time.Time
	mu    sync.Mutex
	sent  int64
}

func (c *throttledConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(b) {
		k := min(len(b)-n, int(max(1, c.rate/50)))
		m, err := c.Conn.Write(b[n : n+k])
		n += m
		c.sent += int64(m)
		if err != nil {
			return n, err
		}
		time.Sleep(time.Until(c.start.Add(time.Duration(float64(c.sent) / float64(c.rate) * float64(time.Second)))))
	}
	return n, nil
}

// Files returns the file served at path, or nil.
func (s *Server) Files(path string) *File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[path]
}

// URLOf returns the URL of path on this server.
func (s *Server) URLOf(path string) string { return s.Server.URL + path }

// admit counts a request in flight if fewer than MaxInFlight are.
func (s *Server) admit(r *http.Request) bool {
	deadline := time.Now().Add(s.RefuseGrace)
	for !s.gauge.tryEnter(s.MaxInFlight) {
		if !time.Now().Before(deadline) || !sleep(r, time.Millisecond) {
			return false
		}
	}
	if s.Shared != nil {
		s.Shared.enter()
	}
	return true
}

func (s *Server) enter() func() {
	s.gauge.enter()
	if s.Shared != nil {
		s.Shared.enter()
	}
	return s.leave()
}

// leaver counts a request in flight, unless admit has, and returns the
// function that ends it.
func (s *Server) leaver() func() {
	if s.MaxInFlight > 0 {
		return s.leave()
	}
	return s.enter()
}

func (s *Server) leave() func() {
	return sync.OnceFunc(func() {
		s.gauge.leave()
		if s.Shared != nil {
			s.Shared.leave()
		}
	})
}

// Requests returns a copy of the request log; nil if NoLog is set.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// record logs r, answered with fault k, unless s keeps no log.
func (s *Server) record(r *http.Request, k FaultKind) {
	if s.NoLog {
		return
	}
	s.mu.Lock()
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Host: r.Host, Proto: r.Proto, Header: r.Header.Clone(), Fault: k})
	s.mu.Unlock()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Connections: s.conns.Load(), Requests: s.n.Load(), PeakInFlight: s.gauge.Peak(), BytesSent: s.sent.Load(), Refused: s.refused.Load()}
}

// Content returns n deterministic pseudo-random bytes for seed.
func Content(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), byte(seed >> 32)})
	r.Read(b)
	return b
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.n.Add(1)
	if s.MaxInFlight > 0 && !s.admit(r) {
		s.refused.Add(1)
		s.record(r, Status)
		if s.RefuseRetryAfter != "" {
			w.Header().Set("Retry-After", s.RefuseRetryAfter)
		}
		http.Error(w, "too many requests in flight", http.StatusServiceUnavailable)
		return
	}
	// A request is in flight until its handler returns or its client has
	// gone, whichever is first: a handler may take a moment to notice.
	leave := s.leaver()
	defer leave()
	stop := context.AfterFunc(r.Context(), leave)
	defer stop()
	var fault Fault
	if s.Fault != nil {
		fault = s.Fault(r, n)
	}
	s.record(r, fault.Kind)
	s.mu.Lock()
	kept := s.later[:0]
	for _, sw := range s.later {
		if n >= sw.n {
			s.files[sw.path] = sw.f
		} else {
			kept = append(kept, sw)
		}
	}
	s.later = kept
	f := s.files[r.URL.Path]
	s.mu.Unlock()

	if !sleep(r, s.Latency) {
		return
	}
	switch fault.Kind {
	case SlowHeaders:
		if !sleep(r, fault.Delay) {
			return
		}
	case Status:
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		http.Error(w, http.StatusText(fault.Code), fault.Code)
		return
	case Redirect:
		http.Redirect(w, r, fault.Location, http.StatusFound)
		return
	}
	if f == nil {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, f, fault, leave)
}

func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// serveFile serves f; leave is called once the last byte is flushed, when
// the client may already be done with the request.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, f *File, fault Fault, leave func()) {
	data := f.Data
	if fault.Kind == WrongTotal && fault.Data != nil {
		data = fault.Data
	}
	size := int64(len(data))
	h := w.Header()
	setValidators := func(ranged bool) {
		if ranged && f.DropOn206 {
			return
		}
		if f.ETag != "" {
			tag := f.ETag
			if ranged && f.WeakOn206 && !strings.HasPrefix(tag, "W/") {
				tag = "W/" + tag
			}
			h.Set("ETag", tag)
		}
		if !f.LastModified.IsZero() {
			h.Set("Last-Modified", f.LastModified.UTC().Format(http.TimeFormat))
		}
	}
	if !f.NoRange {
		h.Set("Accept-Ranges", "bytes")
	}
	if notModified(r, f) {
		setValidators(false)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	start, end, ranged := int64(0), size-1, false
	if rh := r.Header.Get("Range"); rh != "" && !f.NoRange && fault.Kind != IgnoreRange && (f.IgnoreIfRange || ifRangeOK(r, f)) {
		a, b, ok := parseRange(rh, size)
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			http.Error(w, "range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start, end, ranged = a, b, true
		if f.MaxRange > 0 && end-start+1 > f.MaxRange {
			end = start + f.MaxRange - 1
		}
	}
	setValidators(ranged)
	if ranged && fault.Kind == WrongRange {
		// The range the header names, and its bytes: a server that
		// answers another range than asked.
		start = min(max(0, start+fault.Value), size-1)
		end = min(max(start, end+fault.Value), size-1)
	}
	body := data[start : end+1]
	if fault.Kind == Gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	length := int64(len(body))
	declared := length
	if fault.Kind == WrongLength {
		declared += fault.Value
	}
	if fault.Kind != Gzip {
		// Compressed on the fly: no Content-Length, as such servers send.
		h.Set("Content-Length", strconv.FormatInt(declared, 10))
	}
	status := http.StatusOK
	if ranged {
		status = http.StatusPartialContent
		total := strconv.FormatInt(size, 10)
		if f.UnknownTotal {
			total = "*"
		}
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%s", start, end, total))
	}
	if fault.Kind == LongBody {
		body = append(append([]byte(nil), body...), make([]byte, fault.Value)...)
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	limit := int64(len(body))
	switch fault.Kind {
	case Truncate, Reset, Stall:
		limit = min(limit, fault.After)
	}
	s.write(w, r, body[:limit])
	if fl, ok := w.(http.Flusher); ok && fault.Kind == None {
		fl.Flush()
		leave()
	}
	switch fault.Kind {
	case Truncate:
		closeConn(w, false)
	case Reset:
		closeConn(w, true)
	case Stall:
		<-r.Context().Done()
	}
}

// write sends b at most RatePerConn bytes per second.
func (s *Server) write(w http.ResponseWriter, r *http.Request, b []byte) {
	chunk := 64 << 10
	var t0 time.Time
	rate := s.RatePerConn.Load()
	if rate > 0 {
		chunk = int(max(1, min(int64(chunk), rate/50)))
		t0 = time.Now()
	}
	sent := int64(0)
	flusher, _ := w.(http.Flusher)
	for len(b) > 0 {
		n := min(chunk, len(b))
		m, err := w.Write(b[:n])
		sent += int64(m)
		s.sent.Add(int64(m))
		if err != nil {
			return
		}
		b = b[n:]
		if rate > 0 && len(b) > 0 { // no pause after the last byte
			if flusher != nil {
				flusher.Flush()
			}
			due := t0.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			if !sleep(r, time.Until(due)) {
				return
			}
		}
	}
}

// closeConn ends the connection under the response: a FIN, or with reset
// an RST (SO_LINGER 0).
func closeConn(w http.ResponseWriter, reset bool) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("segdltest: connection cannot be hijacked")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		tc.SetLinger(0)
	}
	conn.Close()
}

// ifRangeOK reports whether the Range header applies: no If-Range, or one
// matching the current strong ETag or Last-Modified exactly.
func ifRangeOK(r *http.Request, f *File) bool {
	ir := r.Header.Get("If-Range")
	if ir == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) {
		return f.ETag != "" && !strings.HasPrefix(f.ETag, "W/") && ir == f.ETag
	}
	t, err := http.ParseTime(ir)
	return err == nil && !f.LastModified.IsZero() && t.Equal(f.LastModified.UTC().Truncate(time.Second))
}

// notModified evaluates If-None-Match, else If-Modified-Since, as RFC 9110
// orders them (before Range).
func notModified(r *http.Request, f *File) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return f.ETag != "" && strings.TrimPrefix(inm, "W/") == strings.TrimPrefix(f.ETag, "W/")
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !f.LastModified.IsZero() {
		t, err := http.ParseTime(ims)
		return err == nil && !f.LastModified.UTC().Truncate(time.Second).After(t)
	}
	return false
}

// parseRange parses a single "bytes=a-b", "bytes=a-" or "bytes=-n".
func parseRange(h string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(0, size-n), size - 1, size > 0
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e, size-1)
	}
	return start, end, true
}
