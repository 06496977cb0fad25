package segdl

import (
	"context"
	"hash"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Doer sends one HTTP request. The client must not follow redirects: segdl
// follows them itself, so that its header policy applies to every hop.
// NewClient returns one that fits.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Limiter paces reads; *rate.Limiter from golang.org/x/time/rate satisfies
// it. WaitN is never called with more than Config.ChunkSize.
type Limiter interface {
	WaitN(ctx context.Context, n int) error
}

// Slot is the place a Task's connection holds in a scheduler's per-host
// caps. A Task given one (Task.SetSlot) tells it about each request it
// sends, redirect hops and retries included, so that every request is
// charged to the host it is sent to, and about each answer, so that the
// scheduler learns what a host accepts. A Slot with a method Idle() is
// told when its task needs its connection no more, as OnIdle's function
// would be (when none is set).
type Slot interface {
	// Send is called before each request and redirect hop with the
	// host:port it goes to. It returns once that host has room for one
	// more request, or with ctx's error.
	Send(ctx context.Context, hostport string) error
	// Answered is called with the status code of each response, redirects
	// included, as soon as its headers arrive.
	Answered(code int)
}

// idler is a Slot that has an Idle method: it is called as OnIdle's
// function is, when no function was set, so that a scheduler need not
// make a closure per task for it.
type idler interface {
	Idle()
}

// Config governs downloads. The zero value of each field means the
// documented default.
type Config struct {
	Client       Doer          // required; see NewClient
	MinSegment   int64         // smallest range a file is split into; default 2 MiB
	Retries      int           // attempts after the first, per request; 0 means none
	StallTimeout time.Duration // no byte for this long fails the request; 0 = none
	UserAgent    string

	// Header is sent with every request, except the headers that
	// CredentialHeader names, which go only to the origins the Spec lists.
	Header http.Header
	// Credentials are headers sent only to the origins the Spec lists,
	// never across a redirect to another origin, whatever their names:
	// bulkdl puts there every header whose value came from ${VAR}.
	Credentials http.Header
	// HostHeader returns the headers for one host ("host:port"), sent
	// only to it; nil for none.
	HostHeader func(hostport string) http.Header
	// Authorization returns credentials from outside the manifest (such as
	// netrc) for hostport, or "". They are sent only to the origins the
	// Spec lists, and never replace an Authorization header configured
	// nor the userinfo of the URL requested.
	Authorization func(hostport string) string
	// Limiter returns the limiter for requests to hostport; nil for none.
	Limiter func(hostport string) Limiter
	// ChunkSize is the read size and the buffer each connection holds;
	// default 256 KiB.
	ChunkSize int
	// MaxConns is the most connections one file gets from its URL (the
	// scheduler's per-file and per-host caps); 0 for no cap. At 1 a file
	// of one URL is not cut into pieces: its one range already completes
	// in file order, for the prefix hash, and pieces would only add
	// requests.
	MaxConns int

	BackoffBase   time.Duration // first retry waits up to this; default 500ms
	BackoffMax    time.Duration // default 30s
	MaxRetryAfter time.Duration // Retry-After is capped at this; default 5m
	SyncBytes     int64         // sync data and journal after this many bytes; default 8 MiB
	SyncInterval  time.Duration // or after this long; default 1s
	MaxChanges    int           // restarts when the file changes on the server; default 3
	// ParkAfter: a retry that must wait at least this long (Retry-After,
	// backoff) gives its connection back and is claimed again when the
	// wait is over, so that a throttled host does not hold the budget
	// other hosts could use. Default 1s.
	ParkAfter time.Duration

	// Publisher, if set, publishes verified files in batches (see
	// Publisher); nil publishes each file alone when it is verified.
	Publisher *Publisher

	// MaxSize fails a file larger than this many bytes before it is
	// written on; 0 = unlimited.
	MaxSize int64

	// OnThrottle, if set, is called when a host answers 429 or 503 (a
	// redirect hop's host included), with its Retry-After (capped at
	// MaxRetryAfter; 0 if none), before the Slot's Answered.
	OnThrottle func(hostport string, wait time.Duration)
	// OnSuccess, if set, is called when a request to a host completes.
	OnSuccess func(hostport string)
	// OnRetry, if set, is called before a failed request for the file at
	// path is retried: the attempt that follows (1 for the first retry),
	// the retries allowed, the wait before it (backoff or Retry-After) and
	// why (its URLs redacted). For troubleshooting output.
	OnRetry func(path string, attempt, retries int, wait time.Duration, err error)
}

func (c *Config) withDefaults() *Config {
	cc := *c
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cc.MinSegment, 2<<20)
	def(&cc.SyncBytes, 8<<20)
	defd(&cc.BackoffBase, 500*time.Millisecond)
	defd(&cc.BackoffMax, 30*time.Second)
	defd(&cc.MaxRetryAfter, 5*time.Minute)
	defd(&cc.SyncInterval, time.Second)
	defd(&cc.ParkAfter, time.Second)
	if cc.ChunkSize <= 0 {
		cc.ChunkSize = 256 << 10
	}
	if cc.MaxChanges <= 0 {
		cc.MaxChanges = 3
	}
	return &cc
}

