package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/segdl"
)

func (c *cli) check(args []string) int {
	fs := c.flagSet("check")
	var sf settingsFlags
	sf.register(fs)
	if code, ok := c.parseArgs(fs, args, 0, -1); !ok {
		return code
	}
	names := fs.Args()
	if len(names) == 0 && sf.input == "" {
		c.usageError(fs, "want a manifest (or -i with a URL list)")
		return exitUsage
	}
	if sf.input != "" {
		names = append(names, "")
	}
	// check validates without secrets: an unset ${VAR} is a warning here
	// and an error in run.
	sf.opts.UnsetEnv = true
	code := exitOK
	for k, name := range names {
		in := sf
		if name != "" {
			in.input = ""
		}
		if k > 0 {
			fmt.Fprintln(c.stdout)
		}
		m, ok := c.load(fs, &in, name)
		if !ok {
			code = exitUsage
			continue
		}
		printPlan(c.stdout, m, in.perHostFollows)
	}
	return code
}

type hostPlan struct {
	hostport string
	files    int
	mirrors  int
	bytes    int64
}

// printPlan prints what a run would do, without network traffic. Header
// values are never printed: they may hold secrets.
func printPlan(w0 interface{ Write([]byte) (int, error) }, m *manifest.Manifest, perHostFollows bool) {
	var known int64
	unknown := 0
	hosts := map[string]*hostPlan{}
	for i := range m.Files {
		f := &m.Files[i]
		if f.Size >= 0 {
			known += f.Size
		} else {
			unknown++
		}
		// One line per origin, mirrors' too: [hosts] entries and
		// credentials go by it.
		for k, raw := range append([]string{f.URL}, f.Mirrors...) {
			host := originOf(raw)
			hp := hosts[host]
			if hp == nil {
				hp = &hostPlan{hostport: segdl.HostPort(raw)}
				hosts[host] = hp
			}
			if k > 0 {
				hp.mirrors++
				continue
			}
			hp.files++
			if f.Size > 0 {
				hp.bytes += f.Size
			}
		}
	}
	s := m.Settings
	w := tabwriter.NewWriter(w0, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "manifest\t%s (valid)\n", m.Name)
	size := manifest.Size(known).String()
	if unknown > 0 {
		size += fmt.Sprintf(" known; %d file(s) of unknown size", unknown)
	}
	fmt.Fprintf(w, "files\t%d, %s\n", len(m.Files), size)
	fmt.Fprintf(w, "dest\t%s\n", m.Dest)
	fmt.Fprintf(w, "budget\t%s\n", budgetText(m, perHostFollows))
	timeout := "none"
	if s.Timeout > 0 {
		timeout = s.Timeout.String()
	}
	fmt.Fprintf(w, "settings\tmin_segment %v, rate %v, retries %d, timeout %s\n", s.MinSegment, s.Rate, s.Retries, timeout)
	if len(s.Headers) > 0 {
		fmt.Fprintf(w, "headers\t%s\n", redactedHeaders(s.Headers))
	}
	w.Flush()
	fmt.Fprintf(w0, "hosts\n")
	for _, h := range sortedKeys(hosts) {
		hp := hosts[h]
		key, hc := m.HostEntry(hp.hostport)
		hostCap := s.PerHost
		if hc != nil && hc.Connections > 0 {
			hostCap = min(hc.Connections, s.Connections)
		}
		line := fmt.Sprintf("  %s\t%d file(s)\t%v\tcap %d", redact.Escape(h), hp.files, manifest.Size(hp.bytes), hostCap)
		if hp.mirrors > 0 {
			line += fmt.Sprintf(", mirror of %d", hp.mirrors)
		}
		if hc != nil {
			if hc.Rate > 0 {
				line += fmt.Sprintf(", rate %v", hc.Rate)
			}
			if len(hc.Headers) > 0 {
				line += ", headers " + redactedHeaders(hc.Headers)
			}
			line += fmt.Sprintf(", from [hosts.%q]", key)
		} else {
			line += ", no [hosts] entry"
		}
		fmt.Fprintln(w, line)
	}
	w.Flush()
}

// redactedHeaders lists header names with their values hidden.
func redactedHeaders(h map[string]string) string {
	keys := sortedKeys(h)
	for i, k := range keys {
		keys[i] = k + ": ***"
	}
	return strings.Join(keys, ", ")
}

// originOf names the origin of raw as a run keys it (segdl.HostPort: lower
// case, the scheme's default port made explicit), so that check shows
// https://h and https://h:443 as the one host a run treats them as; it is
// printed without the default port.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	hp := segdl.HostPort(raw)
	if err != nil || hp == "" {
		return "?"
	}
	scheme := strings.ToLower(u.Scheme)
	if h, port, err := net.SplitHostPort(hp); err == nil && (scheme == "https" && port == "443" || scheme == "http" && port == "80") {
		hp = h
		if strings.Contains(h, ":") {
			hp = "[" + h + "]"
		}
	}
	return scheme + "://" + hp
}
