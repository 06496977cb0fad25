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
	"runtime"
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
	quiet        bool
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
	fs.BoolVar(&rf.quiet, "q", false, "quiet: print only failures and the summary")
	fs.StringVar(&rf.report, "report", "", "write a JSON report to this file at the end (also on failure and interrupt)")
	fs.BoolVar(&rf.dryRun, "dry-run", false, "say what would be fetched; fetch nothing")
	fs.BoolVar(&rf.verify, "verify", false, "re-hash files already present even when bulkdl recorded them as verified")
	fs.BoolVar(&rf.skipExisting, "skip-existing", false, "trust files present at their path that have no checksum (overrides skip_existing)")
	fs.BoolVar(&rf.prune, "prune", false, "delete files under dest that bulkdl created and the manifest no longer lists")
	fs.Var(&rf.shard, "shard", "K/N: fetch only the files whose path hashes to shard K of N (0 <= K < N)")
	if code, ok := c.parse(fs, args, 1); !ok {
		return code
	}
	switch rf.progress {
	case "auto", "bar", "plain", "none":
	default:
		fmt.Fprintf(c.stderr, "bulkdl run: -progress %q: want auto, bar, plain or none\n", rf.progress)
		return exitUsage
	}
	m, ok := c.load(fs, &rf.settingsFlags, fs.Arg(0))
	if !ok {
		return exitUsage
	}
	if set := flagsSet(fs); set["skip-existing"] {
		m.Settings.SkipExisting = rf.skipExisting
	}
	if rf.dryRun {
		return c.dryRun(m, rf.shard)
	}

	// First SIGINT/SIGTERM: stop starting work, cancel requests, keep
	// resume state, exit 130/143. A second one exits at once.
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
	code := r.run(ctx, &rf)
	if sig, ok := caught.Load().(os.Signal); ok {
		return signalCode(sig)
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
	inShard     int // files this run is responsible for

	mu      sync.Mutex
	active  map[int]*segdl.Download
	done    []int // finished, in order, for the display
	failed  int
	fetched int64 // bytes received over the network by finished files
	sched   *scheduler.Scheduler
	store   *state.Store
	dirs    dirSet
	started time.Time
	onFail  func(i int)
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
	r := &runner{m: m, c: c, active: map[int]*segdl.Download{}, conditional: map[int]state.Record{},
		results: make([]fileResult, len(m.Files)), hosts: make([]string, len(m.Files))}
	r.addSecrets(m.Secrets())
	r.addSecrets(proxySecrets())
	for i := range m.Files {
		r.hosts[i] = segdl.HostPort(m.Files[i].URL)
		r.results[i].status = "pending"
		r.results[i].size = m.Files[i].Size
	}
	return r
}

