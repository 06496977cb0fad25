package job

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/scheduler"
	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/state"
)

// Options are what a run is asked beyond its manifest. The zero value runs
// the whole manifest with its own settings.
type Options struct {
	Shard Shard // fetch only this shard's files; the zero value takes all
	// Verify re-hashes files already present even when bulkdl recorded
	// them as verified.
	Verify bool
	// Prune deletes files under dest that bulkdl created and the manifest
	// no longer lists, after a run that was not interrupted.
	Prune bool
	// Verbose sends an EventLog for every request, response, redirect and
	// retry (URLs redacted).
	Verbose bool
	// UserAgent is sent when the manifest sets none; "" means "bulkdl".
	UserAgent string
	// Observer receives the run's events; nil means none.
	Observer Observer
}

// ErrSettings is wrapped by a SetupError caused by the manifest's settings
// (a ca_file, netrc), as opposed to the machine (dest, state).
var ErrSettings = errors.New("job: settings")

// A SetupError says why a run could not start; nothing was fetched. Its
// text is redacted and says how to fix it.
type SetupError struct {
	Msg  string
	kind error // ErrSettings, state.ErrLocked or nil
	err  error
}

func (e *SetupError) Error() string { return e.Msg }

// Unwrap returns the kind of setup error and its cause, for errors.Is.
func (e *SetupError) Unwrap() []error {
	var out []error
	for _, err := range []error{e.kind, e.err} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Result is what a run or a verification did with each file.
type Result struct {
	Manifest *manifest.Manifest
	Command  string // "run" or "verify"
	Shard    Shard  // the shard the run took (the zero value for all)
	Started  time.Time
	Duration time.Duration
	// Interrupted is set when the run stopped before every file was done.
	Interrupted bool
	// SetupErr says why the run could not start, for the report; "" if it
	// started.
	SetupErr string
	Files    []FileResult // one per file of the manifest, in its order
	InShard  int          // files this run was responsible for
	Pruned   int          // files -prune deleted
	Received int64        // bytes received over the network by finished files
	Hosts    []HostResult // the hosts the scheduler saw, sorted
}

// FileResult is what became of one file.
type FileResult struct {
	Outcome  Outcome
	Size     int64  // bytes at its path; the manifest's (or -1) until known
	Sum      []byte // its digest, when verified
	Attempts int64  // HTTP requests made for it
	Fetched  int64  // bytes received for it
	Start    time.Time
	Duration time.Duration
	Err      string // why it failed (or is missing or mismatched), redacted and escaped
}

// HostResult says whether a host pushed back or was found down.
type HostResult struct {
	scheduler.HostStatus
	Down bool
}

// Count returns how many files of the run had outcome o.
func (r *Result) Count(o Outcome) int {
	n := 0
	for i := range r.Files {
		if r.Files[i].Outcome == o {
			n++
		}
	}
	return n
}

// Bad returns how many files failed, are missing or mismatched.
func (r *Result) Bad() int {
	n := 0
	for i := range r.Files {
		if r.Files[i].Outcome.Bad() {
			n++
		}
	}
	return n
}

// Run downloads the files of m that opts.Shard takes into m.Dest, under
// one shared connection budget, and says what became of each. It returns
// when every file is done or ctx is cancelled (Result.Interrupted). A
// non-nil error is a *SetupError: the run could not start; the Result
// still describes the files, for the report.
func Run(ctx context.Context, m *manifest.Manifest, opts Options) (*Result, error) {
	r := newRunner(m, "run", opts)
	err := r.fetch(ctx)
	r.finishResult()
	return r.res, err
}

// runner downloads one manifest: it is the scheduler.Source and keeps
// each file's outcome for the observer and the result.
type runner struct {
	m       *manifest.Manifest
	opts    Options
	root    *os.Root
	cfg     *segdl.Config
	redact  *strings.Replacer
	secrets []string
	res     *Result
	hosts   []string // per file, host:port of its url
	// conditional holds the records of files fetched with If-None-Match
	// or If-Modified-Since; written by plan before the run starts.
	conditional map[int]state.Record
	specs       specBuilder

	mu     sync.Mutex
	tot    totals // of res.Files, for the display
	totOK  bool   // tot is up to date (from the plan on)
	active map[int]*segdl.Download
	index  map[*segdl.Download]int // the file of each active download
	done   int                     // files finished, for the observer
	sched  *scheduler.Scheduler
	store  *state.Store
	dirs   dirSet

	breaker   *breaker
	downHosts map[string]bool
}

func newRunner(m *manifest.Manifest, command string, opts Options) *runner {
	r := &runner{m: m, opts: opts, active: map[int]*segdl.Download{}, index: map[*segdl.Download]int{}, conditional: map[int]state.Record{},
		hosts: FileHosts(m.Files), downHosts: map[string]bool{},
		res: &Result{Manifest: m, Command: command, Shard: opts.Shard, Started: time.Now(), Files: make([]FileResult, len(m.Files))}}
	r.addSecrets(m.Secrets())
	r.addSecrets(proxySecrets())
	for i := range m.Files {
		r.res.Files[i].Size = m.Files[i].Size
		if !opts.Shard.Has(m.Files[i].Path) {
			r.res.Files[i].Outcome = OtherShard
		} else {
			r.res.InShard++
		}
	}
	return r
}

// finishResult fills in what the result knows only at the end.
func (r *runner) finishResult() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Duration = time.Since(r.res.Started)
	if r.sched != nil {
		for _, h := range r.sched.Hosts() {
			r.res.Hosts = append(r.res.Hosts, HostResult{HostStatus: h, Down: r.downHosts[h.Host]})
		}
	}
}

