// Package scheduler runs many downloads under one shared connection budget.
//
// It hands each free connection to the next file in manifest order whose
// host has room, or to the running file with the largest range left, which
// segdl splits: a range is split first when it holds more than its share
// of the work left (the bytes left over the budget), so that large files
// end together with the rest instead of alone. At no moment are more
// requests in flight than Config.Connections, more to one host than its
// cap, or more for one file than Config.PerFile. Every request is charged
// to the host it is sent to, redirect hops included (segdl.Slot); a host
// whose requests redirect to a host at its cap starts no new file until
// that one has room, so that waiting there takes no connection another
// host could use.
//
// A host that refuses a request (429 or 503) has its cap set to the
// requests it still has in flight from us, which it did not refuse: what
// it accepts. No new request goes to it until one of those ends, nor
// before the Retry-After it gave (OnThrottle): that is the host's, not one
// request's. The cap climbs back by one per streak of completed requests
// as long as the cap, and more slowly towards the level that was refused.
package scheduler

import (
	"cmp"
	"container/heap"
	"context"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/bulkdl/bulkdl/segdl"
)

// Config are the budget and caps. Zero values mean: Connections 16,
// PerHost and PerFile 8, no rate limit.
type Config struct {
	Connections int
	PerHost     int
	PerFile     int
	// HostCap returns a host's own cap (from [hosts] in a manifest), or 0
	// for PerHost. Hosts are "host:port".
	HostCap func(hostport string) int
	// Rate caps all traffic in bytes per second; 0 is unlimited.
	Rate int64
	// HostRate returns a host's own bandwidth cap, or 0.
	HostRate func(hostport string) int64
	// Burst is the limiters' burst: the largest read a connection makes.
	// It must be at least segdl.Config.ChunkSize. Default 256 KiB.
	Burst int
}

// Source is the list of files to download, in manifest order. It is an
// interface so that a 100k-entry manifest needs no per-file closures.
type Source interface {
	Len() int
	// Host returns the host:port of file i's first URL.
	Host(i int) string
	// Start creates file i's download. notify must be passed to segdl.New.
	Start(i int, notify func()) *segdl.Download
	// Finished is called once when file i's download has ended, from
	// Run's goroutine.
	Finished(i int, d *segdl.Download)
}

// Scheduler runs downloads under a shared budget. Create it with New, wire
// its Limiter and OnSuccess into the segdl.Config the Source uses, then
// call Run once.
type Scheduler struct {
	cfg    Config
	global *rate.Limiter
	wake   chan struct{}

	mu       sync.Mutex
	hosts    map[string]*host
	ready    hostHeap // hosts with files waiting and (probably) room
	running  []*file
	finished []*file // ended, to report from Run
	inFlight int
	pending  int        // files not started yet
	sizes    sizeSample // sizes of the files that ended last
	cands    []cand     // running files that could use a connection; see scanLocked
	left     int64      // bytes the running files have left, at the last scan
	scanned  bool       // cands and left are current for this round
	// lowered counts the hosts whose cap is below the configured one,
	// which OnSuccess raises; written under mu.
	lowered atomic.Int32
	// idle counts tasks that gave their slot back (OnIdle) to verify and
	// publish their file. Each holds an open file: new files start only
	// while at most Connections of them do, so that open files stay
	// bounded when hashing is slower than the network.
	idle int
	// stopped: Run has returned, and no host's resume timer runs.
	stopped bool
}

type host struct {
	name      string
	configCap int     // the cap configured for the host
	cap       int     // the current cap, lowered by refusals
	inFlight  int     // requests charged to the host
	pending   []int32 // files not yet started, in manifest order
	heapIdx   int     // index in ready, -1 if absent
	streak    int     // completed requests since the cap last changed
	minCap    int
	refusedAt int // the number of requests in flight at the last refusal; 0 for none
	refusals  int
	waiters   []*slot // requests waiting for room, in order
	limiter   segdl.Limiter
	// via is where the host's requests were last redirected (Send), until
	// it answers one itself: its new files wait while via is full, so
	// that they do not take the budget to wait there (see blocked). from
	// lists the hosts that may name this one as via; viaSet is via != nil,
	// read without s.mu on every response.
	via    *host
	from   []*host
	viaSet atomic.Bool
	// resume, while set, holds the host: no new request until the
	// Retry-After it gave is over (until), when the timer lets them go.
	resume *time.Timer
	until  time.Time
}