// Spec describes one file.
type Spec struct {
	URLs   []string         // the file's url, then its mirrors
	Path   string           // slash-separated, relative to the root
	Size   int64            // expected size; -1 if unknown
	Hash   func() hash.Hash // nil: no checksum
	Sum    []byte           // the expected digest of Hash
	Header http.Header      // sent only for this file, to the origins of URLs

	// IfNoneMatch and IfModifiedSince make the first request conditional
	// on the version already at Path (an ETag, an HTTP date). A 304 ends
	// the download with NotModified and leaves Path as it is. They are
	// not sent when resuming: resume state belongs to a newer version.
	IfNoneMatch, IfModifiedSince string
}

type state int

const (
	stateNew        state = iota // needs a probe
	stateProbing                 // the probe is waiting for headers
	stateRunning                 // ranges are being fetched
	statePublishing              // verified, waiting for its batch to be published
	stateDone                    // published
	stateFailed
	stateBusy // disk work under way without d.mu (discarding): nothing to claim
)

// segment is a byte range [pos, end) still to be written; end is -1 while
// the size is unknown.
type segment struct {
	pos, end int64
	task     *Task // nil while queued
	attempts int   // failed attempts so far, carried over when parked
}

// Download is one file's download. Its methods are safe for concurrent
// use; a scheduler calls Claim for each free connection and runs the
// returned Task.
type Download struct {
	spec   Spec
	cfg    *Config
	root   *os.Root
	notify func()
	// targets are Spec.URLs parsed: what requests go to, and the origins
	// credentials may go to.
	targets []target

	mu         sync.Mutex
	state      state
	gen        int // bumped by each restart; tasks of an older generation stop
	size       int64
	etag       string // the ETag the bytes on disk came with (strong or weak), or ""
	lastMod    string // their Last-Modified, or ""
	splittable bool
	segs       []*segment
	done       rangeSet // durable or about to be; written to the journal
	active     int
	// running are the tasks between Run and its end; running1 holds
	// them while there are few, so that a small file's download
	// allocates nothing for them.
	running     []*Task
	running1    [2]*Task
	target1     [1]target // targets and mirrors of a file of one URL
	mirror1     [1]mirror
	done1       [1][2]int64 // done's first range: a file fetched in one piece needs no more
	restart     error       // why the download restarts once no task runs, or nil
	noRange     bool        // a server ignored a range: fetch as one stream
	changes     int
	breaks      int // restarts from zero that lost bytes (a broken stream not continued)
	fdWaits     int // waits for a free file descriptor
	sumRetried  bool
	url         int // index into spec.URLs of the source in use
	resolved    string
	mirrors     []mirror // per URL of spec.URLs; see mirrors.go
	noMirrors   bool     // fetch from the source only (after a checksum failure)
	file        *os.File
	opened      uint64 // file's place in the order files were opened (openOrder)
	ops         *fileOps
	resumedFile bool        // file was created by an earlier run
	anon        bool        // file has no name yet (openAnon)
	dir         *dirRef     // the open directory of file, to name it in, or nil
	inPublisher bool        // counted by the Publisher as one that may join a batch
	sized       bool        // file has its full size (preallocated)
	stat        fs.FileInfo // of the verified file
	clock       *clock
	stalls      *stallWatch // times the stall timeouts of its requests
	unsynced    int64
	lastSync    time.Time
	syncing     bool
	journaled   bool      // a journal file exists for this download
	conditional bool      // the probe may carry the Spec's conditions
	notModified bool      // the server answered 304
	notBefore   time.Time // parked: no work is claimed before this
	waitWhy     error     // the failure that parked it until notBefore
	err         error
	finished    chan struct{}
	sum         []byte // the digest computed when the file was verified

	writeMu sync.Mutex  // one write of the file at a time (writeat.go)
	ph      *prefixHash // the digest of the complete prefix so far, or nil (hash.go)
	// reqCost is what a request costs before its first byte (ranges.go).
	reqCost time.Duration

	written  atomic.Int64 // bytes of the file on disk and accounted for
	received atomic.Int64 // body bytes received over the network, this run
	requests atomic.Int64
	resumed  atomic.Int64
}

