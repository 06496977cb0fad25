// Package manifest decodes and validates bulkdl manifests (TOML, schema v1).
//
// A manifest lists files to download and the settings that govern the
// download. [Load] reads one, applies defaults, expands ${VAR} references in
// header values from the environment and validates everything before any
// network traffic, reporting every problem with the file, line and column
// of the key at fault. The package knows nothing of HTTP.
package manifest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/bulkdl/bulkdl/redact"
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
// being downloaded; manifest paths may not end with them.
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

// Error is a problem found in a manifest, at a position where known.
type Error struct {
	File      string
	Line, Col int // 1-based; 0 if unknown
	Msg       string
	// Text is the offending line's text, if known, fit to print: URLs in
	// it redacted, header values hidden, control characters escaped.
	Text string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in a manifest, in line order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Secrets returns the values that ${VAR} references expanded to, so that
// output can be redacted.
func (m *Manifest) Secrets() []string { return m.secrets }

// HostConfig returns the [hosts] entry for hostport ("host:port" or "host"),
// preferring an exact host:port match, or nil.
func (m *Manifest) HostConfig(hostport string) *Host {
	_, h := m.HostEntry(hostport)
	return h
}

// HostEntry returns the [hosts] entry that applies to hostport and its
// key, or "", nil. An entry keyed "host:port" applies to that port only
// and wins; one keyed "host" applies to every port and scheme of host.
func (m *Manifest) HostEntry(hostport string) (string, *Host) {
	if len(m.Hosts) == 0 {
		return "", nil
	}
	key, err := HostKey(hostport)
	if err != nil {
		return "", nil
	}
	if h, ok := m.Hosts[key]; ok {
		return key, h
	}
	if host, port, err := net.SplitHostPort(key); err == nil && port != "" {
		key, _ = HostKey(host)
		if h, ok := m.Hosts[key]; ok {
			return key, h
		}
	}
	return "", nil
}

// HostKey returns s ("host", "host:port", an IPv6 address with or without
// brackets, "[v6]:port") in the one form [hosts] keys and lookups use:
// lower case, an IPv6 address in brackets, the port only if given.
func HostKey(s string) (string, error) {
	s = strings.ToLower(s)
	host, port := s, ""
	switch {
	case s == "":
		return "", errors.New("empty host")
	case strings.ContainsAny(s, "/@ ?#\\") || strings.IndexFunc(s, redact.Unsafe) >= 0:
		return "", errors.New("a URL or userinfo, not a host")
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", errors.New("missing ]")
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			var ok bool
			if port, ok = strings.CutPrefix(port, ":"); !ok {
				return "", errors.New("text after ]")
			}
		}
		if !strings.Contains(host, ":") {
			return "", errors.New("brackets around a name that is not an IPv6 address")
		}
	case strings.Count(s, ":") > 1:
		// A bare IPv6 address: it has no port (write [v6]:port for one).
	case strings.Contains(s, ":"):
		host, port, _ = strings.Cut(s, ":")
	}
	if host == "" || strings.ContainsAny(host, "[]") {
		return "", errors.New("not a host name or address")
	}
	if port != "" {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", errors.New("bad port")
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return host + ":" + port, nil
	}
	return host, nil
}

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
}

// Load reads and validates the manifest at name with these options.
func (o Options) Load(name string) (*Manifest, error) {
	data, err := readManifest(name)
	if err != nil {
		return nil, err
	}
	return o.Parse(name, data)
}

// raw* mirror the TOML schema with every value in the loosest type that
// decoding accepts, so that validation sees every entry and reports every
// problem with its position, not only the first.
type rawManifest struct {
	Version  any                `toml:"version"`
	Settings rawSettings        `toml:"settings"`
	Hosts    map[string]rawHost `toml:"hosts"`
	File     []rawFile          `toml:"file"`
}

type rawSettings struct {
	Dest        any `toml:"dest"`
	Connections any `toml:"connections"`
	PerHost     any `toml:"per_host"`
	PerFile     any `toml:"per_file"`
	MinSegment  any `toml:"min_segment"`
	Rate        any `toml:"rate"`
	Retries     any `toml:"retries"`
	Timeout     any `toml:"timeout"`
	UserAgent   any `toml:"user_agent"`
	Headers     any `toml:"headers"`
	SkipExist   any `toml:"skip_existing"`
	CAFile      any `toml:"ca_file"`
	MaxSize     any `toml:"max_size"`
	Netrc       any `toml:"netrc"`
}

