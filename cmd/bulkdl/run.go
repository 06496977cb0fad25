package main

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
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/scheduler"
	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/state"
)

type runFlags struct {
	settingsFlags
	progress     string
	interval     time.Duration
	verbose      bool
	timestamps   bool
	stamps       bool // lines are stamped with the time (-timestamps, or off a terminal)
	tty          bool // stderr is a terminal
	report       string
	dryRun       bool
	verify       bool
	skipExisting bool
	prune        bool
	shard        shardFlag
}

func (c *cli) run(args []string) int {
	fs := c.flagSet("run", "")
	var rf runFlags
	rf.register(fs)
	fs.StringVar(&rf.progress, "progress", "auto", "progress display: auto (bar on a terminal, else plain), bar, plain or none")
	fs.DurationVar(&rf.interval, "progress-interval", 10*time.Second, "how often plain progress prints a line")
	fs.BoolVar(&rf.quiet, "q", false, "quiet: print nothing when every file completed; else the failures and the summary (as curl -sS, for cron)")
	fs.StringVar(&rf.report, "report", "", "write a JSON report to this file at the end (also on failure and interrupt)")
	fs.BoolVar(&rf.verbose, "v", false, "verbose: log every request, response, redirect, and retry with its backoff (URLs redacted), for troubleshooting")
	fs.BoolVar(&rf.timestamps, "timestamps", false, "put the time at the start of every line (default: when stderr is not a terminal)")
	fs.BoolVar(&rf.dryRun, "dry-run", false, "say what a run would do with each file, from dest and its state (and with -prune what it would delete); fetch and write nothing")
	fs.BoolVar(&rf.verify, "verify", false, "re-hash files already present even when bulkdl recorded them as verified")
	fs.BoolVar(&rf.skipExisting, "skip-existing", false, "trust files present at their path that have no checksum (overrides skip_existing)")
	fs.BoolVar(&rf.prune, "prune", false, "delete files under dest that bulkdl created and the manifest no longer lists")
	fs.Var(&rf.shard, "shard", "K/N: fetch only the files whose path hashes to shard K of N (0 <= K < N)")
	if code, ok := c.parseArgs(fs, args, 0, -1); !ok {
		return code
	}
	if fs.NArg() > 1 || fs.NArg() == 1 && isURLArg(fs.Arg(0)) {
		// URLs on the command line, as curl and wget take them.
		for k, a := range fs.Args() {
			if msg := badListURL(a); msg != "" {
				if k == 0 && fs.NArg() > 1 && !isURLArg(a) {
					c.usageError(fs, "want one manifest, got %d: %q", fs.NArg(), fs.Args())
				} else {
					c.usageError(fs, "argument %d: %s; give one manifest, or URLs", k+1, msg)
				}
				return exitUsage
			}
		}
		rf.urls = fs.Args()
	}
	switch {
	case rf.input != "" && len(rf.urls) > 0:
		c.usageError(fs, "-i reads URLs from a list; give them there or as arguments, not both")
		return exitUsage
	case rf.input == "-" && fs.Arg(0) == "-":
		c.usageError(fs, "stdin can hold a manifest or a URL list, not both")
		return exitUsage
	case rf.input == "" && fs.NArg() == 0:
		c.usageError(fs, "want a manifest (or -i with a URL list)")
		return exitUsage
	case rf.input != "" && fs.NArg() > 0 && len(rf.urls) == 0:
		c.usageError(fs, "-i reads URLs instead of a manifest; drop %q or -i", fs.Arg(0))
		return exitUsage
	}
	switch rf.progress {
	case "auto", "bar", "plain", "none":
	default:
		c.usageError(fs, "-progress %q: want auto, bar, plain or none", rf.progress)
		return exitUsage
	}
	if rf.interval <= 0 {
		c.usageError(fs, "-progress-interval %v: want a positive duration such as 10s", rf.interval)
		return exitUsage
	}
	rf.tty = c.stderr == os.Stderr && (isatty.IsTerminal(os.Stderr.Fd()) || isatty.IsCygwinTerminal(os.Stderr.Fd()))
	rf.stamps = !rf.tty
	if set := flagsSet(fs); set["timestamps"] {
		rf.stamps = rf.timestamps
	}
	if rf.stamps && !rf.dryRun {
		c.stderr = newStampWriter(c.stderr, time.Now)
	}
	if rf.report != "" {
		if err := checkReportPath(rf.report); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl run: %v\n", err)
			return exitSetup
		}
	}
	m, ok := c.load(fs, &rf.settingsFlags, fs.Arg(0))
	if !ok {
		if rf.report != "" {
			name := fs.Arg(0)
			if rf.input != "" {
				name = rf.input
			} else if len(rf.urls) > 0 {
				name = urlArgsName
			}
			bareReport(rf.report, "run", name, rf.shard.String(), exitUsage, "the manifest or a flag is not valid; nothing was fetched (the log says why)")
		}
		return exitUsage
	}
	if set := flagsSet(fs); set["skip-existing"] {
		m.Settings.SkipExisting = rf.skipExisting
	}
	if rf.dryRun {
		return c.dryRun(m, &rf)
	}

	// First SIGINT/SIGTERM: stop starting work, cancel requests, keep
	// resume state, exit 130/143. A second one exits at once. On Windows
	// Go delivers Ctrl-C and Ctrl-Break as os.Interrupt, and closing the
	// console, log-off and shutdown as SIGTERM.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer func() {
		signal.Stop(sigs) // no delivery after this returns, so closing is safe
		close(sigs)       // and ends the goroutine below
	}()
	var caught atomic.Value
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		caught.Store(sig)
		cancel()
		if _, ok := <-sigs; ok {
			os.Exit(signalCode(sig))
		}
	}()

	r := newRunner(m, c)
	r.shard = rf.shard
	r.signal = func() int {
		if sig, ok := caught.Load().(os.Signal); ok {
			return signalCode(sig)
		}
		return 0
	}
	code := r.run(ctx, &rf)
	if sig := r.signal(); sig != 0 {
		return sig
	}
	return code
}