// New returns a download of spec into root. notify, if not nil, is called
// whenever the download may have new work to claim or has ended; it must
// not block or call back into the Download.
func New(root *os.Root, spec Spec, cfg *Config, notify func()) *Download {
	if notify == nil {
		notify = func() {}
	}
	d := &Download{
		spec: spec, cfg: cfg.withDefaults(), root: root, notify: notify,
		size: -1, finished: make(chan struct{}), ops: &osOps, clock: realClock, stalls: realStalls,
		conditional: spec.IfNoneMatch != "" || spec.IfModifiedSince != "",
	}
	d.running, d.done = d.running1[:0], d.done1[:0]
	// A file of one URL, the common case, keeps its target and mirror
	// state in the Download: no slices of their own.
	if len(spec.URLs) <= 1 {
		d.targets, d.mirrors = d.target1[:len(spec.URLs)], d.mirror1[:len(spec.URLs)]
	} else {
		d.targets, d.mirrors = make([]target, len(spec.URLs)), make([]mirror, len(spec.URLs))
	}
	parseTargets(d.targets, spec.URLs)
	if p := d.cfg.Publisher; p != nil {
		p.joined()
		d.inPublisher = true
	}
	return d
}

// Task is the work of one connection: one segment of one download.
type Task struct {
	d     *Download
	seg   *segment
	gen   int
	probe bool
	slot  Slot // nil: no scheduler charges requests
	src   int  // index into Spec.URLs of the URL it fetches from
	// mirror: src is not the download's source but a mirror, whose
	// failures drop the mirror, not the download.
	mirror bool

	began    time.Time // when the current response began to stream
	claimed  time.Time // when its current request was made, until its first response
	streamed int64     // bytes it has committed since
	idle     func()    // called once the task needs its connection no more; see OnIdle

	consumed bool // the current response was read to its end

	// cancel ends the task's current request or wait (see watchLocked);
	// stopped is set once the download stopped the task. Both under d.mu.
	cancel  context.CancelFunc
	stopped bool

	// Per request, kept here so that a request allocates none of them:
	// the connection it went out on (trace's GotConn sets it), and its
	// stall timer.
	conn  net.Conn
	trace httptrace.ClientTrace
	stall stall
}

// OnIdle sets f to be called, at most once, when the task no longer needs
// its connection but goes on with disk work before Run returns: the final
// verification and publication of the file. A scheduler frees the task's
// connection slot in f, so that hashing a large file holds no slot. Call
// it before Run.
func (t *Task) OnIdle(f func()) { t.idle = f }

// goIdle tells the task's scheduler that its connection is free: OnIdle's
// function, else its slot's Idle method, if any.
func (t *Task) goIdle() {
	if t.idle != nil {
		t.idle()
	} else if i, ok := t.slot.(idler); ok {
		i.Idle()
	}
}

// Claim returns work for one more connection, or nil if the download has
// none to give now: it is probing, finished, or has no range left that is
// worth splitting.
func (d *Download) Claim() *Task { return d.ClaimFrom(nil) }

// ClaimFrom is Claim for a scheduler that caps requests per host: the
// task fetches from the file's source or one of its mirrors whose host
// room reports has room for one more request (nil: any). Task.Host tells
// which.
func (d *Download) ClaimFrom(room func(hostport string) bool) *Task {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.claimableLocked() {
		return nil
	}
	switch d.state {
	case stateNew:
		if room != nil && !room(d.hostLocked()) {
			return nil
		}
		d.state = stateProbing
		t := &Task{d: d, gen: d.gen, probe: true, src: d.url}
		d.active++
		d.mirrors[d.url].active++
		return t
	case stateRunning:
	default:
		return nil
	}
	src := d.sourceLocked(room)
	if src < 0 {
		return nil
	}
	if s := d.queuedLocked(); s != nil {
		return d.assign(d.pieceLocked(s), src)
	}
	now := time.Now()
	big := d.splitCandidateLocked(now)
	if big == nil {
		return nil
	}
	// Split so that both ends come together (speed.go); the fetcher of
	// big stops at its new end when it next commits.
	var keep float64
	if big.task != nil {
		keep = d.taskSpeedLocked(big.task, now)
	}
	mid, ok := splitPoint(big.pos, big.end, keep, d.sourceSpeedLocked(src, now), d.cfg.MinSegment)
	if !ok {
		return nil
	}
	s := &segment{pos: mid, end: big.end}
	big.end = mid
	d.segs = append(d.segs, s)
	return d.assign(s, src)
}

// SetSlot gives the task the slot its requests are charged to; call it
// before Run.
func (t *Task) SetSlot(s Slot) { t.slot = s }

// Host returns the host:port the task's first request goes to.
func (t *Task) Host() string {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	return t.d.mirrorHostLocked(t.src)
}

func (d *Download) assign(s *segment, src int) *Task {
	t := &Task{d: d, seg: s, gen: d.gen, src: src, mirror: src != d.url}
	s.task = t
	d.active++
	d.mirrors[src].active++
	return t
}