type rawHost struct {
	Connections any `toml:"connections"`
	Rate        any `toml:"rate"`
	Headers     any `toml:"headers"`
	CAFile      any `toml:"ca_file"`
	Insecure    any `toml:"insecure"`
	HTTP2       any `toml:"http2"`
}

type rawFile struct {
	URL      any `toml:"url"`
	Path     any `toml:"path"`
	Checksum any `toml:"checksum"`
	Size     any `toml:"size"`
	Mirrors  any `toml:"mirrors"`
	Headers  any `toml:"headers"`
}

var knownKeys = map[string][]string{
	"":         {"version", "settings", "hosts", "file"},
	"settings": {"dest", "connections", "per_host", "per_file", "min_segment", "rate", "retries", "timeout", "user_agent", "headers", "skip_existing", "ca_file", "max_size", "netrc"},
	"hosts":    {"connections", "rate", "headers", "ca_file", "insecure", "http2"},
	"file":     {"url", "path", "checksum", "size", "mirrors", "headers"},
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
	if e := checkDepth(name, data); e != nil {
		return nil, Errors{e}
	}
	ix := newLineIndex(data)
	rest, batches := ix.split(batchSize)
	plat := hostPlatform
	if o.plat != nil {
		plat = *o.plat
	}
	v := &validator{name: name, ix: ix, seen: map[string]bool{}, opts: o, plat: plat}
	var raw rawManifest
	md, err := toml.Decode(rest, &raw)
	if err != nil {
		return nil, v.decodeError(err, 0)
	}
	v.undecoded(md)
	m := v.manifest(&raw)
	for _, b := range batches {
		var fb struct {
			File []rawFile `toml:"file"`
		}
		md, err := toml.Decode(b.text, &fb)
		if err != nil {
			return nil, v.decodeError(err, b.first)
		}
		v.undecoded(md)
		for i := range fb.File {
			m.Files = append(m.Files, v.file(len(m.Files), &fb.File[i]))
		}
	}
	if len(m.Files) == 0 {
		v.errs = append(v.errs, &Error{File: v.name, Msg: "no [[file]] entries; add at least one with a url"})
	}
	v.crossFiles()
	v.checkNames()
	v.unusedHosts()
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
		return nil, v.errs
	}
	m.Warnings = v.warns
	return m, nil
}

func (v *validator) undecoded(md toml.MetaData) {
	for _, k := range md.Undecoded() {
		if s := k.String(); !v.seen[s] {
			v.seen[s] = true
			v.unknownKey(k)
		}
	}
}

// decodeError turns a decoding error in text that starts at 0-based
// manifest line first into positioned Errors.
func (v *validator) decodeError(err error, first int) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line := pe.Position.Line + first
		return Errors{{File: v.name, Line: line, Col: pe.Position.Col, Msg: redact.Line(typeHint(pe.Message, pe.LastKey), false), Text: v.text(line)}}
	}
	return Errors{{File: v.name, Msg: err.Error()}}
}

func typeHint(msg, key string) string {
	if key != "" && strings.Contains(msg, "incompatible types") {
		return fmt.Sprintf("%s has the wrong type: %s", key, msg)
	}
	return msg
}

type validator struct {
	seen  map[string]bool // unknown keys already reported
	name  string
	ix    *lineIndex
	errs  Errors
	warns []*Error
	m     *Manifest
	opts  Options
	plat  platform // which name rules are errors here
}

// at records an error at key in the table whose header is on line hdr.
func (v *validator) at(hdr int, key string, format string, args ...any) {
	v.errs = append(v.errs, v.pos(hdr, key, fmt.Sprintf(format, args...)))
}

func (v *validator) warn(hdr int, key string, msg string) {
	v.warns = append(v.warns, v.pos(hdr, key, msg))
}