func signalCode(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return 143
	}
	return exitInterrupted
}

// runner downloads one manifest: it is the scheduler.Source and keeps
// each file's outcome for the display and the report.
type runner struct {
	m       *manifest.Manifest
	c       *cli
	root    *os.Root
	cfg     *segdl.Config
	redact  *strings.Replacer
	secrets []string
	results []fileResult
	hosts   []string // per file, host:port of its url
	// conditional holds the records of files fetched with If-None-Match
	// or If-Modified-Since; written by plan before the run starts.
	conditional map[int]state.Record
	pruned      int
	inShard     int       // files this run is responsible for
	shard       shardFlag // -shard, for the report

	mu      sync.Mutex
	tot     totals // of results, for the display
	totOK   bool   // tot is up to date (from the plan on)
	active  map[int]*segdl.Download
	index   map[*segdl.Download]int // the file of each active download
	done    []int                   // finished, in order, for the display
	failed  int
	fetched int64 // bytes received over the network by finished files
	sched   *scheduler.Scheduler
	store   *state.Store
	dirs    dirSet
	started time.Time
	onFail  func(i int)

	command  string     // run or verify, for the report
	exitCode int        // for the report
	setupErr string     // why the run could not start, for the report
	signal   func() int // the exit code of a signal caught, or 0
	// interrupted is set when the run stopped early.
	interrupted bool

	breaker *breaker
	trip    int // connection failures in a row that mark a host down; 0 for the default
	// onHostDown tells the display that a host was found down.
	onHostDown func(host string, failures int)
	downHosts  []string
}

// startLine describes the run about to start, for plain output.
func (r *runner) startLine(toFetch int, budget string) string {
	var known int64
	unknown := 0
	hosts := map[string]bool{}
	for i := range r.m.Files {
		if r.results[i].status == "other-shard" {
			continue
		}
		if size := r.results[i].size; size >= 0 {
			known += size
		} else {
			unknown++
		}
		hosts[r.hosts[i]] = true
	}
	return startLine(r.inShard, toFetch, known, unknown, len(hosts), r.m.Dest, budget, r.m.Settings.Rate)
}

// hostDown records that the breaker found host down and says so, once.
func (r *runner) hostDown(host string, failures int) {
	r.mu.Lock()
	r.downHosts = append(r.downHosts, host)
	say := r.onHostDown
	r.mu.Unlock()
	if say != nil {
		say(host, failures)
	}
}