func (r *runner) emit(e Event) {
	if r.opts.Observer != nil {
		r.opts.Observer.Observe(e)
	}
}

// hostDown records that the breaker found host down and says so, once.
func (r *runner) hostDown(host string, failures int) {
	r.mu.Lock()
	r.downHosts[host] = true
	r.mu.Unlock()
	r.emit(Event{Kind: EventHostDown, Host: host, Failures: failures})
}

// setupError returns the error of a run that could not start, and keeps
// its text for the report.
func (r *runner) setupError(kind, err error, format string, a ...any) error {
	msg := r.redact.Replace(fmt.Sprintf(format, a...))
	r.res.SetupErr = msg
	return &SetupError{Msg: msg, kind: kind, err: err}
}

// fetch is the run proper.
func (r *runner) fetch(ctx context.Context) error {
	m, s := r.m, r.m.Settings
	if err := os.MkdirAll(m.Dest, 0o755); err != nil {
		return r.setupError(nil, err, "cannot create dest %s: %v; nothing was fetched. Give a -dest (or dest in the manifest) this user can create and write.", m.Dest, unwrapPath(err))
	}
	root, err := os.OpenRoot(m.Dest)
	if err != nil {
		return r.setupError(nil, err, "cannot open dest %s: %v; nothing was fetched. Give a -dest this user can read and write.", m.Dest, unwrapPath(err))
	}
	defer root.Close()
	r.root = root
	store, err := state.Open(root, r.opts.Shard.Name())
	if errors.Is(err, state.ErrLocked) {
		r.res.SetupErr = fmt.Sprintf("another bulkdl run is using %s", m.Dest)
		return &SetupError{Msg: fmt.Sprintf("%v: %s", err, m.Dest), kind: state.ErrLocked, err: err}
	}
	if err != nil {
		return r.setupError(nil, err, "cannot keep bulkdl's state in %s: %v; nothing was fetched. bulkdl needs to write there (a read-only mount, such as a ConfigMap, cannot be a dest): give a writable -dest.",
			filepath.Join(m.Dest, manifest.StateDir), unwrapPath(err))
	}
	defer func() {
		if err := store.Close(); err != nil {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("state: %v", err)})
		}
	}()
	r.store = store

	// Small reads under a low cap keep the limiter's bursts small: the
	// lowest cap, global or a host's, sets the read size and every
	// limiter's burst.
	chunk := 256 << 10
	if low := lowestRate(s.Rate, m); low > 0 {
		chunk = int(min(int64(chunk), max(16<<10, low/20)))
	}
	r.sched = scheduler.New(scheduler.Config{
		Connections: s.Connections, PerHost: s.PerHost, PerFile: s.PerFile,
		HostCap: func(hp string) int {
			if h := m.HostConfig(hp); h != nil {
				return h.Connections
			}
			return 0
		},
		Rate:     int64(s.Rate),
		HostRate: hostRates(m),
		Burst:    chunk,
	})
	ua := s.UserAgent
	if ua == "" {
		ua = r.opts.UserAgent
	}
	if ua == "" {
		ua = "bulkdl"
	}
	rt, err := newTransport(m)
	if err != nil {
		return r.setupError(ErrSettings, err, "%v", err)
	}
	// Built once: HostHeader is asked on every request and redirect hop.
	hostHeaders := make(map[*manifest.Host]http.Header, len(m.Hosts))
	for _, h := range m.Hosts {
		hostHeaders[h] = toHeader(h.Headers)
	}
	var creds netrcCreds
	if s.Netrc {
		if creds, err = loadNetrc(); err != nil {
			return r.setupError(ErrSettings, err, "%v", err)
		}
		r.addSecrets(creds.secrets())
	}
	r.breaker = newBreaker(segdl.NewClient(rt), defaultTrip, r.hostDown)
	var client segdl.Doer = r.breaker
	// A verbose line quotes what servers sent (a status line, headers,
	// errors): escaped, it cannot command a terminal.
	logf := func(s string) { r.emit(Event{Kind: EventLog, Text: redact.Escape(s)}) }
	if r.opts.Verbose {
		client = &verboseDoer{next: client, log: logf, redact: r.redact.Replace}
	}
	r.cfg = &segdl.Config{
		Client:        client,
		MaxSize:       s.MaxSize,
		MinSegment:    int64(s.MinSegment),
		Retries:       s.Retries,
		StallTimeout:  s.Timeout,
		UserAgent:     ua,
		Header:        toHeader(s.Headers, func(k string) bool { return !s.FromEnv[k] }),
		Credentials:   toHeader(s.Headers, func(k string) bool { return s.FromEnv[k] }),
		HostHeader:    func(hp string) http.Header { return hostHeaders[m.HostConfig(hp)] },
		Authorization: func(hp string) string { return creds.authorization(hostname(hp)) },
		Limiter:       r.sched.Limiter,
		ChunkSize:     chunk,
		MaxConns:      min(s.PerFile, s.PerHost),
		OnSuccess:     r.sched.OnSuccess,
		OnThrottle:    r.sched.OnThrottle,
		// Verified files are made durable and renamed in batches: one
		// flush and one fsync per directory for many small files. Their
		// state records are written, one write a batch, once their
		// renames are durable.
		// A file whose directory could not be synced is not recorded.
		Publisher: segdl.NewPublisher(root, segdl.PublisherConfig{Published: r.published, Undurable: r.undurable}),
	}
	if r.opts.Verbose {
		r.cfg.OnRetry = func(p string, attempt, retries int, wait time.Duration, err error) {
			logf(fmt.Sprintf("retry: %s: attempt %d of %d in %v: %s", p, attempt+1, retries+1, wait.Round(time.Millisecond), r.redact.Replace(err.Error())))
		}
	}
	// The directories that pruned files left.
	defer func() {
		if err := r.dirs.sync(root); err != nil {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("syncing dest: %v", err)})
		}
	}()

	todo := r.plan(ctx)
	if !r.opts.Prune {
		// Nothing reads a record after the plan but prune: the records
		// this run writes go to the log, not into memory.
		r.store.Retain(func(string) bool { return false })
	}
	r.emit(Event{Kind: EventPlanned, Plan: r.planSummary(len(todo)), Status: &Status{r: r}})
	err = r.sched.Run(ctx, &source{r: r, todo: todo})
	// Interrupted: the files verified by then are published, and reported.
	r.cfg.Publisher.Close()
	r.settle()
	r.res.Interrupted = err != nil
	if r.opts.Prune && !r.res.Interrupted {
		r.prune()
	}
	return nil
}

