package manifest

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/bulkdl/bulkdl/redact"
)

// raw* mirror the TOML schema with every value in the loosest type that
// decoding accepts, so that validation sees every entry and reports every
// problem with its position, not only the first. Files stay the decoder's
// own tables (map[string]any): decoding them into structs cost reflection
// and a decoded-key record per key, per entry.
type rawManifest struct {
	Version  any         `toml:"version"`
	Settings rawSettings `toml:"settings"`
	// Hosts are decoded one by one, in document order, by decodeHosts:
	// the decoder walks a map in Go's random order, so which of several
	// bad [hosts] values it reported would change from run to run.
	Hosts map[string]toml.Primitive `toml:"hosts"`
	File  any                       `toml:"file"`

	hosts map[string]rawHost // Hosts decoded
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

type validator struct {
	seen  map[string]bool // unknown keys already reported
	name  string
	ix    *lineIndex
	errs  Errors
	warns []*Error
	m     *Manifest
	opts  Options
	plat  platform // which name rules are errors here

	tables               int             // [[file]] tables of the batches validated so far
	usedHosts            map[string]bool // [hosts] keys some url or mirror uses
	lastHost, lastScheme string          // the origin useHost saw last
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
	hosts := make([]string, 0, len(raw.hosts))
	for h := range raw.hosts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		v.host(h, raw.hosts[h])
	}
	m.Files = make([]File, 0, len(v.ix.files))
	v.files(raw.File, false) // file = [{…}] inline, or [[File]] in another case
	return m
}

