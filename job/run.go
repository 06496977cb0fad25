package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
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
		hosts: make([]string, len(m.Files)), downHosts: map[string]bool{},
		res: &Result{Manifest: m, Command: command, Shard: opts.Shard, Started: time.Now(), Files: make([]FileResult, len(m.Files))}}
	r.addSecrets(m.Secrets())
	r.addSecrets(proxySecrets())
	hosts := map[string]string{} // one string per host, not per file
	for i := range m.Files {
		h := segdl.HostPort(m.Files[i].URL)
		if s, ok := hosts[h]; ok {
			h = s
		} else {
			hosts[h] = h
		}
		r.hosts[i] = h
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

	chunk := 256 << 10
	if s.Rate > 0 {
		// Small reads under a low cap keep the limiter's bursts small.
		chunk = int(min(int64(chunk), max(16<<10, int64(s.Rate)/20)))
	}
	r.sched = scheduler.New(scheduler.Config{
		Connections: s.Connections, PerHost: s.PerHost, PerFile: s.PerFile,
		HostCap: func(hp string) int {
			if h := m.HostConfig(hp); h != nil {
				return h.Connections
			}
			return 0
		},
		Rate: int64(s.Rate),
		HostRate: func(hp string) int64 {
			if h := m.HostConfig(hp); h != nil {
				return int64(h.Rate)
			}
			return 0
		},
		Burst: chunk,
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
	logf := func(s string) { r.emit(Event{Kind: EventLog, Text: s}) }
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
		OnSuccess:     r.sched.OnSuccess,
		// Verified files are made durable and renamed in batches: one
		// flush and one fsync per directory for many small files. Their
		// state records are written, one write a batch, once their
		// renames are durable.
		Publisher: segdl.NewPublisher(root, segdl.PublisherConfig{Published: r.published}),
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

// spec returns the segdl.Spec of file i.
func spec(f *manifest.File) segdl.Spec {
	spec := segdl.Spec{
		URLs: append([]string{f.URL}, f.Mirrors...), Path: f.Path, Size: f.Size,
		Header: toHeader(f.Headers), Hash: sha256.New,
	}
	if !f.Checksum.IsZero() {
		spec.Hash, spec.Sum = f.Checksum.New, f.Checksum.Sum
	}
	return spec
}

// spec returns the segdl.Spec of file i, conditional on its validator if
// plan decided so.
func (r *runner) spec(i int) segdl.Spec {
	spec := spec(&r.m.Files[i])
	if rec, ok := r.conditional[i]; ok {
		spec.IfNoneMatch, spec.IfModifiedSince = rec.ETag, rec.LastModified
	}
	return spec
}

// plan decides, by Decide, what the run does with each file of this shard
// (from its own state log, or another shard's: vouchFromOthers), hashes
// those that need it (several at once), and returns the files to fetch in
// manifest order; the others are marked skipped.
func (r *runner) plan(ctx context.Context) []int {
	var hash, unsure []int
	todo := make([]int, 0, len(r.m.Files))
	skip := make([]bool, len(r.m.Files))
	policy := Policy{Verify: r.opts.Verify, SkipExisting: r.m.Settings.SkipExisting}
	for i := range r.m.Files {
		f := &r.m.Files[i]
		if r.res.Files[i].Outcome == OtherShard {
			skip[i] = true
			continue
		}
		rec, recorded := r.store.Get(f.Path)
		act := Decide(f, r.onDisk(f.Path), rec, recorded, policy)
		switch act {
		case Skip, Trust:
			skip[i] = true
		case Hash:
			hash = append(hash, i)
		case Conditional:
			r.conditional[i] = rec
		}
		if act == Hash || act == Fetch {
			unsure = append(unsure, i)
		}
	}
	// Records of other runs into dest (shards of another split) may spare
	// these a hash or a fetch; adopted into this run's own log, they spare
	// the next run of this shard reading other logs.
	for i, v := range vouchFromOthers(r.root, r.opts.Shard, r.m, unsure, policy) {
		if err := r.store.Put(v.rec); err != nil {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%s: not recorded in the state (the next run checks it again): %v", redact.Escape(v.rec.Path), err)})
		}
		if v.act == Skip {
			skip[i] = true
		} else {
			r.conditional[i] = v.rec
		}
	}
	hash = slices.DeleteFunc(hash, func(i int) bool { return skip[i] })
	eachParallel(ctx, hash, func(i int) {
		ok, err := segdl.Complete(ctx, r.root, r.spec(i))
		switch {
		case err != nil && ctx.Err() == nil:
			// Fetched again below, which replaces it; say why it was not kept.
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%s: %v; fetching it again", redact.Escape(r.m.Files[i].Path), r.redact.Replace(err.Error()))})
		case ok:
			skip[i] = true
			r.record(i, r.m.Files[i].Checksum.String(), "", "")
		}
	})
	for i := range r.m.Files {
		res := &r.res.Files[i]
		if res.Outcome == OtherShard {
			continue
		}
		if !skip[i] {
			todo = append(todo, i)
			continue
		}
		res.Outcome = Skipped
		if !r.m.Files[i].Checksum.IsZero() {
			res.Sum = r.m.Files[i].Checksum.Sum
		}
		if size, _, err := state.Stat(r.root, r.m.Files[i].Path); err == nil {
			res.Size = size
		}
		r.done++
	}
	r.mu.Lock()
	r.tot, r.totOK = tally(r.res.Files), true
	r.mu.Unlock()
	return todo
}

// planSummary describes the run about to start.
func (r *runner) planSummary(toFetch int) *Plan {
	p := &Plan{Files: r.res.InShard, ToFetch: toFetch}
	hosts := map[string]bool{}
	for i := range r.m.Files {
		res := &r.res.Files[i]
		if res.Outcome == OtherShard {
			continue
		}
		if res.Size >= 0 {
			p.KnownBytes += res.Size
		} else {
			p.Unknown++
		}
		hosts[r.hosts[i]] = true
	}
	p.Hosts = len(hosts)
	return p
}

// record writes what bulkdl knows of file i, now at its path, to the store.
// Validators are recorded with the digest of the URL that gave them.
func (r *runner) record(i int, checksum, etag, lastMod string) {
	p := r.m.Files[i].Path
	size, mtime, err := state.Stat(r.root, p)
	if err != nil {
		r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%s: not recorded in the state (the next run checks it again): %v", redact.Escape(p), err)})
		return
	}
	rec := state.Record{Path: p, Size: size, ModTime: mtime, Checksum: checksum, ETag: etag, LastModified: lastMod}
	if etag != "" || lastMod != "" {
		rec.URL = state.URLDigest(r.m.Files[i].URL)
	}
	if err := r.store.Put(rec); err != nil {
		r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%s: not recorded in the state (the next run checks it again): %v", redact.Escape(p), err)})
	}
}

// prune deletes files bulkdl recorded that the manifest no longer lists.
// It never touches a file bulkdl did not create, nor one changed since
// bulkdl wrote it (its size or modification time differ from the record):
// that is someone's own content now.
func (r *runner) prune() {
	listed := make(map[string]bool, len(r.m.Files))
	for i := range r.m.Files {
		listed[r.m.Files[i].Path] = true
	}
	forget := func(p string) {
		if err := r.store.Forget(p); err != nil {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune %s: %v", redact.Escape(p), err)})
		}
	}
	for _, p := range r.store.Paths() {
		if listed[p] {
			continue
		}
		rec, _ := r.store.Get(p)
		size, mtime, err := state.Stat(r.root, p)
		if err == nil && (size != rec.Size || mtime != rec.ModTime) {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune: kept %s: it changed since bulkdl wrote it", redact.Escape(p))})
			forget(p)
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune %s: %v", redact.Escape(p), err)})
			continue
		}
		if err := r.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune %s: %v", redact.Escape(p), err)})
			continue
		}
		forget(p)
		r.res.Pruned++
		r.dirs.add(path.Dir(p))
	}
	r.pruneOthers(listed)
}

// source adapts the runner to scheduler.Source over the files to fetch.
type source struct {
	r    *runner
	todo []int
}

func (s *source) Len() int          { return len(s.todo) }
func (s *source) Host(k int) string { return s.r.hosts[s.todo[k]] }

func (s *source) Start(k int, notify func()) *segdl.Download {
	i := s.todo[k]
	r := s.r
	d := segdl.New(r.root, r.spec(i), r.cfg, notify)
	r.mu.Lock()
	r.active[i] = d
	r.index[d] = i
	r.res.Files[i].Start = time.Now()
	r.mu.Unlock()
	return d
}

func (s *source) Finished(k int, d *segdl.Download) { s.r.finished(s.todo[k], d) }

// settle reports the downloads that ended after the scheduler returned
// (published by the Publisher's last batch).
func (r *runner) settle() {
	r.mu.Lock()
	var ended []*segdl.Download
	for _, d := range r.active {
		select {
		case <-d.Done():
			ended = append(ended, d)
		default:
		}
	}
	r.mu.Unlock()
	for _, d := range ended {
		r.mu.Lock()
		i := r.index[d]
		r.mu.Unlock()
		r.finished(i, d)
	}
}

// published records a batch of files whose renames are durable, in one
// write to the state log; validators with the digest of the URL that gave
// them.
func (r *runner) published(ds []*segdl.Download) {
	recs := make([]state.Record, 0, len(ds))
	r.mu.Lock()
	for _, d := range ds {
		i, ok := r.index[d]
		if !ok {
			continue
		}
		f := &r.m.Files[i]
		algo := "sha256"
		if !f.Checksum.IsZero() {
			algo = f.Checksum.Algo
		}
		etag, lastMod := d.Validator()
		rec := state.Record{Path: f.Path, Size: d.Progress().Size, ModTime: d.ModTime().UnixNano(),
			Checksum: algo + ":" + hex.EncodeToString(d.Sum()), ETag: etag, LastModified: lastMod}
		if etag != "" || lastMod != "" {
			rec.URL = state.URLDigest(f.URL) // the validators belong to this URL
		}
		recs = append(recs, rec)
	}
	r.mu.Unlock()
	if err := r.store.PutAll(recs); err != nil {
		r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%d file(s) not recorded in the state (the next run checks them again): %v", len(recs), err)})
	}
}

// finished accounts for file i's ended download.
func (r *runner) finished(i int, d *segdl.Download) {
	p := d.Progress()
	r.mu.Lock()
	delete(r.active, i)
	delete(r.index, d)
	res := &r.res.Files[i]
	r.tot.add(res, -1)
	res.Attempts, res.Fetched, res.Duration = p.Requests, p.Received, time.Since(res.Start)
	r.res.Received += p.Received
	r.done++
	if err := d.Err(); err != nil {
		res.Outcome, res.Err = Failed, redact.Escape(r.redact.Replace(err.Error()))
		if errors.Is(err, segdl.ErrInterrupted) {
			res.Outcome = Pending
		}
	} else if d.NotModified() {
		res.Outcome = Skipped
		res.Size, _, _ = state.Stat(r.root, r.m.Files[i].Path)
	} else {
		res.Outcome, res.Sum, res.Size = Downloaded, d.Sum(), p.Size
	}
	r.tot.add(res, 1)
	outcome, msg := res.Outcome, res.Err
	r.mu.Unlock()
	if outcome == Failed {
		r.emit(Event{Kind: EventFailed, File: i, Text: msg})
	}
}

// dirSet collects the directories that published files went to, so that
// each is fsynced once.
type dirSet struct {
	mu   sync.Mutex
	dirs map[string]struct{}
}

func (s *dirSet) add(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs == nil {
		s.dirs = map[string]struct{}{}
	}
	s.dirs[dir] = struct{}{}
}

// sync fsyncs every directory added, and returns the first error.
func (s *dirSet) sync(root *os.Root) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for dir := range s.dirs {
		if err := segdl.SyncDir(root, dir); err != nil && first == nil && !errors.Is(err, fs.ErrNotExist) {
			first = err
		}
	}
	s.dirs = nil
	return first
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