// hostRates returns each host's own bandwidth cap for the scheduler, or
// nil when no [hosts] entry sets a rate: then the scheduler answers
// Limiter, once per response, without taking its lock.
// lowestRate returns the lowest of global and the hosts' rates, 0 if none
// is set.
func lowestRate(global manifest.Rate, m *manifest.Manifest) int64 {
	low := int64(global)
	for _, h := range m.Hosts {
		if h.Rate > 0 && (low == 0 || int64(h.Rate) < low) {
			low = int64(h.Rate)
		}
	}
	return low
}

func hostRates(m *manifest.Manifest) func(hostport string) int64 {
	for _, h := range m.Hosts {
		if h.Rate > 0 {
			return func(hp string) int64 {
				if h := m.HostConfig(hp); h != nil {
					return int64(h.Rate)
				}
				return 0
			}
		}
	}
	return nil
}

// unwrapPath drops the path a *fs.PathError repeats, for messages that
// name it themselves.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// toHeader returns the headers of m that keep accepts (all if keep is nil).
func toHeader(m map[string]string, keep ...func(string) bool) http.Header {
	if len(m) == 0 {
		return nil
	}
	h := make(http.Header, len(m))
	for k, v := range m {
		if len(keep) == 0 || keep[0](k) {
			h.Set(k, v)
		}
	}
	return h
}

