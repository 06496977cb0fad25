// Package manifest decodes and validates bulkdl manifests (TOML, schema v1).
//
// A manifest lists files to download and the settings that govern the
// download. [Load] reads one, applies defaults, expands ${VAR} references in
// header values from the environment and validates everything before any
// network traffic, reporting every problem with the file, line and column
// of the key at fault. The package knows nothing of HTTP.
//
// Speed: the [[file]] tables are decoded in batches, ahead of validation
// and in parallel (up to four goroutines), then validated in document
// order, so that errors are the same as decoding one batch after another.
// A batch of the usual shape (url = "…", checksum = "…" and the like) is
// read by a small scanner of that subset of TOML, about ten times faster
// than the TOML decoder; anything else in the batch hands it whole to the
// decoder, which alone reports errors. A differential fuzz test holds the
// scanner to the decoder's values (fast.go).
package manifest

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/bulkdl/bulkdl/state"
)

// Defaults for settings a manifest leaves out.
const (
	DefaultConnections = 16
	DefaultPerHost     = 8
	DefaultPerFile     = 8
	DefaultMinSegment  = 2 << 20
	DefaultRetries     = 5
	DefaultTimeout     = 30 * time.Second

	// MaxConnections bounds every connection count; beyond it a run would
	// exhaust file descriptors rather than go faster.
	MaxConnections = 1024
)

// Suffixes of the temporary files bulkdl keeps beside a file while it is
// being downloaded, kept here for the manifest's readers: they are the
// state package's, whose Reserved is the whole rule paths are checked
// against (these, the journal's .tmp, and the state directory).
const (
	PartSuffix    = state.PartSuffix
	JournalSuffix = state.JournalSuffix
	// StateDir is the directory under dest reserved for bulkdl's own state.
	StateDir = state.Dir
)

// Manifest is a validated manifest with defaults applied.
type Manifest struct {
	Name     string // the manifest's file name, as given to Load
	Dest     string // absolute or relative to the working directory
	Settings Settings
	Hosts    map[string]*Host // keyed by HostKey: "host" or "host:port", IPv6 in brackets
	Files    []File
	Warnings []*Error // problems that do not stop a run
	secrets  []string
}

// Settings are the [settings] table. Zero values are replaced by defaults
// when a manifest is loaded.
type Settings struct {
	Connections int           // requests in flight across all files and hosts
	PerHost     int           // requests in flight to one host
	PerFile     int           // segments of one file in flight
	MinSegment  Size          // smallest range a file is split into
	Rate        Rate          // global bandwidth cap; 0 = unlimited
	Retries     int           // attempts after the first, per request
	Timeout     time.Duration // stall timeout; 0 = none
	UserAgent   string
	Headers     map[string]string // sent with every request (secrets expanded)
	// FromEnv names the Headers whose value came from a ${VAR}: they are
	// credentials whatever their names.
	FromEnv map[string]bool
	// SkipExisting trusts a file that is present at its path when the
	// manifest gives no checksum to verify it with.
	SkipExisting bool
	CAFile       string // PEM bundle added to the system roots; "" for none
	MaxSize      int64  // fail a file larger than this; 0 = unlimited
	Netrc        bool   // use credentials from $NETRC or ~/.netrc

	explicit map[string]bool // keys the manifest set, for warnings
}

// Host holds the overrides of one [hosts."name"] table.
type Host struct {
	Connections int // per-host cap; 0 = use Settings.PerHost
	Rate        Rate
	Headers     map[string]string // sent only to this host
	CAFile      string            // PEM bundle trusted for this host (instead of Settings.CAFile)
	Insecure    bool              // do not verify this host's certificate (warned on every run)
	HTTP2       bool              // allow HTTP/2 to this host
}

// File is one [[file]] entry.
type File struct {
	URL      string
	Path     string // slash-separated, clean, relative to Dest
	Checksum Checksum
	Size     int64 // expected size; -1 if not given
	Mirrors  []string
	Headers  map[string]string // sent only for this file, to its own origins
	Line     int               // line of the entry's [[file]] header, 0 if unknown
}

// Secrets returns the values that ${VAR} references expanded to, so that
// output can be redacted.
func (m *Manifest) Secrets() []string { return m.secrets }

// Clamp lowers per-host and per-file caps that exceed the global budget,
// and returns a warning for each that the manifest or a flag set
// explicitly. Load calls it; call it again after overriding settings.
func (s *Settings) Clamp() []Clamped {
	var out []Clamped
	clamp := func(v *int, key string) {
		if *v > s.Connections {
			if s.explicit[key] {
				out = append(out, Clamped{Key: key, Value: *v, Max: s.Connections})
			}
			*v = s.Connections
		}
	}
	clamp(&s.PerHost, "per_host")
	clamp(&s.PerFile, "per_file")
	return out
}

// Clamped says that a setting the user gave, Key = Value, was lowered to
// Max (connections).
type Clamped struct {
	Key        string
	Value, Max int
}

func (c Clamped) String() string {
	return fmt.Sprintf("%s = %d is above connections = %d; using %d", c.Key, c.Value, c.Max, c.Max)
}

// SetExplicit records that key was set by the user (a flag), so that
// clamping it warns.
func (s *Settings) SetExplicit(key string) {
	if s.explicit == nil {
		s.explicit = map[string]bool{}
	}
	s.explicit[key] = true
}

// Explicit reports whether key was set by the manifest or a flag, rather
// than left to its default.
func (s *Settings) Explicit(key string) bool { return s.explicit[key] }

// Load reads and validates the manifest at name.
func Load(name string) (*Manifest, error) { return Options{}.Load(name) }