// fileResult is what the report says of one file.
type fileResult struct {
	status   string // downloaded, skipped, failed, pending
	size     int64
	sum      []byte
	attempts int64
	fetched  int64
	start    time.Time
	duration time.Duration
	err      string
}

func newRunner(m *manifest.Manifest, c *cli) *runner {
	r := &runner{m: m, c: c, command: "run", signal: func() int { return 0 }, active: map[int]*segdl.Download{}, index: map[*segdl.Download]int{}, conditional: map[int]state.Record{},
		results: make([]fileResult, len(m.Files)), hosts: make([]string, len(m.Files))}
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
		r.results[i].status = "pending"
		r.results[i].size = m.Files[i].Size
	}
	return r
}

func (r *runner) run(ctx context.Context, rf *runFlags) int {
	code := r.fetch(ctx, rf)
	if rf.report == "" {
		return code
	}
	r.exitCode = code
	if sig := r.signal(); sig != 0 {
		r.exitCode = sig
	}
	if err := writeReport(rf.report, r, r.interrupted); err != nil {
		fmt.Fprintf(r.c.stderr, "bulkdl: writing the report: %v\n", err)
		return max(code, exitSetup)
	}
	return code
}

// setupError says that the run could not start, where, and how to fix it.
func (r *runner) setupError(format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	r.setupErr = r.redact.Replace(msg)
	fmt.Fprintf(r.c.stderr, "bulkdl: %s\n", r.setupErr)
	return exitSetup
}

// fetch is the run proper; run adds the report.
func (r *runner) fetch(ctx context.Context, rf *runFlags) int {
	m, s := r.m, r.m.Settings
	r.started = time.Now()
	if err := os.MkdirAll(m.Dest, 0o755); err != nil {
		return r.setupError("cannot create dest %s: %v; nothing was fetched. Give a -dest (or dest in the manifest) this user can create and write.", m.Dest, unwrapPath(err))
	}
	root, err := os.OpenRoot(m.Dest)
	if err != nil {
		return r.setupError("cannot open dest %s: %v; nothing was fetched. Give a -dest this user can read and write.", m.Dest, unwrapPath(err))
	}
	defer root.Close()
	r.root = root
	store, err := state.Open(root, rf.shard.name())
	if errors.Is(err, state.ErrLocked) {
		r.setupErr = fmt.Sprintf("another bulkdl run is using %s", m.Dest)
		fmt.Fprintf(r.c.stderr, "bulkdl: %v: %s; nothing was done (exit %d). Wait for it, or give this run another -dest.\n", err, m.Dest, exitLocked)
		return exitLocked
	}
	if err != nil {
		return r.setupError("cannot keep bulkdl's state in %s: %v; nothing was fetched. bulkdl needs to write there (a read-only mount, such as a ConfigMap, cannot be a dest): give a writable -dest.",
			filepath.Join(m.Dest, manifest.StateDir), unwrapPath(err))
	}
	defer store.Close()
	r.store = store

	mode := outputMode(rf.progress, rf.tty, os.Getenv("TERM"), rf.verbose || rf.stamps, rf.quiet)
	if mode == "bar" && rf.tty {
		restore, ok := enableVT(os.Stderr)
		defer restore()
		if !ok {
			mode = "plain" // a Windows console without escape sequences
		}
	}
	disp := newDisplay(r, mode, rf.interval)
	disp.quiet = rf.quiet
	r.onFail = disp.failed
	r.onHostDown = disp.hostDown

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
		ua = "bulkdl/" + moduleVersion()
	}
	rt, err := newTransport(m)
	if err != nil {
		r.setupErr = r.redact.Replace(err.Error())
		fmt.Fprintf(r.c.stderr, "bulkdl: %s\n", r.setupErr)
		return exitUsage
	}
	// Built once: HostHeader is asked on every request and redirect hop.
	hostHeaders := make(map[*manifest.Host]http.Header, len(m.Hosts))
	for _, h := range m.Hosts {
		hostHeaders[h] = toHeader(h.Headers)
	}
	var creds netrcCreds
	if s.Netrc {
		if creds, err = loadNetrc(); err != nil {
			r.setupErr = err.Error()
			fmt.Fprintf(r.c.stderr, "bulkdl: %v\n", err)
			return exitUsage
		}
		r.addSecrets(creds.secrets())
	}
	r.breaker = newBreaker(segdl.NewClient(rt), r.trip, r.hostDown)
	var client segdl.Doer = r.breaker
	if rf.verbose {
		client = &verboseDoer{next: client, log: disp.log, redact: r.redact.Replace}
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
	if rf.verbose {
		r.cfg.OnRetry = func(p string, attempt, retries int, wait time.Duration, err error) {
			disp.log(fmt.Sprintf("retry: %s: attempt %d of %d in %v: %s", p, attempt+1, retries+1, wait.Round(time.Millisecond), r.redact.Replace(err.Error())))
		}
	}
	defer r.dirs.sync(root) // directories pruned files left

	todo := r.plan(ctx, rf)
	// Decoding a large manifest leaves garbage several times its size;
	// give it back before the run instead of carrying it as peak RSS.
	// The run's heap is then mostly the manifest and the files' results,
	// which live to the end: collecting at 1.5x that, not 2x, keeps a
	// 100,000-file run under 150 MiB for no measurable CPU. GOGC, if set,
	// decides.
	debug.FreeOSMemory()
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(50))
	}
	if mode == "plain" {
		disp.line(r.startLine(len(todo), budgetText(m, rf.perHostFollows)))
	}
	disp.start()
	err = r.sched.Run(ctx, &source{r: r, todo: todo})
	// Interrupted: the files verified by then are published, and reported.
	r.cfg.Publisher.Close()
	r.settle()
	disp.stop()

	interrupted := err != nil
	r.interrupted = interrupted
	if rf.prune && !interrupted {
		r.prune()
	}
	disp.summary(interrupted)
	if r.failed > 0 {
		return exitFailed
	}
	return exitOK
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
func (r *runner) spec(i int) segdl.Spec {
	f := &r.m.Files[i]
	spec := segdl.Spec{
		URLs: append([]string{f.URL}, f.Mirrors...), Path: f.Path, Size: f.Size,
		Header: toHeader(f.Headers), Hash: sha256.New,
	}
	if !f.Checksum.IsZero() {
		spec.Hash, spec.Sum = f.Checksum.New, f.Checksum.Sum
	}
	if rec, ok := r.conditional[i]; ok {
		spec.IfNoneMatch, spec.IfModifiedSince = rec.ETag, rec.LastModified
	}
	return spec
}