// specBuilder makes the segdl.Specs of a run's files without an
// allocation per file for what files share: the URL list of a file of one
// URL is cut from a chunk, and each checksum algorithm's hash constructor
// is made once. Safe for concurrent use; the zero value is ready.
type specBuilder struct {
	mu     sync.Mutex
	urls   []string                    // what is left of the current chunk
	hashes map[string]func() hash.Hash // per algorithm
}

// spec returns the segdl.Spec of file f.
func (b *specBuilder) spec(f *manifest.File) segdl.Spec {
	spec := segdl.Spec{Path: f.Path, Size: f.Size, Header: toHeader(f.Headers), Hash: sha256.New}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(f.Mirrors) > 0 {
		spec.URLs = append([]string{f.URL}, f.Mirrors...)
	} else {
		if len(b.urls) == 0 {
			b.urls = make([]string, 256)
		}
		b.urls[0] = f.URL
		spec.URLs, b.urls = b.urls[:1:1], b.urls[1:] // capped: an append copies
	}
	if !f.Checksum.IsZero() {
		newHash, ok := b.hashes[f.Checksum.Algo]
		if !ok {
			if b.hashes == nil {
				b.hashes = map[string]func() hash.Hash{}
			}
			newHash = manifest.Checksum{Algo: f.Checksum.Algo}.New
			b.hashes[f.Checksum.Algo] = newHash
		}
		spec.Hash, spec.Sum = newHash, f.Checksum.Sum
	}
	return spec
}

// spec returns the segdl.Spec of file i, conditional on its validator if
// plan decided so.
func (r *runner) spec(i int) segdl.Spec {
	spec := r.specs.spec(&r.m.Files[i])
	if rec, ok := r.conditional[i]; ok {
		spec.IfNoneMatch, spec.IfModifiedSince = rec.ETag, rec.LastModified
	}
	return spec
}

// addSecrets adds values that must never appear in output or reports.
func (r *runner) addSecrets(ss []string) {
	for _, s := range ss {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, "***")
	}
	r.redact = strings.NewReplacer(pairs...)
}

// proxySecrets returns the passwords in the proxy URLs of the environment.
func proxySecrets() []string {
	var out []string
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"} {
		if u, err := url.Parse(os.Getenv(k)); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				out = append(out, pw)
			}
		}
	}
	return out
}