func (v *validator) pos(hdr int, key, msg string) *Error {
	e := &Error{File: v.name, Msg: msg}
	if key != "" {
		e.Line, e.Col = v.ix.keyIn(hdr, key)
	}
	if e.Line == 0 && hdr > 0 {
		e.Line, e.Col = hdr, 1
	}
	e.Text = v.text(e.Line)
	return e
}

// text returns 1-based line n fit to print in an error: a line may carry
// a URL's credentials or a header's literal value.
func (v *validator) text(n int) string {
	t := v.ix.lineText(n)
	return redact.Line(t, v.ix.inHeaders(n) || strings.Contains(strings.ToLower(t), "headers"))
}

func (v *validator) unknownKey(k toml.Key) {
	for _, part := range k[:len(k)-1] {
		if part == "headers" {
			return // header tables are decoded whole; their names are checked later
		}
	}
	table, hdr, key := "", 0, k[len(k)-1]
	switch {
	case len(k) == 1:
	case k[0] == "settings" && len(k) == 2:
		table, hdr = "settings", v.ix.table("settings")
	case k[0] == "hosts" && len(k) == 3:
		table, hdr = "hosts", v.ix.table("hosts", k[1])
	case k[0] == "file" && len(k) == 2:
		table = "file"
		// The key carries no entry index: report every entry that has it.
		found := false
		for i := range v.ix.files {
			if line, _ := v.ix.keyIn(v.ix.files[i], key); line > 0 {
				text := v.text(line)
				v.errs = append(v.errs, &Error{File: v.name, Line: line, Col: indent(v.ix.lineText(line)) + 1, Msg: unknownMsg(table, key), Text: text})
				found = true
			}
		}
		if found {
			return
		}
	default:
		v.errs = append(v.errs, &Error{File: v.name, Msg: fmt.Sprintf("unknown key %s", k)})
		return
	}
	e := v.pos(hdr, key, unknownMsg(table, key))
	if e.Line > 0 {
		e.Col = indent(v.ix.lineText(e.Line)) + 1
	}
	v.errs = append(v.errs, e)
}

func indent(s string) int { return len(s) - len(strings.TrimLeft(s, " \t")) }

func unknownMsg(table, key string) string {
	where := "at the top level"
	if table != "" {
		where = "in [" + table + "]"
		if table == "file" {
			where = "in [[file]]"
		}
	}
	msg := fmt.Sprintf("unknown key %q %s", key, where)
	if s := suggest(key, knownKeys[table]); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += "; known keys: " + strings.Join(knownKeys[table], ", ")
	}
	return msg
}