func (r *runner) run(ctx context.Context, rf *runFlags) int {
	m, s := r.m, r.m.Settings
	r.started = time.Now()
	if err := os.MkdirAll(m.Dest, 0o755); err != nil {
		fmt.Fprintf(r.c.stderr, "bulkdl: creating dest: %v\n", err)
		return exitFailed
	}
	root, err := os.OpenRoot(m.Dest)
	if err != nil {
		fmt.Fprintf(r.c.stderr, "bulkdl: opening dest: %v\n", err)
		return exitFailed
	}
	defer root.Close()
	r.root = root
	store, err := state.Open(root, rf.shard.name())
	if errors.Is(err, state.ErrLocked) {
		fmt.Fprintf(r.c.stderr, "bulkdl: %v: %s; nothing was done (exit %d). Wait for it, or give this run another -dest.\n", err, m.Dest, exitLocked)
		return exitLocked
	}
	if err != nil {
		fmt.Fprintf(r.c.stderr, "bulkdl: %v\n", err)
		return exitFailed
	}
	defer store.Close()
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
		ua = "bulkdl/" + moduleVersion()
	}
	rt, err := newTransport(m)
	if err != nil {
		fmt.Fprintf(r.c.stderr, "bulkdl: %v\n", err)
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
			fmt.Fprintf(r.c.stderr, "bulkdl: %v\n", err)
			return exitUsage
		}
		r.addSecrets(creds.secrets())
	}
	r.cfg = &segdl.Config{
		Client:        segdl.NewClient(rt),
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
		OnThrottle:    r.sched.OnThrottle,
		OnSuccess:     r.sched.OnSuccess,
		SyncDir:       r.dirs.add,
	}
	// One fsync per directory at the end, not one per file: with many
	// small files that halves the syncs a run waits for.
	defer r.dirs.sync(root)

	mode := rf.progress
	if mode == "auto" {
		mode = "plain"
		if isatty.IsTerminal(os.Stderr.Fd()) && r.c.stderr == os.Stderr {
			mode = "bar"
		}
	}
	if rf.quiet {
		mode = "none"
	}
	disp := newDisplay(r, mode, rf.interval)
	r.onFail = disp.failed

	todo := r.plan(ctx, rf)
	disp.start()
	err = r.sched.Run(ctx, &source{r: r, todo: todo})
	disp.stop()

	interrupted := err != nil
	if rf.prune && !interrupted {
		r.prune()
	}
	disp.summary(interrupted)
	if rf.report != "" {
		if werr := writeReport(rf.report, r, interrupted); werr != nil {
			fmt.Fprintf(r.c.stderr, "bulkdl: writing report: %v\n", werr)
			return exitFailed
		}
	}
	if r.failed > 0 {
		return exitFailed
	}
	return exitOK
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
// as verified and its size and mtime are unchanged; otherwise it is hashed
// (several files at once) if the manifest gives a checksum. Without a
// checksum it is fetched conditionally on its recorded validator, or
// trusted with skip_existing, or fetched again.
func (r *runner) plan(ctx context.Context, rf *runFlags) []int {
	var hash []int
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
		size, mtime, err := state.Stat(r.root, f.Path)
		if err != nil {
			continue // not there: fetch
		}
		rec, known := r.store.Get(f.Path)
		known = known && rec.Size == size && rec.ModTime == mtime
		switch {
		case !f.Checksum.IsZero() && known && rec.Checksum == f.Checksum.String() && !rf.verify:
			skip[i] = true
		case !f.Checksum.IsZero() && (f.Size < 0 || size == f.Size):
			hash = append(hash, i)
		case f.Checksum.IsZero() && r.m.Settings.SkipExisting:
			skip[i] = true
		case f.Checksum.IsZero() && known && (rec.ETag != "" || rec.LastModified != "") && rec.URL == state.URLDigest(f.URL):
			// Validators belong to the URL that gave them: another URL
			// for this path gets an unconditional request.
			r.conditional[i] = rec
		}
	}
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
	return todo
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
	r.results[i].start = time.Now()
	r.mu.Unlock()
	return d
}

func (s *source) Finished(k int, d *segdl.Download) {
	i := s.todo[k]
	r := s.r
	p := d.Progress()
	r.mu.Lock()
	delete(r.active, i)
	res := &r.results[i]
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
	status, sum := res.status, res.sum
	r.mu.Unlock()
	if status == "downloaded" {
		algo := "sha256"
		if !r.m.Files[i].Checksum.IsZero() {
			algo = r.m.Files[i].Checksum.Algo
		}
		etag, lastMod := d.Validator()
		r.record(i, algo+":"+hex.EncodeToString(sum), etag, lastMod)
	}
	if failed && r.onFail != nil {
		r.onFail(i)
	}
}

// dryRun says what a run would fetch, without network traffic.
func (c *cli) dryRun(m *manifest.Manifest, shard shardFlag) int {
	root, err := os.OpenRoot(m.Dest)
	n := 0
	for i := range m.Files {
		f := &m.Files[i]
		if !shard.has(f.Path) {
			continue
		}
		state := "fetch"
		if err == nil {
			if _, serr := root.Stat(f.Path); serr == nil {
				if f.Checksum.IsZero() {
					state = "fetch (exists; no checksum to verify it)"
				} else {
					state = "verify, fetch if different"
				}
			}
		}
		fmt.Fprintf(c.stdout, "%s\t%s <- %s\n", state, f.Path, redact.URL(f.URL))
		n++
	}
	if root != nil {
		root.Close()
	}
	fmt.Fprintf(c.stdout, "dry run: %d file(s) into %s; nothing fetched\n", n, m.Dest)
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