// full reports whether the host has no room for another request.
func (h *host) full() bool { return h.inFlight >= h.cap || len(h.waiters) > 0 || h.resume != nil }

// blocked reports whether a new file of the host must wait: the host is
// full, or the host it redirects to is. A file started meanwhile would
// hold a connection of the budget waiting there, which hosts with room
// could use.
func (h *host) blocked() bool { return h.full() || h.via != nil && h.via.full() }

// answeredDirectly notes that h answered a request itself, not with a
// redirect: its files are no longer held back by where it redirected.
func (s *Scheduler) answeredDirectly(h *host) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.via = nil
	h.viaSet.Store(false)
	s.admitLocked(h)
}

type file struct {
	i      int
	d      *segdl.Download
	active int
	ended  bool
	// slot0 is the slot of the file's first task: a small file's one
	// task needs no slot of its own.
	slot0 slot
	used0 bool
}

// slot is one running task's charge: the host its current request goes
// to. It implements segdl.Slot.
type slot struct {
	s    *Scheduler
	h    *host         // the host charged; nil for none
	wait chan struct{} // closed when a waiting Send gets its room
	idle bool          // OnIdle gave the slot back; s.mu guards it
}

var _ segdl.Slot = (*slot)(nil)

// newSlot returns a slot for a new task of f charged to h: f's own for its
// first task, else a new one.
func (f *file) newSlot(s *Scheduler, h *host) *slot {
	if !f.used0 {
		f.used0 = true
		f.slot0 = slot{s: s, h: h}
		return &f.slot0
	}
	return &slot{s: s, h: h}
}

// Idle frees the task's connection: only disk work is left (verifying,
// publishing), so its slot is free for another file. segdl calls it once.
func (sl *slot) Idle() {
	s := sl.s
	s.mu.Lock()
	if !sl.idle {
		sl.idle = true
		s.inFlight--
		if sl.h != nil {
			s.releaseLocked(sl.h)
			sl.h = nil
		}
		s.idle++
	}
	s.mu.Unlock()
	s.poke()
}

// Send charges the task's next request to hostport, waiting for room there
// if it is another host than the one charged now. A request refused
// (Answered) has given its room back and waits behind the others.
func (sl *slot) Send(ctx context.Context, hostport string) error {
	// sl.h belongs to the task's goroutine (Send, Answered, then ended),
	// except while a Send waits for its grant: the common case, the same
	// host again, takes no lock here (Limiter and OnSuccess still take
	// s.mu once per response).
	if h := sl.h; h != nil && h.name == hostport {
		return nil
	}
	s := sl.s
	s.mu.Lock()
	h := s.hostLocked(hostport)
	if prev := sl.h; prev != nil {
		// A redirect hop: prev's next files will likely come here too.
		if prev.via != h {
			prev.via = h
			prev.viaSet.Store(true)
			if !slices.Contains(h.from, prev) {
				h.from = append(h.from, prev)
			}
		}
		s.releaseLocked(prev)
		sl.h = nil
	}
	if !h.full() {
		h.inFlight++
		sl.h = h
		s.mu.Unlock()
		return nil
	}
	sl.wait = make(chan struct{})
	h.waiters = append(h.waiters, sl)
	wait := sl.wait
	s.mu.Unlock()
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl.h != nil {
		return ctx.Err() // granted meanwhile; released when the task ends
	}
	for k, w := range h.waiters {
		if w == sl {
			h.waiters = append(h.waiters[:k], h.waiters[k+1:]...)
			break
		}
	}
	return ctx.Err()
}