// suggest returns the candidate closest to key, if it is close enough to be
// a likely typo.
func suggest(key string, candidates []string) string {
	best, bestD := "", len(key)/3+2
	for _, c := range candidates {
		if d := editDistance(key, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (v *validator) manifest(raw *rawManifest) *Manifest {
	m := &Manifest{Name: v.name, Hosts: map[string]*Host{}}
	v.m = m
	if raw.Version != nil {
		if n, ok := v.integer(0, "version", raw.Version); ok && n != 1 {
			v.at(0, "version", "version = %d is not supported; this bulkdl reads version = 1", n)
		}
	}
	v.settings(&raw.Settings)
	hosts := make([]string, 0, len(raw.Hosts))
	for h := range raw.Hosts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		v.host(h, raw.Hosts[h])
	}
	m.Files = make([]File, 0, len(v.ix.files))
	for i := range raw.File { // only a manifest that writes file = [{…}] inline
		m.Files = append(m.Files, v.file(i, &raw.File[i]))
	}
	return m
}

func (v *validator) settings(r *rawSettings) {
	hdr := v.ix.table("settings")
	s := &v.m.Settings
	s.explicit = map[string]bool{}
	dest := "."
	if d, ok := v.str(hdr, "dest", r.Dest); ok {
		dest = d
		if dest == "" || strings.ContainsRune(dest, 0) {
			v.at(hdr, "dest", "dest must be a non-empty directory path")
		}
	}
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(filepath.Dir(v.name), dest)
	}
	v.m.Dest = dest
	s.Connections = v.count(hdr, "connections", r.Connections, DefaultConnections)
	s.PerHost = v.count(hdr, "per_host", r.PerHost, DefaultPerHost)
	s.PerFile = v.count(hdr, "per_file", r.PerFile, DefaultPerFile)
	s.explicit["per_host"] = r.PerHost != nil
	s.explicit["per_file"] = r.PerFile != nil
	for _, c := range s.Clamp() {
		v.warn(hdr, c.Key, c.String())
	}
	s.MinSegment = DefaultMinSegment
	if r.MinSegment != nil {
		if n, ok := v.size(hdr, "min_segment", r.MinSegment); ok {
			if n < 64<<10 {
				v.at(hdr, "min_segment", "min_segment = %v is below the smallest allowed, 64KiB", n)
			}
			s.MinSegment = n
		}
	}
	s.Rate = v.rate(hdr, "rate", r.Rate)
	s.Retries = DefaultRetries
	if n, ok := v.integer(hdr, "retries", r.Retries); ok {
		if n < 0 || n > 100 {
			v.at(hdr, "retries", "retries = %d is out of range; use 0 to 100", n)
		}
		s.Retries = int(n)
	}
	s.Timeout = DefaultTimeout
	if r.Timeout != nil {
		s.Timeout = v.duration(hdr, "timeout", r.Timeout)
	}
	if ua, ok := v.str(hdr, "user_agent", r.UserAgent); ok {
		s.UserAgent = ua
		if strings.ContainsAny(s.UserAgent, "\r\n\x00") {
			v.at(hdr, "user_agent", "user_agent contains a line break or NUL")
		}
	}
	s.Headers, s.FromEnv = v.headers(hdr, r.Headers)
	s.SkipExisting = v.boolean(hdr, "skip_existing", r.SkipExist)
	s.Netrc = v.boolean(hdr, "netrc", r.Netrc)
	s.CAFile = v.caFile(hdr, r.CAFile)
	if r.MaxSize != nil {
		if n, ok := v.size(hdr, "max_size", r.MaxSize); ok {
			s.MaxSize = int64(n)
		}
	}
}

func (v *validator) boolean(hdr int, key string, val any) bool {
	switch b := val.(type) {
	case nil:
		return false
	case bool:
		return b
	}
	v.at(hdr, key, "%s must be true or false, not %s", key, tomlType(val))
	return false
}

// caFile resolves a ca_file relative to the manifest and checks that it
// can be read; its certificates are parsed when the run starts.
func (v *validator) caFile(hdr int, val any) string {
	p, ok := v.str(hdr, "ca_file", val)
	if !ok {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(v.name), p)
	}
	if f, err := os.Open(p); err != nil {
		v.at(hdr, "ca_file", "ca_file: %v", err)
	} else {
		f.Close()
	}
	return p
}

// count validates a positive connection count; def if absent.
func (v *validator) count(hdr int, key string, val any, def int) int {
	n, ok := v.integer(hdr, key, val)
	if !ok {
		return def
	}
	if n < 1 || n > MaxConnections {
		v.at(hdr, key, "%s = %d is out of range; use 1 to %d", key, n, MaxConnections)
		return def
	}
	return int(n)
}

// integer returns val as an integer; ok is false if it is absent or (with
// an error recorded) of another type.
func (v *validator) integer(hdr int, key string, val any) (int64, bool) {
	switch x := val.(type) {
	case nil:
		return 0, false
	case int64:
		return x, true
	}
	v.at(hdr, key, "%s must be an integer, not %s", key, tomlType(val))
	return 0, false
}

// str returns val as a string; ok is false if it is absent or (with an
// error recorded) of another type.
func (v *validator) str(hdr int, key string, val any) (string, bool) {
	switch x := val.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	}
	v.at(hdr, key, "%s must be a string in quotes, not %s", key, tomlType(val))
	return "", false
}

// strings returns val as a list of strings, or nil with an error recorded.
func (v *validator) strings(hdr int, key string, val any) []string {
	if val == nil {
		return nil
	}
	list, ok := val.([]any)
	if ok {
		out := make([]string, 0, len(list))
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				break
			}
			out = append(out, s)
		}
		if len(out) == len(list) {
			return out
		}
	}
	v.at(hdr, key, "%s must be a list of strings, as in [\"https://…\"]", key)
	return nil
}