// plan decides for each file of this shard what the run does, and returns
// the files to fetch in manifest order; the others are marked skipped. A
// file at its path is skipped without reading it when bulkdl recorded it
// as verified (in this run's log, or in another shard's: vouchFromOthers)
// and its size and mtime are unchanged; otherwise it is hashed
// (several files at once) if the manifest gives a checksum. Without a
// checksum it is fetched conditionally on its recorded validator, or
// trusted with skip_existing, or fetched again.
func (r *runner) plan(ctx context.Context, rf *runFlags) []int {
	var hash, unsure []int
	todo := make([]int, 0, len(r.m.Files))
	skip := make([]bool, len(r.m.Files))
	for i := range r.m.Files {
		f := &r.m.Files[i]
		if !rf.shard.has(f.Path) {
			r.results[i].status = "other-shard"
			skip[i] = true
			continue
		}
		r.inShard++
		act, rec := decide(r.root, r.store, f, rf.verify, r.m.Settings.SkipExisting)
		switch act {
		case actSkip, actTrust:
			skip[i] = true
		case actHash:
			hash = append(hash, i)
		case actConditional:
			r.conditional[i] = rec
		}
		if act == actHash || act == actFetch {
			unsure = append(unsure, i)
		}
	}
	// Records of other runs into dest (shards of another split) may spare
	// these a hash or a fetch; adopted into this run's own log, they spare
	// the next run of this shard reading other logs.
	for i, v := range vouchFromOthers(r.root, rf.shard, r.m, unsure, rf.verify, r.m.Settings.SkipExisting) {
		r.store.Put(v.rec)
		if v.act == actSkip {
			skip[i] = true
		} else {
			r.conditional[i] = v.rec
		}
	}
	hash = slices.DeleteFunc(hash, func(i int) bool { return skip[i] })
	eachParallel(ctx, hash, func(i int) {
		if ok, _ := segdl.Complete(r.root, r.spec(i)); ok {
			skip[i] = true
			r.record(i, r.m.Files[i].Checksum.String(), "", "")
		}
	})
	for i := range r.m.Files {
		if !skip[i] {
			todo = append(todo, i)
			continue
		}
		if r.results[i].status == "other-shard" {
			continue
		}
		res := &r.results[i]
		res.status = "skipped"
		if !r.m.Files[i].Checksum.IsZero() {
			res.sum = r.m.Files[i].Checksum.Sum
		}
		if size, _, err := state.Stat(r.root, r.m.Files[i].Path); err == nil {
			res.size = size
		}
		r.done = append(r.done, i)
	}
	r.mu.Lock()
	r.tot, r.totOK = tally(r.results), true
	r.mu.Unlock()
	return todo
}

