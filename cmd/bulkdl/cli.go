package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/bulkdl/bulkdl/manifest"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0
	exitFailed      = 1   // one or more files failed; the others completed
	exitUsage       = 2   // bad flags or manifest; nothing fetched
	exitSetup       = 73  // dest, state or report cannot be created (EX_CANTCREAT)
	exitLocked      = 75  // another run holds dest (EX_TEMPFAIL in sysexits.h)
	exitInterrupted = 130 // SIGINT; 143 for SIGTERM
)

type cli struct {
	stdin          io.Reader // a manifest ("-") or URL list ("-i -")
	stdout, stderr io.Writer
	// beforeReport, if set, is called just before run writes its report
	// (a test's seam).
	beforeReport func()
}

func newCLI(stdout, stderr io.Writer) *cli {
	return &cli{stdin: os.Stdin, stdout: stdout, stderr: stderr}
}

type command struct {
	name, args, short string
	run               func(c *cli, args []string) int
}

func commands() []command {
	return []command{
		{"run", "[flags] MANIFEST|-|URL...", "download every file the manifest lists (or URLs, or -i a URL list)", (*cli).run},
		{"check", "[flags] MANIFEST...", "validate manifests and print the plan, without network traffic", (*cli).check},
		{"verify", "[flags] MANIFEST...", "check every file in dest against the manifest's size and checksum, offline", (*cli).verify},
		{"report", "merge [-o FILE] REPORT...", "merge the JSON reports of a split's shards into one, with totals", (*cli).report},
		{"init", "[-i URLS] [-dest DIR] [URL...]", "print a manifest made from a URL list, to grow from", (*cli).init},
		{"version", "", "print the version, commit, Go version and platform", (*cli).version},
		{"help", "[COMMAND]", "show help", (*cli).help},
	}
}

func (c *cli) main(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd.run(c, args[1:])
		}
	}
	fmt.Fprintf(c.stderr, "bulkdl: unknown command %q\nrun 'bulkdl help' for usage\n", args[0])
	return exitUsage
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, "bulkdl downloads every file a TOML manifest lists, under one shared connection budget.\n\nUsage:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  bulkdl %-7s %-27s %s\n", cmd.name, cmd.args, cmd.short)
	}
	fmt.Fprint(w, "\nRun \"bulkdl COMMAND -h\" for a command's flags.\n")
}

func (c *cli) help(args []string) int {
	// "help -h", "help help" and "-h -h" would come back here for ever.
	if len(args) == 1 && args[0] != "help" && !strings.HasPrefix(args[0], "-") {
		return c.main([]string{args[0], "-h"})
	}
	c.usage(c.stdout)
	return exitOK
}

func (c *cli) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// parse prints help and errors itself: help to stdout, an error as
	// one line to stderr.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// printUsage prints a command's usage and flags to w.