func tomlType(val any) string {
	switch val.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

func (v *validator) size(hdr int, key string, val any) (Size, bool) {
	switch x := val.(type) {
	case int64:
		if x < 0 {
			v.at(hdr, key, "%s = %d is negative", key, x)
			return 0, false
		}
		return Size(x), true
	case string:
		n, err := ParseSize(x)
		if err != nil {
			v.at(hdr, key, "%s: %v", key, err)
			return 0, false
		}
		return n, true
	}
	v.at(hdr, key, "%s must be a whole number of bytes or a string with a unit such as \"2MiB\"", key)
	return 0, false
}

func (v *validator) rate(hdr int, key string, val any) Rate {
	switch x := val.(type) {
	case nil:
		return 0
	case int64:
		if x == 0 {
			return 0
		}
	case string:
		r, err := ParseRate(x)
		if err != nil {
			v.at(hdr, key, "%s: %v", key, err)
		}
		return r
	}
	v.at(hdr, key, "%s must be a string such as \"50MB/s\", or \"0\" for unlimited", key)
	return 0
}

func (v *validator) duration(hdr int, key string, val any) time.Duration {
	switch x := val.(type) {
	case int64:
		if x == 0 {
			return 0
		}
	case string:
		d, err := ParseDuration(x)
		if err != nil {
			v.at(hdr, key, "%s: %v", key, err)
		}
		return d
	}
	v.at(hdr, key, "%s must be a string such as \"30s\", or \"0\" to disable", key)
	return 0
}

// reservedHeaders are set by bulkdl itself; a manifest may not override them.
var reservedHeaders = map[string]bool{
	"host": true, "range": true, "if-range": true, "accept-encoding": true, "content-length": true,
	"transfer-encoding": true, "connection": true, "te": true, "upgrade": true, "if-none-match": true,
	"if-modified-since": true, "user-agent": true,
}

// headers validates header names and values and expands ${VAR} references;
// env names the headers whose value came from one.
func (v *validator) headers(hdr int, val any) (out map[string]string, env map[string]bool) {
	if val == nil {
		return nil, nil
	}
	h, ok := val.(map[string]any)
	if !ok {
		v.at(hdr, "headers", "headers must be a table, as in headers = { \"X-Team\" = \"data\" }")
		return nil, nil
	}
	if len(h) == 0 {
		return nil, nil
	}
	out = make(map[string]string, len(h))
	for name, raw := range h {
		val, ok := raw.(string)
		switch {
		case !ok:
			v.at(hdr, "headers", "header %q must be a string, not %s", name, tomlType(raw))
			continue
		case !validHeaderName(name):
			v.at(hdr, "headers", "header name %q is not a valid HTTP token", name)
			continue
		case reservedHeaders[strings.ToLower(name)]:
			v.at(hdr, "headers", "header %q is set by bulkdl itself and cannot be configured (user_agent has its own key)", name)
			continue
		}
		exp, err := v.expand(val)
		var unset *unsetEnvError
		if errors.As(err, &unset) && v.opts.UnsetEnv {
			v.warn(hdr, "headers", fmt.Sprintf("header %q: %v (a run needs it; check does not)", name, err))
			out[name] = val
			continue
		}
		if err != nil {
			v.at(hdr, "headers", "header %q: %v", name, err)
			continue
		}
		if strings.ContainsAny(exp, "\r\n\x00") {
			v.at(hdr, "headers", "header %q: value contains a line break or NUL", name)
			continue
		}
		out[name] = exp
		if strings.Contains(val, "${") {
			if env == nil {
				env = map[string]bool{}
			}
			env[name] = true
		}
	}
	return out, env
}

// expand replaces ${NAME} with the environment variable NAME. An unset or
// empty variable is an error: in CI an empty secret is the usual sign of a
// job that was not given it.
func (v *validator) expand(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New(`unterminated "${"; write ${NAME}`)
		}
		key := s[i+2 : i+end]
		if !validEnvName(key) {
			return "", fmt.Errorf("%q is not a valid environment variable name", key)
		}
		val, ok := os.LookupEnv(key)
		if !ok || val == "" {
			return "", &unsetEnvError{name: key, empty: ok}
		}
		v.addSecret(val)
		b.WriteString(val)
		s = s[i+end+1:]
	}
}