// files validates the decoder's value of the key file: the tables of a
// batch of [[file]] headers (tables), whose lines the index has in order,
// or what the rest of the manifest holds, whose lines are unknown.
func (v *validator) files(val any, tables bool) {
	hdr := func() int {
		if !tables {
			return 0
		}
		v.tables++
		return v.ix.file(v.tables - 1)
	}
	switch list := val.(type) {
	case nil:
	case []map[string]any:
		for _, t := range list {
			v.m.Files = append(v.m.Files, v.file(len(v.m.Files), hdr(), t))
		}
	case []any:
		for _, x := range list {
			t, ok := x.(map[string]any)
			if !ok {
				v.at(0, "file", "file must be [[file]] tables, or an array of tables as in file = [{ url = \"https://…\" }]; this array holds %s", tomlType(x))
				return
			}
			v.m.Files = append(v.m.Files, v.file(len(v.m.Files), hdr(), t))
		}
	default:
		v.at(0, "file", "file must be [[file]] tables, or an array of tables as in file = [{ url = \"https://…\" }], not %s", tomlType(val))
	}
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
		if what := badHeaderByte(s.UserAgent); what != "" {
			v.at(hdr, "user_agent", "user_agent contains %s; it may hold no control character but a tab", what)
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

// decodeHosts decodes raw.Hosts into raw.hosts in the order the document
// gives them, so that of several that are not tables the first is the
// one reported, on every run. Keys the document order does not name
// (none are known) follow in sorted order.
func decodeHosts(md *toml.MetaData, raw *rawManifest) error {
	raw.hosts = make(map[string]rawHost, len(raw.Hosts))
	decode := func(name string) error {
		if _, done := raw.hosts[name]; done {
			return nil
		}
		p, ok := raw.Hosts[name]
		if !ok {
			return nil
		}
		var r rawHost
		if err := md.PrimitiveDecode(p, &r); err != nil {
			return err
		}
		raw.hosts[name] = r
		return nil
	}
	for _, k := range md.Keys() {
		if len(k) == 2 && k[0] == "hosts" {
			if err := decode(k[1]); err != nil {
				return err
			}
		}
	}
	if len(raw.hosts) == len(raw.Hosts) {
		return nil
	}
	rest := make([]string, 0, len(raw.Hosts)-len(raw.hosts))
	for h := range raw.Hosts {
		if _, done := raw.hosts[h]; !done {
			rest = append(rest, h)
		}
	}
	sort.Strings(rest)
	for _, h := range rest {
		if err := decode(h); err != nil {
			return err
		}
	}
	return nil
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

// fileKeys are the keys of a [[file]] table, in the order file() reads
// them.
var fileKeys = [...]string{"url", "path", "checksum", "size", "mirrors", "headers"}

// fileKey returns the index of k in fileKeys, or -1.
func fileKey(k string) int {
	switch k {
	case "url":
		return 0
	case "path":
		return 1
	case "checksum":
		return 2
	case "size":
		return 3
	case "mirrors":
		return 4
	case "headers":
		return 5
	}
	return -1
}

// file validates the i-th file, whose [[file]] header is on line hdr (0
// if unknown).
func (v *validator) file(i, hdr int, r map[string]any) File {
	f := File{Size: -1, Line: hdr}
	var vals [len(fileKeys)]any
	n := 0
	// One pass over the table's few keys, not a lookup of every key it
	// might have.
	for k, x := range r {
		if j := fileKey(k); j >= 0 {
			vals[j], n = x, n+1
		}
	}
	if len(r) > n {
		v.otherFileKeys(hdr, r, &vals)
	}
	rURL, rPath, rChecksum, rSize, rMirrors, rHeaders := vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
	rawURL, hasURL := v.str(hdr, "url", rURL)
	var u *url.URL
	if rURL == nil {
		v.errs = append(v.errs, v.pos(hdr, "", fmt.Sprintf("file #%d has no url; add url = \"https://…\"", i+1)))
	} else if hasURL {
		// Clone: decoded strings point into the batch's text, which would
		// otherwise stay alive as long as the manifest.
		f.URL = strings.Clone(rawURL)
		var err error
		if u, err = parseURL(f.URL); err != nil {
			v.at(hdr, "url", "url: %v", err)
			hasURL = false // no name can be derived from it
		} else {
			v.useHost(u)
		}
	}
	mirrors := v.strings(hdr, "mirrors", rMirrors)
	for _, mu := range mirrors {
		mirror, err := parseURL(mu)
		switch {
		case err != nil:
			v.at(hdr, "mirrors", "mirror: %v", err)
		case mu == f.URL:
			v.at(hdr, "mirrors", "mirror %q is the file's own url; remove it", redact.URL(mu))
		default:
			v.useHost(mirror)
		}
	}
	for i := range mirrors {
		mirrors[i] = strings.Clone(mirrors[i])
	}
	f.Mirrors = mirrors
	if p, ok := v.str(hdr, "path", rPath); ok {
		c, err := cleanPath(p)
		if err != nil {
			v.at(hdr, "path", "path %q %v", p, err)
		}
		f.Path = strings.Clone(c)
	} else if rPath == nil && hasURL {
		p, err := pathFromURL(u, f.URL)
		if err != nil {
			v.at(hdr, "url", "%v; set path = \"…\" for this file", err)
		}
		f.Path = p
	}
	if cs, ok := v.str(hdr, "checksum", rChecksum); ok {
		c, err := ParseChecksum(cs)
		if err != nil {
			v.at(hdr, "checksum", "%v", err)
		}
		f.Checksum = c
	}
	if rSize != nil {
		if n, ok := v.size(hdr, "size", rSize); ok {
			f.Size = int64(n)
		}
	}
	f.Headers, _ = v.headers(hdr, rHeaders)
	return f
}

// otherFileKeys handles the keys of a [[file]] table that are not
// fileKeys as written. One that differs from a key only in case stands
// for it when the key itself is absent, as in [settings] (the decoder
// matches struct fields so); the rest are reported, in order, at the
// lines where they are written.
func (v *validator) otherFileKeys(hdr int, r map[string]any, vals *[len(fileKeys)]any) {
	var other []string
	for k := range r {
		if !slices.Contains(fileKeys[:], k) {
			other = append(other, k)
		}
	}
	sort.Strings(other)
next:
	for _, k := range other {
		for j, fk := range fileKeys {
			if vals[j] == nil && strings.EqualFold(k, fk) {
				vals[j] = r[k]
				continue next
			}
		}
		if hdr == 0 {
			// An inline table: no line to tell its entries apart, so
			// each key is reported once.
			if v.seen["file\x00"+k] {
				continue
			}
			v.seen["file\x00"+k] = true
		}
		e := v.pos(hdr, k, unknownMsg("file", k))
		if e.Line > 0 {
			e.Col = indent(v.ix.lineText(e.Line)) + 1
		}
		v.errs = append(v.errs, e)
	}
}

// parseURL parses a file's url or mirror, which must be http or https
// with a host.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid URL", redact.URL(s))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: only http and https URLs are supported", redact.URL(s))
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", redact.URL(s))
	}
	return u, nil
}

// checkNamesFn is checkNames; tests replace it to make it panic.
var checkNamesFn = (*validator).checkNames

// crossChecks runs crossFiles and checkNames, at once where there are
// cores for both: they only read the files, and each records its own
// problems, appended in the order they would be one after the other.
func (v *validator) crossChecks() {
	if v.opts.reference || runtime.GOMAXPROCS(0) < 2 {
		v.crossFiles()
		checkNamesFn(v)
		return
	}
	names := *v // the same manifest and index, its own problems
	names.errs, names.warns = nil, nil
	wait := goJoin(func() { checkNamesFn(&names) })
	v.crossFiles()
	wait()
	v.errs = append(v.errs, names.errs...)
	v.warns = append(v.warns, names.warns...)
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

// useHost records the origin of a file's url or mirror for unusedHosts.
func (v *validator) useHost(u *url.URL) {
	if len(v.m.Hosts) == 0 || u.Host == v.lastHost && u.Scheme == v.lastScheme {
		return
	}
	v.lastHost, v.lastScheme = u.Host, u.Scheme
	if k, _ := v.m.HostEntry(hostPort(u)); k != "" {
		v.usedHosts[k] = true
	}
}

// unusedHosts warns about [hosts] entries that match no file, which is
// usually a typo in the host name.
func (v *validator) unusedHosts() {
	hosts := make([]string, 0, len(v.m.Hosts))
	for h := range v.m.Hosts {
		if !v.usedHosts[h] {
			hosts = append(hosts, h)
		}
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		v.warn(v.ix.table("hosts", h), "", fmt.Sprintf("[hosts.%q] matches no file's url or mirror", h))
	}
}