// Want returns how much work one more connection could take from the
// download now: math.MaxInt64 when it needs a probe (it has not started,
// or restarts), else the bytes a new connection could take over from the
// range that would end last (splitCandidateLocked), or 0 for none.
func (d *Download) Want() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	// The state first: a scheduler asks every running file, most of them
	// verifying or waiting to be published, and claimableLocked reads the
	// clock.
	if d.state != stateNew && d.state != stateRunning || !d.claimableLocked() {
		return 0
	}
	if d.state == stateNew {
		return math.MaxInt64
	}
	if s := d.queuedLocked(); s != nil {
		return max(s.end-s.pos, 1)
	}
	if big := d.splitCandidateLocked(time.Now()); big != nil {
		return big.end - big.pos
	}
	return 0
}

// Left returns the bytes of the file still to fetch, or 0 while its size
// is unknown.
func (d *Download) Left() int64 {
	d.mu.Lock()
	size := d.size
	d.mu.Unlock()
	if size < 0 {
		return 0
	}
	return max(0, size-d.written.Load())
}

// claimableLocked reports whether work may be handed out now: no restart
// is pending and no retry is parked.
func (d *Download) claimableLocked() bool {
	return d.restart == nil && !d.clock.now().Before(d.notBefore)
}

// queuedLocked returns the first in the file of the segments no task
// fetches, or nil.
func (d *Download) queuedLocked() *segment {
	var q *segment
	for _, s := range d.segs {
		if s.task == nil && (q == nil || s.pos < q.pos) {
			q = s
		}
	}
	return q
}

// splitCandidateLocked returns, of the segments long enough to split
// (splitPoint), the one that would end last at its task's speed (the longest when
// speeds are unknown), if the file may be split.
func (d *Download) splitCandidateLocked(now time.Time) *segment {
	if !d.splittable || d.noRange {
		return nil
	}
	var big *segment
	var last float64
	mean := -1.0 // the tasks' mean speed, computed once if a segment needs it
	for _, s := range d.segs {
		n := s.end - s.pos
		if s.end < 0 || !splittable(n, d.cfg.MinSegment) {
			continue
		}
		eta := float64(n)
		v := 0.0
		if s.task != nil {
			v = d.taskSpeedLocked(s.task, now)
		}
		if v <= 0 {
			if mean < 0 {
				mean = d.meanSpeedLocked(now)
			}
			v = mean
		}
		if v > 0 {
			eta /= v
		}
		if big == nil || eta > last {
			big, last = s, eta
		}
	}
	return big
}

// Done is closed when the download has ended, published or failed.
func (d *Download) Done() <-chan struct{} { return d.finished }

// Err returns why the download failed, or nil.
func (d *Download) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// NotModified reports whether the server answered 304 to the conditional
// first request: the file at Path is current and was left alone.
func (d *Download) NotModified() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.notModified
}

// Validator returns the strong ETag and the Last-Modified date the server
// gave for the published file, for a later conditional request.
func (d *Download) Validator() (etag, lastModified string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strongETag(d.etag), d.lastMod
}

// Sum returns the digest of the published file computed with Spec.Hash,
// or nil.
func (d *Download) Sum() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sum
}

// ModTime returns the modification time of the verified file, from the
// fstat that verified it (publishing keeps it), or the zero time.
func (d *Download) ModTime() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stat == nil {
		return time.Time{}
	}
	return d.stat.ModTime()
}

// Progress is a snapshot of a download's counters.
type Progress struct {
	Size     int64 // -1 until known
	Written  int64 // bytes of the file complete on disk
	Received int64 // bytes received over the network in this run
	Resumed  int64 // bytes kept from an earlier run
	Requests int64
	Active   int
	// WaitUntil is when a download that gave its connections back to wait
	// for a retry (a 429 or 503 with Retry-After, a long backoff) may go
	// on; zero if it is not waiting. WaitFor is the failure it waits out.
	WaitUntil time.Time
	WaitFor   error
}

// Progress returns the download's counters.
func (d *Download) Progress() Progress {
	d.mu.Lock()
	size, active := d.size, d.active
	var until time.Time
	var why error
	if !d.notBefore.IsZero() && d.clock.now().Before(d.notBefore) { // the clock only for a parked file
		until, why = d.notBefore, d.waitWhy
	}
	d.mu.Unlock()
	return Progress{Size: size, Written: d.written.Load(), Received: d.received.Load(),
		Resumed: d.resumed.Load(), Requests: d.requests.Load(), Active: active, WaitUntil: until, WaitFor: why}
}

// Host returns the host:port requests currently go to: the resolved
// redirect target once known, else the source URL's.
func (d *Download) Host() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hostLocked()
}

// abortLocked fails the download with err and cancels every running task;
// the last of them to return closes the download, keeping resume state.
func (d *Download) abortLocked(err error) {
	if d.err == nil {
		d.err = err
	}
	d.stopTasksLocked()
}