// unsetEnvError is a ${NAME} reference whose variable is unset or empty.
type unsetEnvError struct {
	name  string
	empty bool
}

func (e *unsetEnvError) Error() string {
	if e.empty {
		return fmt.Sprintf("environment variable %s is empty; a secret that was not passed to this job?", e.name)
	}
	return fmt.Sprintf("environment variable %s is not set; export it before running bulkdl", e.name)
}

func (v *validator) addSecret(s string) {
	for _, x := range v.m.secrets {
		if x == s {
			return
		}
	}
	v.m.secrets = append(v.m.secrets, s)
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func (v *validator) host(name string, r rawHost) {
	hdr := v.ix.table("hosts", name)
	key, err := HostKey(name)
	if err != nil {
		v.errs = append(v.errs, v.pos(hdr, "", fmt.Sprintf("[hosts.%[1]q]: %[1]q is not a host or host:port; write the host only, as in [hosts.\"example.com\"], [hosts.\"example.com:8443\"] or [hosts.\"[::1]:8080\"] (%[2]v)", redactHost(name), err)))
		return
	}
	if _, dup := v.m.Hosts[key]; dup {
		v.errs = append(v.errs, v.pos(hdr, "", fmt.Sprintf("[hosts.%q] is the same host as another [hosts] entry (both are %s); merge them", name, key)))
		return
	}
	h := &Host{Rate: v.rate(hdr, "rate", r.Rate)}
	h.Headers, _ = v.headers(hdr, r.Headers)
	h.Connections = v.count(hdr, "connections", r.Connections, 0)
	h.CAFile = v.caFile(hdr, r.CAFile)
	h.HTTP2 = v.boolean(hdr, "http2", r.HTTP2)
	if h.Insecure = v.boolean(hdr, "insecure", r.Insecure); h.Insecure {
		v.warn(hdr, "insecure", fmt.Sprintf("[hosts.%q] insecure = true: the TLS certificate of %s is not verified; anyone on the path can read and change what is downloaded from it", name, name))
	}
	v.m.Hosts[key] = h
}

// redactHost hides what looks like userinfo in a [hosts] key.
func redactHost(name string) string {
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		return redact.Mask + redact.Escape(name[i:])
	}
	return redact.Escape(name)
}

func (v *validator) file(i int, r *rawFile) File {
	hdr := v.ix.file(i)
	f := File{Size: -1, Line: hdr}
	rawURL, hasURL := v.str(hdr, "url", r.URL)
	if r.URL == nil {
		v.errs = append(v.errs, v.pos(hdr, "", fmt.Sprintf("file #%d has no url; add url = \"https://…\"", i+1)))
	} else if hasURL {
		// Clone: decoded strings point into the batch's text, which would
		// otherwise stay alive as long as the manifest.
		f.URL = strings.Clone(rawURL)
		if err := checkURL(f.URL); err != nil {
			v.at(hdr, "url", "url: %v", err)
			hasURL = false // no name can be derived from it
		}
	}
	mirrors := v.strings(hdr, "mirrors", r.Mirrors)
	for _, mu := range mirrors {
		if err := checkURL(mu); err != nil {
			v.at(hdr, "mirrors", "mirror: %v", err)
		} else if mu == f.URL {
			v.at(hdr, "mirrors", "mirror %q is the file's own url; remove it", redact.URL(mu))
		}
	}
	for i := range mirrors {
		mirrors[i] = strings.Clone(mirrors[i])
	}
	f.Mirrors = mirrors
	if p, ok := v.str(hdr, "path", r.Path); ok {
		c, err := cleanPath(p)
		if err != nil {
			v.at(hdr, "path", "path %q %v", p, err)
		}
		f.Path = strings.Clone(c)
	} else if r.Path == nil && hasURL {
		p, err := pathFromURL(f.URL)
		if err != nil {
			v.at(hdr, "url", "%v; set path = \"…\" for this file", err)
		}
		f.Path = p
	}
	if cs, ok := v.str(hdr, "checksum", r.Checksum); ok {
		c, err := ParseChecksum(cs)
		if err != nil {
			v.at(hdr, "checksum", "%v", err)
		}
		f.Checksum = c
	}
	if r.Size != nil {
		if n, ok := v.size(hdr, "size", r.Size); ok {
			f.Size = int64(n)
		}
	}
	f.Headers, _ = v.headers(hdr, r.Headers)
	return f
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a valid URL", redact.URL(s))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: only http and https URLs are supported", redact.URL(s))
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host", redact.URL(s))
	}
	return nil
}