// action is what a run does with a file of the manifest.
type action int

const (
	actFetch       action = iota // not at its path, or nothing tells that it is complete
	actSkip                      // recorded as verified, and unchanged since
	actTrust                     // at its path without a checksum; skip_existing trusts it
	actHash                      // at its path with a checksum: hash it, fetch if it differs
	actConditional               // recorded with a validator: fetch if changed on the server
)

// decide says what a run does with f, from what is at its path and what
// the state log recorded of it; rec is the record for actConditional.
func decide(root *os.Root, store records, f *manifest.File, verify, skipExisting bool) (action, state.Record) {
	size, mtime, err := state.Stat(root, f.Path)
	if err != nil {
		return actFetch, state.Record{} // not there
	}
	rec, known := store.Get(f.Path)
	known = known && rec.Size == size && rec.ModTime == mtime
	switch {
	case !f.Checksum.IsZero() && known && rec.Checksum == f.Checksum.String() && !verify:
		return actSkip, rec
	case !f.Checksum.IsZero() && (f.Size < 0 || size == f.Size):
		return actHash, rec
	case f.Checksum.IsZero() && skipExisting:
		return actTrust, rec
	case f.Checksum.IsZero() && known && (rec.ETag != "" || rec.LastModified != "") && rec.URL == state.URLDigest(f.URL):
		// Validators belong to the URL that gave them: another URL for
		// this path gets an unconditional request.
		return actConditional, rec
	}
	return actFetch, rec
}

// record writes what bulkdl knows of file i, now at its path, to the store.
// Validators are recorded with the digest of the URL that gave them.
func (r *runner) record(i int, checksum, etag, lastMod string) {
	p := r.m.Files[i].Path
	size, mtime, err := state.Stat(r.root, p)
	if err != nil {
		return
	}
	rec := state.Record{Path: p, Size: size, ModTime: mtime, Checksum: checksum, ETag: etag, LastModified: lastMod}
	if etag != "" || lastMod != "" {
		rec.URL = state.URLDigest(r.m.Files[i].URL)
	}
	r.store.Put(rec)
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
	for _, p := range r.store.Paths() {
		if listed[p] {
			continue
		}
		rec, _ := r.store.Get(p)
		size, mtime, err := state.Stat(r.root, p)
		if err == nil && (size != rec.Size || mtime != rec.ModTime) {
			fmt.Fprintf(r.c.stderr, "bulkdl: prune: kept %s: it changed since bulkdl wrote it\n", p)
			r.store.Forget(p)
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(r.c.stderr, "bulkdl: prune %s: %v\n", p, err)
			continue
		}
		if err := r.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(r.c.stderr, "bulkdl: prune %s: %v\n", p, err)
			continue
		}
		r.store.Forget(p)
		r.pruned++
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
	r.results[i].start = time.Now()
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
// write to the state log.
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
	r.store.PutAll(recs)
}