// Answered learns from a refusal (429 or 503): the refused request gives
// its room back, and the host's cap becomes the number of requests it
// still has in flight from us, which it accepted (floor 1). A burst of
// refusals lowers it step by step to what the host took.
func (sl *slot) Answered(code int) {
	if h := sl.h; h != nil && h.viaSet.Load() && (code < 300 || code > 399) {
		sl.s.answeredDirectly(h)
	}
	if code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
		return
	}
	s := sl.s
	s.mu.Lock()
	defer s.mu.Unlock()
	h := sl.h
	if h == nil {
		return
	}
	sl.h = nil
	h.inFlight--
	h.refusals++
	h.refusedAt = h.inFlight + 1
	if c := max(1, h.inFlight); c < h.cap {
		if h.cap >= h.configCap {
			s.lowered.Add(1)
		}
		h.cap = c
		h.minCap = min(h.minCap, c)
	}
	h.streak = 0
	s.admitLocked(h)
}

// OnThrottle holds back every new request to hostport (a new file, a new
// range, a redirect to it) until wait has passed: a host's Retry-After is
// the host's. Requests charged to it already are not held: their tasks'
// next requests are what the host accepted. For segdl.Config.OnThrottle,
// which calls it before the refused request's room is given back.
func (s *Scheduler) OnThrottle(hostport string, wait time.Duration) {
	if wait <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	h := s.hostLocked(hostport)
	until := time.Now().Add(wait)
	if h.resume != nil {
		if !until.After(h.until) {
			return
		}
		h.resume.Stop()
	}
	h.until = until
	var t *time.Timer
	t = time.AfterFunc(wait, func() {
		s.mu.Lock() // held by OnThrottle until t is set
		defer s.mu.Unlock()
		if h.resume != t {
			return // held longer since, or the run is over
		}
		h.resume = nil
		s.admitLocked(h)
		// A running file parked on the host (its refused request) may
		// claim it now: Run must look, even with no file of the host
		// left to start and nothing else to wake it.
		s.poke()
	})
	h.resume = t
}

// stopTimers stops every host's resume timer, once Run is over.
func (s *Scheduler) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for _, h := range s.hosts {
		if h.resume != nil {
			h.resume.Stop()
			h.resume = nil
		}
	}
}

// releaseLocked ends a request's charge to h.
func (s *Scheduler) releaseLocked(h *host) {
	h.inFlight--
	s.admitLocked(h)
}

// admitLocked gives h's room to the requests waiting for it, then to h's
// files not started yet.
func (s *Scheduler) admitLocked(h *host) {
	for len(h.waiters) > 0 && h.inFlight < h.cap {
		w := h.waiters[0]
		h.waiters = h.waiters[1:]
		h.inFlight++
		w.h = h
		close(w.wait)
	}
	if !h.blocked() && len(h.pending) > 0 && h.heapIdx < 0 {
		heap.Push(&s.ready, h)
		s.poke()
	}
	for _, a := range h.from {
		if a.via == h && !a.blocked() && len(a.pending) > 0 && a.heapIdx < 0 {
			heap.Push(&s.ready, a)
			s.poke()
		}
	}
}