// cleanPath validates a manifest path and returns it cleaned.
func cleanPath(p string) (string, error) {
	switch {
	case p == "":
		return "", errors.New("is empty")
	case strings.ContainsRune(p, 0):
		return "", errors.New("contains a NUL byte")
	case strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return "", errors.New("contains a control character")
	case !utf8.ValidString(p):
		return "", errors.New("is not valid UTF-8")
	case strings.IndexFunc(p, redact.Unsafe) >= 0:
		return "", errors.New("contains a C1 control or bidirectional formatting character (such as U+202E), which can disguise a name on screen")
	case path.IsAbs(p) || filepath.IsAbs(p):
		return "", errors.New("is absolute; paths are relative to dest")
	}
	c := path.Clean(p)
	switch {
	case c == "." || strings.HasSuffix(p, "/"):
		return "", errors.New("names a directory, not a file")
	case c == ".." || strings.HasPrefix(c, "../"):
		return "", errors.New("leaves dest; remove the \"..\"")
	}
	if why, reserved := state.Reserved(c); reserved {
		return "", errors.New(why)
	}
	return c, nil
}

// pathFromURL derives a file name from the last segment of u's path.
func pathFromURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	esc := u.EscapedPath()
	seg := esc[strings.LastIndexByte(esc, '/')+1:]
	name, err := url.PathUnescape(seg)
	if err != nil || name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
		return "", fmt.Errorf("cannot derive a file name from url %q", redact.URL(s))
	}
	return cleanPath(name)
}

// crossFiles checks what no single entry can: two entries writing the same
// path, or one entry's path being a directory another needs.
func (v *validator) crossFiles() {
	files := v.m.Files
	seen := make(map[string]int, len(files))
	for i := range files {
		p := files[i].Path
		if p == "" {
			continue
		}
		if j, dup := seen[p]; dup {
			v.errs = append(v.errs, v.fileErr(i, fmt.Sprintf("path %q is also written by the file at line %d; give one of them another path", p, files[j].Line)))
			continue
		}
		seen[p] = i
	}
	for i := range files {
		for dir := path.Dir(files[i].Path); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if j, ok := seen[dir]; ok {
				v.errs = append(v.errs, v.fileErr(i, fmt.Sprintf("path %q needs %q to be a directory, but the file at line %d is written there", files[i].Path, dir, files[j].Line)))
				break
			}
		}
	}
}

func (v *validator) fileErr(i int, msg string) *Error {
	e := v.pos(v.m.Files[i].Line, "path", msg)
	if e.Line == v.m.Files[i].Line {
		if l, c := v.ix.keyIn(v.m.Files[i].Line, "url"); l > 0 {
			e.Line, e.Col, e.Text = l, c, v.text(l)
		}
	}
	return e
}

// unusedHosts warns about [hosts] entries that match no file, which is
// usually a typo in the host name.
func (v *validator) unusedHosts() {
	if len(v.m.Hosts) == 0 {
		return
	}
	used := map[string]bool{}
	for i := range v.m.Files {
		for _, s := range append([]string{v.m.Files[i].URL}, v.m.Files[i].Mirrors...) {
			if u, err := url.Parse(s); err == nil {
				if k, _ := v.m.HostEntry(hostPort(u)); k != "" {
					used[k] = true
				}
			}
		}
	}
	for h := range v.m.Hosts {
		if !used[h] {
			v.warn(v.ix.table("hosts", h), "", fmt.Sprintf("[hosts.%q] matches no file's url or mirror", h))
		}
	}
}

// hostPort returns u's host with the scheme's default port made explicit.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