// Options change what loading requires. The zero value is what a run
// needs.
type Options struct {
	// UnsetEnv makes an unset or empty ${VAR} a warning instead of an
	// error, and leaves the reference unexpanded: validating a manifest
	// (bulkdl check, a CI job without secrets) needs no secret's value.
	UnsetEnv bool

	plat *platform // the name rules of another OS, for tests; nil: this one's
	// reference loads as before the fast path and the parallel work: the
	// TOML decoder alone, one step after another. Tests compare with it.
	reference bool
	batch     int // [[file]] tables per batch, for tests; 0: batchSize
}

// Load reads and validates the manifest at name with these options.
func (o Options) Load(name string) (*Manifest, error) {
	data, err := readManifest(name)
	if err != nil {
		return nil, err
	}
	return o.Parse(name, data)
}

// ParseFrom reads a manifest named name from r (a pipe, stdin) within the
// bounds Load reads a file with, and parses it.
func (o Options) ParseFrom(name string, r io.Reader) (*Manifest, error) {
	data, err := readBounded(name, r, 0)
	if err != nil {
		return nil, err
	}
	return o.Parse(name, data)
}

// maxManifest bounds the manifest file size: a million entries fit; a
// manifest larger than this is certainly a mistake.
const maxManifest = 256 << 20

// batchSize is the number of [[file]] tables decoded at once.
const batchSize = 1000

// Parse validates the manifest text data; name is used in errors and its
// directory is the base of a relative dest.
//
// Memory stays proportional to the number of files, not to the decoder's
// representation: the [[file]] tables are decoded in batches.
func Parse(name string, data []byte) (*Manifest, error) { return Options{}.Parse(name, data) }

// Parse is [Parse] with these options.
func (o Options) Parse(name string, data []byte) (*Manifest, error) {
	if len(data) > maxManifest {
		return nil, Errors{{File: name, Msg: fmt.Sprintf("manifest is %v; the limit is %v: split it", Size(len(data)), Size(maxManifest))}}
	}
	ix, e := scan(name, data, o.reference)
	if e != nil {
		return nil, Errors{e}
	}
	return o.parse(name, ix)
}

// scan checks data's nesting and indexes its lines, at once when data is
// large enough to gain from it: both read every byte, and nothing else
// can start before they are done. reference does one after the other.
func scan(name string, data []byte, reference bool) (*lineIndex, *Error) {
	if len(data) < 256<<10 || runtime.GOMAXPROCS(0) < 2 || reference {
		if e := checkDepth(name, data); e != nil {
			return nil, e
		}
		return newLineIndexFn(data), nil
	}
	var ix *lineIndex
	wait := goJoin(func() { ix = newLineIndexFn(data) })
	e := checkDepth(name, data)
	wait()
	if e != nil {
		return nil, e
	}
	return ix, nil
}

// newLineIndexFn is newLineIndex; tests replace it to make indexing panic.
var newLineIndexFn = newLineIndex

// parse is Parse once the manifest's lines are indexed. Tests hand it an
// index made wrong on purpose: a wrong index must give an error, never a
// manifest that lost part of itself.
func (o Options) parse(name string, ix *lineIndex) (*Manifest, error) {
	per := batchSize
	if o.batch > 0 {
		per = o.batch
	}
	rest, batches := ix.split(per)
	// Decoded into the decoder's own tables, which file() reads and checks
	// for unknown keys: no reflection, no record of decoded keys. Batches
	// are decoded ahead, in parallel, from now on (while the rest is), and
	// validated in order.
	dec := decodeAhead(batches, o.reference)
	defer dec.close()
	plat := hostPlatform
	if o.plat != nil {
		plat = *o.plat
	}
	v := &validator{name: name, ix: ix, seen: map[string]bool{}, opts: o, plat: plat, usedHosts: map[string]bool{}}
	var raw rawManifest
	md, err := toml.Decode(rest, &raw)
	if err == nil {
		err = decodeHosts(&md, &raw)
	}
	if err != nil {
		return nil, v.decodeError(err, 0)
	}
	v.undecoded(md)
	m := v.manifest(&raw)
	for i, b := range batches {
		top, err := dec.get(i)
		if err != nil {
			return nil, v.decodeError(err, b.first)
		}
		if e := batchOnlyFiles(v.name, b, top); e != nil {
			return nil, Errors{e}
		}
		v.files(top["file"], true)
	}
	if v.tables != len(ix.files) && len(v.errs) == 0 {
		// The batches held another number of [[file]] tables than the
		// index found headers: their lines, and so their entries, would
		// be wrong.
		v.errs = append(v.errs, &Error{File: v.name, Line: ix.file(0), Msg: fmt.Sprintf("found %d [[file]] headers but decoded %d [[file]] tables; please report this manifest as a bulkdl bug", len(ix.files), v.tables)})
	}
	if len(m.Files) == 0 {
		v.errs = append(v.errs, &Error{File: v.name, Msg: "no [[file]] entries; add at least one with a url"})
	}
	v.crossChecks()
	v.unusedHosts()
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
		return nil, v.errs
	}
	m.Warnings = v.warns
	return m, nil
}

// batchOnlyFiles checks that a batch held [[file]] tables and nothing
// else. Were the line index ever to miss a table header, that table would
// be decoded inside the batch and dropped with it: a manifest with its
// [settings] or [hosts] silently ignored. Rejected instead.
func batchOnlyFiles(name string, b fileBatch, top map[string]any) *Error {
	for k := range top {
		if k != "file" {
			return &Error{File: name, Line: b.first + 1, Msg: fmt.Sprintf("cannot tell where the [[file]] entries from here end and %q begins; please report this manifest as a bulkdl bug", k)}
		}
	}
	return nil
}