func (c *cli) printUsage(w io.Writer, fs *flag.FlagSet) {
	name := fs.Name()
	for _, cmd := range commands() {
		if cmd.name == name {
			fmt.Fprintf(w, "Usage: bulkdl %s %s\n\n%s.\n", name, cmd.args, strings.ToUpper(cmd.short[:1])+cmd.short[1:])
		}
	}
	if hasFlags(fs) {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// usageError prints a usage error as one line and where to find help.
func (c *cli) usageError(fs *flag.FlagSet, format string, a ...any) {
	fmt.Fprintf(c.stderr, "bulkdl %s: %s\nrun 'bulkdl %s -h' for usage\n", fs.Name(), fmt.Sprintf(format, a...), fs.Name())
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse is parseArgs for exactly nargs positional arguments.
func (c *cli) parse(fs *flag.FlagSet, args []string, nargs int) (code int, ok bool) {
	return c.parseArgs(fs, args, nargs, nargs)
}

// parseArgs parses flags wherever they are among the arguments, before or
// after the manifest as every peer takes them ("--" ends the flags), and
// checks that there are lo to hi positional arguments (hi -1: no limit).
// Afterwards fs.Args() are the positional arguments. When ok is false the
// command must return code.
func (c *cli) parseArgs(fs *flag.FlagSet, args []string, lo, hi int) (code int, ok bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.printUsage(c.stdout, fs)
				return exitOK, false
			}
			c.usageError(fs, "%v", err)
			return exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	fs.Parse(append([]string{"--"}, pos...)) // so that fs.Args() are pos
	switch {
	case len(pos) < lo && lo == 1:
		c.usageError(fs, "want a manifest")
	case len(pos) > hi && hi == 1:
		c.usageError(fs, "want one manifest, got %d: %q", len(pos), pos)
	case len(pos) < lo || hi >= 0 && len(pos) > hi:
		c.usageError(fs, "want %d argument(s), got %d", lo, len(pos))
	default:
		return exitOK, true
	}
	return exitUsage, false
}

// settingsFlags are the flags that override [settings], shared by run,
// check and verify, so that check shows exactly what run would use.
type settingsFlags struct {
	connections, perHost, perFile, retries int
	rate, dest, timeout                    string
	input                                  string   // -i: a URL list instead of a manifest
	urls                                   []string // run URL...: URLs instead of a manifest
	quiet                                  bool     // run -q: no warnings either
	perHostFollows                         bool     // per_host was raised to -c
	opts                                   manifest.Options
}

func (sf *settingsFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&sf.connections, "connections", 0, "global budget: requests in flight across all files (overrides connections)")
	fs.IntVar(&sf.connections, "c", 0, "shorthand for -connections; given without per_host, per_host follows it (as curl --parallel-max, aria2c -j)")
	fs.IntVar(&sf.perHost, "per-host", 0, "requests in flight to one host (overrides per_host)")
	fs.IntVar(&sf.perFile, "per-file", 0, "segments of one file in flight (overrides per_file)")
	fs.IntVar(&sf.retries, "retries", 0, "attempts after the first, per request (overrides retries)")
	fs.StringVar(&sf.rate, "rate", "", "global bandwidth cap such as 50MB/s or 50M; 0 for unlimited (overrides rate)")
	fs.StringVar(&sf.dest, "dest", "", "directory to download into, relative to the working directory (overrides dest)")
	fs.StringVar(&sf.timeout, "timeout", "", "stall timeout such as 30s; 0 for none (overrides timeout)")
	fs.StringVar(&sf.input, "i", "", "read URLs from this file instead of a manifest, one per line (# comments), into the working directory; - for stdin")
}

// pipeName returns the name a manifest read from stdin or a pipe goes by
// in messages ("<stdin>", "</dev/fd/63>" has a directory, so "<fd 63>"), or
// "" for a manifest in a file of its own.
func pipeName(name string) string {
	switch {
	case name == "-" || name == "/dev/stdin":
		return "<stdin>"
	case strings.HasPrefix(name, "/dev/fd/"):
		return "<fd " + strings.TrimPrefix(name, "/dev/fd/") + ">"
	case strings.HasPrefix(name, "/proc/self/fd/"):
		return "<fd " + strings.TrimPrefix(name, "/proc/self/fd/") + ">"
	}
	return ""
}

// readManifest loads the manifest name: a file, "-" for stdin (dest is
// then relative to the working directory), or with -i the URL list.
func (c *cli) readManifest(sf *settingsFlags, name string) (*manifest.Manifest, error) {
	if len(sf.urls) > 0 {
		entries := make([]urlEntry, len(sf.urls))
		for k, u := range sf.urls {
			entries[k] = urlEntry{url: u, line: k + 1}
		}
		m, _, err := parseList(urlArgsName, entries, ".", sf.opts)
		if err != nil {
			return nil, err
		}
		m.Dest = "."
		return m, nil
	}
	if sf.input != "" {
		r, closeIn, err := c.open(sf.input)
		if err != nil {
			return nil, fmt.Errorf("-i: %w", err)
		}
		defer closeIn()
		list := sf.input
		if list == "-" {
			list = "<stdin>"
		}
		return parseURLList(list, r, sf.opts)
	}
	if pipe := pipeName(name); pipe != "" && name != "-" {
		// /dev/stdin, or <(...) in a shell: its directory is no place for
		// a dest, so a relative dest is taken from the working directory.
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		defer f.Close()
		return sf.opts.ParseFrom(pipe, f)
	}
	if name != "-" {
		return sf.opts.Load(name)
	}
	// filepath.Dir("<stdin>") is ".": a relative dest is taken from the
	// working directory.
	return sf.opts.ParseFrom("<stdin>", c.stdin)
}

// load loads the manifest and applies the flags that fs set. It prints
// errors and warnings; ok is false if the run must stop with exitUsage.
func (c *cli) load(fs *flag.FlagSet, sf *settingsFlags, name string) (*manifest.Manifest, bool) {
	// Loading makes much short-lived garbage (the TOML decoder's maps, batch
	// by batch); a lower GC target keeps the peak of a 1M-entry manifest
	// under 1 GiB for a few percent more CPU.
	old := debug.SetGCPercent(50)
	m, err := c.readManifest(sf, name)
	debug.SetGCPercent(old)
	if err != nil {
		c.printManifestError(err)
		return nil, false
	}
	set := flagsSet(fs)
	s := &m.Settings
	var errs []string
	count := func(flagName, key string, v int, dst *int) {
		if !set[flagName] {
			return
		}
		if v < 1 || v > manifest.MaxConnections {
			errs = append(errs, fmt.Sprintf("-%s %d is out of range; use 1 to %d", flagName, v, manifest.MaxConnections))
			return
		}
		*dst = v
		s.SetExplicit(key)
	}
	if set["c"] {
		set["connections"] = true
	}
	count("connections", "connections", sf.connections, &s.Connections)
	count("per-host", "per_host", sf.perHost, &s.PerHost)
	if set["connections"] && !s.Explicit("per_host") {
		// -c 32 means 32 at once, as curl --parallel-max and aria2c -j
		// do, even to one host; per_host still limits when it is set.
		s.PerHost = s.Connections
		sf.perHostFollows = true
	}
	count("per-file", "per_file", sf.perFile, &s.PerFile)
	if set["retries"] {
		if sf.retries < 0 || sf.retries > 100 {
			errs = append(errs, fmt.Sprintf("-retries %d is out of range; use 0 to 100", sf.retries))
		}
		s.Retries = sf.retries
	}
	if set["rate"] {
		r, err := manifest.ParseRate(sf.rate)
		if err != nil {
			errs = append(errs, "-rate: "+err.Error())
		}
		s.Rate = r
	}
	if set["timeout"] {
		d, err := manifest.ParseDuration(sf.timeout)
		if err != nil {
			errs = append(errs, "-timeout: "+err.Error())
		}
		s.Timeout = d
	}
	if set["dest"] {
		if sf.dest == "" {
			errs = append(errs, "-dest: empty directory")
		}
		m.Dest = sf.dest
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(c.stderr, "bulkdl:", e)
		}
		return nil, false
	}
	warns := s.Clamp()
	if sf.quiet {
		// check shows them; a cron job must not mail them every night.
		return m, true
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(c.stderr, "warning: %v\n", w)
	}
	for _, w := range warns {
		fmt.Fprintf(c.stderr, "warning: %s\n", w)
	}
	return m, true
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// printManifestError prints manifest errors with the offending line and a
// caret under the column, as compilers do.
func (c *cli) printManifestError(err error) {
	var es manifest.Errors
	if !errors.As(err, &es) {
		fmt.Fprintln(c.stderr, "bulkdl:", err)
		return
	}
	for _, e := range es {
		fmt.Fprintln(c.stderr, e)
		if e.Text != "" && e.Line > 0 {
			gutter := fmt.Sprintf("%5d | ", e.Line)
			fmt.Fprintf(c.stderr, "%s%s\n", gutter, e.Text)
			if e.Col > 0 {
				fmt.Fprintf(c.stderr, "%s%s^\n", strings.Repeat(" ", len(gutter)-2)+"| ", caretPad(e.Text, e.Col))
			}
		}
	}
	fmt.Fprintf(c.stderr, "%d error(s); nothing was downloaded\n", len(es))
}

// caretPad returns the whitespace that puts a caret under byte column col
// of text, keeping tabs so that it lines up.
func caretPad(text string, col int) string {
	var b strings.Builder
	for i := 0; i < col-1 && i < len(text); i++ {
		if text[i] == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
