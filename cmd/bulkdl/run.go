package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
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
	fs := c.flagSet("run")
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
		if err := job.CheckReportPath(rf.report); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl run: -report %v\n", err)
			return exitSetup
		}
	}
	list := rf.input // a URL list, else the manifest
	if list == "" {
		list = fs.Arg(0)
	}
	reserved := reserveDescriptors(list)
	defer func() { <-reserved }()
	m, ok := c.load(fs, &rf.settingsFlags, fs.Arg(0))
	if !ok {
		if rf.report != "" {
			name := fs.Arg(0)
			if rf.input != "" {
				name = rf.input
			} else if len(rf.urls) > 0 {
				name = urlArgsName
			}
			if err := job.BareReport("run", name, rf.shard.String(), exitUsage, "the manifest or a flag is not valid; nothing was fetched (the log says why)").Write(rf.report); err != nil {
				fmt.Fprintf(c.stderr, "bulkdl: writing the report: %v\n", err)
			}
		}
		return exitUsage
	}
	if set := flagsSet(fs); set["skip-existing"] {
		m.Settings.SkipExisting = rf.skipExisting
	}
	if rf.report != "" {
		if err := job.ReportClash(rf.report, m); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl run: -report %v\n", err)
			return exitUsage
		}
	}
	if rf.dryRun {
		return c.dryRun(m, &rf)
	}

	ctx, signalled, stop := signalContext()
	defer stop()
	// The run's collector setting holds until its report is written: the
	// report is written with the run's heap still in place, and under the
	// default GOGC a 100,000-file run's heap grew by 45 MB writing it.
	defer gcForRun(len(m.Files), m.Settings.Connections)()
	code, res := c.runManifest(ctx, m, &rf)
	if sig := signalled(); sig != 0 {
		code = sig
	}
	if rf.report != "" {
		if c.beforeReport != nil {
			c.beforeReport()
		}
		if err := job.WriteReport(rf.report, res, code); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl: writing the report: %v\n", err)
			return max(code, exitSetup)
		}
	}
	return code
}

// signalContext returns a context that the first SIGINT or SIGTERM
// cancels: stop starting work, cancel requests, keep resume state. A second
// signal exits at once. signalled returns the exit code of the signal
// caught (130/143), or 0; stop ends the watch. On Windows Go delivers
// Ctrl-C and Ctrl-Break as os.Interrupt, and closing the console, log-off
// and shutdown as SIGTERM.
func signalContext() (ctx context.Context, signalled func() int, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
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
	signalled = func() int {
		if sig, ok := caught.Load().(os.Signal); ok {
			return signalCode(sig)
		}
		return 0
	}
	stop = func() {
		signal.Stop(sigs) // no delivery after this returns, so closing is safe
		close(sigs)       // and ends the goroutine above
		cancel()
	}
	return ctx, signalled, stop
}

func signalCode(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return 143
	}
	return exitInterrupted
}

// runManifest runs m with a display on stderr, and returns the exit code
// and the result for the report.
func (c *cli) runManifest(ctx context.Context, m *manifest.Manifest, rf *runFlags) (int, *job.Result) {
	mode := outputMode(rf.progress, rf.tty, os.Getenv("TERM"), rf.verbose || rf.stamps, rf.quiet)
	if mode == "bar" && rf.tty {
		restore, ok := enableVT(os.Stderr)
		defer restore()
		if !ok {
			mode = "plain" // a Windows console without escape sequences
		}
	}
	disp := newDisplay(c.stderr, mode, rf.interval)
	disp.quiet = rf.quiet
	disp.budget = budgetText(m, rf.perHostFollows)
	disp.m = m
	res, err := job.Run(ctx, m, job.Options{
		Shard: rf.shard.Shard, Verify: rf.verify, Prune: rf.prune, Verbose: rf.verbose,
		UserAgent: "bulkdl/" + moduleVersion(), Observer: disp,
	})
	disp.stop()
	switch {
	case errors.Is(err, state.ErrLocked):
		fmt.Fprintf(c.stderr, "bulkdl: %v; nothing was done (exit %d). Wait for it, or give this run another -dest.\n", err, exitLocked)
		return exitLocked, res
	case errors.Is(err, job.ErrSettings):
		fmt.Fprintf(c.stderr, "bulkdl: %v\n", err)
		return exitUsage, res
	case err != nil:
		fmt.Fprintf(c.stderr, "bulkdl: %v\n", err)
		return exitSetup, res
	}
	disp.summary(res)
	if res.Count(job.Failed) > 0 {
		return exitFailed, res
	}
	return exitOK, res
}

// A run of many files holds more descriptors open (its files waiting to
// be published, its connections) than the 64 a process starts with:
// reserveDescriptors grows the table while the manifest loads, so that the
// run does not stall on its growth (see segdl.ReserveDescriptors). It
// starts only for a manifest or URL list file of manyFilesBytes or more,
// the size of some 60 entries, and the returned channel is closed once it
// is done.
func reserveDescriptors(path string) <-chan struct{} {
	done := make(chan struct{})
	if st, err := os.Stat(path); path == "-" || err != nil || !st.Mode().IsRegular() || st.Size() < manyFilesBytes {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		reserve(reservedDescriptors)
	}()
	return done
}

// reserve is segdl.ReserveDescriptors; tests replace it.
var reserve = segdl.ReserveDescriptors

const (
	manyFilesBytes      = 8 << 10
	reservedDescriptors = 1024
)

// dryRun says what a run would do with each file, and with -prune what it
// would delete, from dest and its state log, without network traffic and
// without writing anything.
func (c *cli) dryRun(m *manifest.Manifest, rf *runFlags) int {
	plan, err := job.DryRun(m, job.Options{Shard: rf.shard.Shard, Verify: rf.verify, Prune: rf.prune})
	if err != nil {
		fmt.Fprintf(c.stderr, "bulkdl: %v; the plan below assumes none\n", err)
	}
	words := map[job.Action]string{
		job.Fetch:       "fetch",
		job.Skip:        "skip (recorded complete and unchanged; no request)",
		job.Trust:       "skip (exists; skip_existing trusts it)",
		job.Hash:        "verify (hash it), fetch if different",
		job.Conditional: "fetch if changed on the server (conditional request)",
	}
	counts := map[job.Action]int{}
	for _, pf := range plan.Files {
		f := &m.Files[pf.File]
		word := words[pf.Action]
		if pf.Action == job.Fetch && pf.Exists {
			word = "fetch (exists; no checksum or record to verify it)"
		}
		counts[pf.Action]++
		fmt.Fprintf(c.stdout, "%s\t%s <- %s\n", word, redact.Escape(f.Path), redact.URL(f.URL))
	}
	for _, p := range plan.Prune {
		fmt.Fprintf(c.stdout, "prune\t%s (bulkdl wrote it; the manifest no longer lists it)\n", redact.Escape(p))
	}
	for _, p := range plan.PruneOthers {
		fmt.Fprintf(c.stdout, "prune\t%s (bulkdl wrote it, as another shard; the manifest no longer lists it)\n", redact.Escape(p))
	}
	fmt.Fprintf(c.stdout, "dry run: %d file(s) into %s: %d to fetch, %d to fetch if changed, %d to hash, %d to skip",
		len(plan.Files), m.Dest, counts[job.Fetch], counts[job.Conditional], counts[job.Hash], counts[job.Skip]+counts[job.Trust])
	if rf.prune {
		fmt.Fprintf(c.stdout, ", %d to prune", len(plan.Prune)+len(plan.PruneOthers))
	}
	fmt.Fprintln(c.stdout, "; nothing fetched")
	return exitOK
}