// finished accounts for file i's ended download.
func (r *runner) finished(i int, d *segdl.Download) {
	p := d.Progress()
	r.mu.Lock()
	delete(r.active, i)
	delete(r.index, d)
	res := &r.results[i]
	r.tot.add(res, -1)
	res.attempts, res.fetched, res.duration = p.Requests, p.Received, time.Since(res.start)
	r.fetched += p.Received
	r.done = append(r.done, i)
	failed := false
	if err := d.Err(); err != nil {
		res.status, res.err = "failed", redact.Escape(r.redact.Replace(err.Error()))
		if errors.Is(err, segdl.ErrInterrupted) {
			res.status = "pending"
		} else {
			r.failed++
			failed = true
		}
	} else if d.NotModified() {
		res.status = "skipped"
		res.size, _, _ = state.Stat(r.root, r.m.Files[i].Path)
	} else {
		res.status, res.sum, res.size = "downloaded", d.Sum(), p.Size
	}
	r.tot.add(res, 1)
	r.mu.Unlock()
	if failed && r.onFail != nil {
		r.onFail(i)
	}
}

// dryRun says what a run would do with each file, and with -prune what it
// would delete, from dest and its state log, without network traffic and
// without writing anything.
func (c *cli) dryRun(m *manifest.Manifest, rf *runFlags) int {
	var store *state.Store
	root, err := os.OpenRoot(m.Dest)
	if err == nil {
		defer root.Close()
		if store, err = state.Read(root, rf.shard.name()); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl: reading the state in %s: %v; the plan below assumes none\n", m.Dest, err)
		}
	}
	if store == nil {
		store = &state.Store{}
	}
	words := map[action]string{
		actFetch:       "fetch",
		actSkip:        "skip (recorded complete and unchanged; no request)",
		actTrust:       "skip (exists; skip_existing trusts it)",
		actHash:        "verify (hash it), fetch if different",
		actConditional: "fetch if changed on the server (conditional request)",
	}
	counts := map[action]int{}
	n := 0
	acts := make([]action, len(m.Files))
	var unsure []int
	for i := range m.Files {
		if root != nil && rf.shard.has(m.Files[i].Path) {
			acts[i], _ = decide(root, store, &m.Files[i], rf.verify, m.Settings.SkipExisting)
			if acts[i] == actHash || acts[i] == actFetch {
				unsure = append(unsure, i)
			}
		}
	}
	if root != nil {
		for i, v := range vouchFromOthers(root, rf.shard, m, unsure, rf.verify, m.Settings.SkipExisting) {
			acts[i] = v.act
		}
	}
	for i := range m.Files {
		f := &m.Files[i]
		if !rf.shard.has(f.Path) {
			continue
		}
		act := acts[i]
		word := words[act]
		if act == actFetch && root != nil {
			if _, serr := root.Stat(f.Path); serr == nil {
				word = "fetch (exists; no checksum or record to verify it)"
			}
		}
		counts[act]++
		fmt.Fprintf(c.stdout, "%s\t%s <- %s\n", word, redact.Escape(f.Path), redact.URL(f.URL))
		n++
	}
	pruned := 0
	if rf.prune && root != nil {
		listed := make(map[string]bool, len(m.Files))
		for i := range m.Files {
			listed[m.Files[i].Path] = true
		}
		for _, p := range store.Paths() {
			if listed[p] {
				continue
			}
			if _, serr := root.Stat(p); serr != nil {
				continue // already gone
			}
			fmt.Fprintf(c.stdout, "prune\t%s (bulkdl wrote it; the manifest no longer lists it)\n", redact.Escape(p))
			pruned++
		}
		pruned += c.dryPruneOthers(root, store, rf.shard, listed)
	}
	fmt.Fprintf(c.stdout, "dry run: %d file(s) into %s: %d to fetch, %d to fetch if changed, %d to hash, %d to skip",
		n, m.Dest, counts[actFetch], counts[actConditional], counts[actHash], counts[actSkip]+counts[actTrust])
	if rf.prune {
		fmt.Fprintf(c.stdout, ", %d to prune", pruned)
	}
	fmt.Fprintln(c.stdout, "; nothing fetched")
	return exitOK
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

func (s *dirSet) sync(root *os.Root) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for dir := range s.dirs {
		segdl.SyncDir(root, dir)
	}
	s.dirs = nil
}

// eachParallel calls fn for every index, on one goroutine per CPU (hashing
// is CPU-bound), and returns when all calls returned or ctx is done.
func eachParallel(ctx context.Context, idx []int, fn func(i int)) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(runtime.NumCPU(), len(idx)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				k := int(next.Add(1)) - 1
				if k >= len(idx) {
					return
				}
				fn(idx[k])
			}
		}()
	}
	wg.Wait()
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