// New returns a scheduler for cfg.
func New(cfg Config) *Scheduler {
	if cfg.Connections <= 0 {
		cfg.Connections = 16
	}
	if cfg.PerHost <= 0 {
		cfg.PerHost = 8
	}
	if cfg.PerFile <= 0 {
		cfg.PerFile = 8
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 256 << 10
	}
	s := &Scheduler{cfg: cfg, hosts: map[string]*host{}, wake: make(chan struct{}, 1)}
	if cfg.Rate > 0 {
		s.global = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	return s
}

func (s *Scheduler) hostLocked(name string) *host {
	h := s.hosts[name]
	if h == nil {
		c := s.cfg.PerHost
		if s.cfg.HostCap != nil {
			if hc := s.cfg.HostCap(name); hc > 0 {
				c = hc
			}
		}
		c = min(c, s.cfg.Connections)
		h = &host{name: name, configCap: c, cap: c, minCap: c, heapIdx: -1}
		var lims multiLimiter
		if s.global != nil {
			lims = append(lims, s.global)
		}
		if s.cfg.HostRate != nil {
			if r := s.cfg.HostRate(name); r > 0 {
				lims = append(lims, rate.NewLimiter(rate.Limit(r), s.cfg.Burst))
			}
		}
		if len(lims) > 0 {
			h.limiter = lims
		}
		s.hosts[name] = h
	}
	return h
}

// multiLimiter waits on each of its limiters: the global cap, then the
// host's.
type multiLimiter []*rate.Limiter

func (m multiLimiter) WaitN(ctx context.Context, n int) error {
	for _, l := range m {
		if err := l.WaitN(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

var _ segdl.Limiter = multiLimiter(nil)

// Limiter returns the limiter for requests to hostport, or nil when no
// rate applies, so that unlimited runs pay nothing. For segdl.Config.Limiter.
func (s *Scheduler) Limiter(hostport string) segdl.Limiter {
	if s.global == nil && s.cfg.HostRate == nil {
		return nil // asked once per response: no lock when no rate is set
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.hostLocked(hostport).limiter; l != nil {
		return l
	}
	return nil
}

// OnSuccess counts a completed request; a streak as long as the cap raises
// it by one, up to the configured cap. Towards the level at which the host
// last refused, the streak must be four times as long: probing a limit
// costs a refusal. For segdl.Config.OnSuccess.
func (s *Scheduler) OnSuccess(hostport string) {
	if s.lowered.Load() == 0 {
		// Called once per response: no lock while no host's cap is
		// lowered. A refusal racing with this success is ordered after it.
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hostLocked(hostport)
	if h.cap >= h.configCap {
		return
	}
	h.streak++
	need := h.cap
	if h.refusedAt > 0 && h.cap+1 >= h.refusedAt {
		need *= 4
	}
	if h.streak >= need {
		h.cap++
		h.streak = 0
		if h.cap >= h.configCap {
			s.lowered.Add(-1)
		}
		s.admitLocked(h)
	}
}

// HostStatus describes one host's caps after or during a run.
type HostStatus struct {
	Host      string
	InFlight  int
	Cap       int // current
	ConfigCap int
	MinCap    int // the lowest the cap fell to; below ConfigCap means throttled (a cap of 1 cannot fall: see Refusals)
	Refusals  int // 429 and 503 answers
}

// Hosts returns the status of every host seen.
func (s *Scheduler) Hosts() []HostStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]HostStatus, 0, len(s.hosts))
	for _, h := range s.hosts {
		out = append(out, HostStatus{Host: h.name, InFlight: h.inFlight, Cap: h.cap, ConfigCap: h.configCap, MinCap: h.minCap, Refusals: h.refusals})
	}
	return out
}

// InFlight returns the number of requests running.
func (s *Scheduler) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run downloads every file of src and returns when all have ended, or,
// once ctx is done, when every running request has stopped. It returns
// ctx.Err() if it was interrupted; a download that ends after that (its
// batch still being published) is not reported.
func (s *Scheduler) Run(ctx context.Context, src Source) error {
	defer s.stopTimers()
	s.mu.Lock()
	for i := range src.Len() {
		h := s.hostLocked(src.Host(i))
		h.pending = append(h.pending, int32(i))
	}
	s.pending = src.Len()
	for _, h := range s.hosts {
		if len(h.pending) > 0 {
			heap.Push(&s.ready, h)
		}
	}
	s.mu.Unlock()

	w := workers{run: func(j job) {
		j.t.Run(ctx)
		s.ended(j.f, j.sl)
	}, more: make(chan job), quit: make(chan struct{})}
	defer w.stop()
	for {
		if ctx.Err() != nil {
			w.stop()
			s.report(src)
			return ctx.Err()
		}
		s.mu.Lock()
		s.scanned = false
		for s.inFlight < s.cfg.Connections {
			t, f, h := s.nextLocked(src)
			if t == nil {
				break
			}
			s.inFlight++
			h.inFlight++
			f.active++
			sl := f.newSlot(s, h)
			t.SetSlot(sl) // its Idle frees the connection for disk work
			w.start(job{t, f, sl})
		}
		// Files not started may wait for a held host (OnThrottle) with
		// nothing running: its resume timer pokes.
		idle := s.inFlight == 0 && len(s.running) == 0 && s.pending == 0
		s.mu.Unlock()
		s.report(src)
		if idle {
			w.stop()
			return nil
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
		}
	}
}

// job is one task to run on a worker, and what to account for when it ends.
type job struct {
	t  *segdl.Task
	f  *file
	sl *slot
}

// workers run Run's tasks. A worker whose task has ended takes the next
// one, so that a file does not pay for a new goroutine growing its stack
// through net/http's calls; one is started when none is free. Idle
// workers wait, up to the most tasks that ran at once (the budget's
// connections plus the tasks verifying without a slot, which Run bounds),
// and a new one can start while a finished one has not yet come back;
// all stop when Run returns.
type workers struct {
	run  func(job)
	more chan job      // to a free worker
	quit chan struct{} // closed by stop: free workers return
	wg   sync.WaitGroup
	done bool
}

// start runs j on a free worker, or on a new one.
func (w *workers) start(j job) {
	select {
	case w.more <- j:
	default:
		w.wg.Add(1)
		go w.loop(j)
	}
}

func (w *workers) loop(j job) {
	defer w.wg.Done()
	for {
		w.run(j)
		j = job{} // a free worker keeps no ended download alive
		select {
		case j = <-w.more:
		case <-w.quit:
			return
		}
	}
}

// stop waits for every task to end and the workers to return; start must
// not be called after it. Calling it again does nothing.
func (w *workers) stop() {
	if w.done {
		return
	}
	w.done = true
	close(w.quit)
	w.wg.Wait()
}

// nextLocked picks the next piece of work: a new file in manifest order
// from a host with room, or more connections for a running file. A
// running file's range goes first when it is larger than a connection's
// share of the work left: were it left to one connection, it would end
// alone after everything else.
func (s *Scheduler) nextLocked(src Source) (*segdl.Task, *file, *host) {
	// Weighing every running file costs; with far more running than
	// connections (waiting to be published, parked) new files go first.
	if s.ready.Len() > 0 && len(s.running) <= 8*s.cfg.Connections {
		if !s.scanned {
			s.scanLocked()
		}
		if len(s.cands) > 0 {
			left := s.left + int64(s.pending)*s.sizes.median()
			if t, f, h := s.claimRunningLocked(left/int64(s.cfg.Connections), true); t != nil {
				return t, f, h
			}
		}
	}
	for s.ready.Len() > 0 && s.idle <= s.cfg.Connections {
		h := s.ready[0]
		if h.blocked() {
			heap.Pop(&s.ready) // back when a request to it, or to its via, ends
			continue
		}
		i := int(h.pending[0])
		h.pending = h.pending[1:]
		s.pending--
		if len(h.pending) == 0 {
			heap.Pop(&s.ready)
		} else {
			heap.Fix(&s.ready, 0)
		}
		f := &file{i: i}
		f.d = src.Start(i, func() { s.notified(f) })
		s.running = append(s.running, f)
		if t := f.d.Claim(); t != nil {
			return t, f, h
		}
	}
	if !s.scanned {
		s.scanLocked()
	}
	return s.claimRunningLocked(0, false)
}

// scanLocked sorts the running files that could use another connection
// into s.cands, most wanted first, and sums the bytes the running files
// have left into s.left. It is done once per round of dispatching (Run
// clears s.scanned), and again after a running file was given a
// connection: not for each new file started.
func (s *Scheduler) scanLocked() {
	var left int64
	cands := s.cands[:0]
	for _, f := range s.running {
		left += f.d.Left()
		if f.active >= s.cfg.PerFile {
			continue
		}
		if w := f.d.Want(); w > 0 {
			cands = append(cands, cand{f, w})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(b.want, a.want) })
	s.cands, s.left, s.scanned = cands, left, true
}

// cand is a running file that could use another connection.
type cand struct {
	f    *file
	want int64
}

// claimRunningLocked claims work from the running file that wants the most,
// above over bytes, from a source whose host has room. early: before new
// files, which a restart's probe does not go ahead of.
func (s *Scheduler) claimRunningLocked(over int64, early bool) (*segdl.Task, *file, *host) {
	for _, c := range s.cands {
		if c.want <= over {
			break
		}
		if c.want == math.MaxInt64 && early {
			continue // a restart's probe waits its turn behind new files
		}
		if c.f.active >= s.cfg.PerFile {
			continue
		}
		if t := c.f.d.ClaimFrom(s.room); t != nil {
			s.scanned = false // its want has changed
			return t, c.f, s.hostLocked(t.Host())
		}
	}
	return nil, nil, nil
}

// room reports whether hostport has room for one more request; s.mu is
// held.
func (s *Scheduler) room(hostport string) bool { return !s.hostLocked(hostport).full() }

// ended accounts for a finished task, whose slot is free already if it
// went idle (OnIdle), and reports its file once the download has ended.
func (s *Scheduler) ended(f *file, sl *slot) {
	s.mu.Lock()
	if sl.idle {
		s.idle--
	} else {
		s.inFlight--
	}
	if sl.h != nil {
		s.releaseLocked(sl.h)
		sl.h = nil
	}
	f.active--
	s.endedLocked(f)
	s.mu.Unlock()
	s.poke()
}

// notified is the notify function of file f's download: it may have work
// to claim, or may have ended after its last task returned (a Publisher
// ends downloads in batches, with no task running).
func (s *Scheduler) notified(f *file) {
	s.mu.Lock()
	if f.d != nil {
		s.endedLocked(f)
	}
	s.mu.Unlock()
	s.poke()
}

// endedLocked queues f's report if its download has ended and none of its
// tasks runs.
func (s *Scheduler) endedLocked(f *file) {
	if f.ended || f.active > 0 {
		return
	}
	select {
	case <-f.d.Done():
	default:
		return
	}
	f.ended = true
	for k, x := range s.running {
		if x == f {
			s.running = append(s.running[:k], s.running[k+1:]...)
			break
		}
	}
	s.finished = append(s.finished, f)
}

// report calls src.Finished for the files that ended, in Run's goroutine.
func (s *Scheduler) report(src Source) {
	s.mu.Lock()
	fin := s.finished
	s.finished = nil
	s.mu.Unlock()
	if len(fin) == 0 {
		return
	}
	sizes := make([]int64, 0, len(fin))
	for _, f := range fin {
		src.Finished(f.i, f.d)
		if size := f.d.Progress().Size; size >= 0 && f.d.Err() == nil {
			sizes = append(sizes, size)
		}
	}
	s.mu.Lock()
	for _, n := range sizes {
		s.sizes.add(n)
	}
	s.mu.Unlock()
}

// sizeSample keeps the sizes of the last files that ended, to estimate
// those not started: their median, which one large file does not skew.
type sizeSample struct {
	ring [31]int64
	n    int
}

func (z *sizeSample) add(size int64) {
	z.ring[z.n%len(z.ring)] = size
	z.n++
}

// median returns the median of the sample, or 0 while it is empty.
func (z *sizeSample) median() int64 {
	n := min(z.n, len(z.ring))
	if n == 0 {
		return 0
	}
	v := z.ring // a copy on the stack: the dispatch loop asks often
	slices.Sort(v[:n])
	return v[n/2]
}

// hostHeap orders hosts by the manifest index of their next file.
type hostHeap []*host

func (q hostHeap) Len() int           { return len(q) }
func (q hostHeap) Less(i, j int) bool { return q[i].pending[0] < q[j].pending[0] }
func (q hostHeap) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].heapIdx, q[j].heapIdx = i, j
}
func (q *hostHeap) Push(x any) {
	h := x.(*host)
	h.heapIdx = len(*q)
	*q = append(*q, h)
}
func (q *hostHeap) Pop() any {
	old := *q
	h := old[len(old)-1]
	*q = old[:len(old)-1]
	h.heapIdx = -1
	return h
}
