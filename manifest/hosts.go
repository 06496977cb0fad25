package manifest

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/bulkdl/bulkdl/redact"
)

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

// redactHost hides what looks like userinfo in a [hosts] key, and a
// query or fragment in one that is a URL.
func redactHost(name string) string {
	if strings.Contains(name, "://") || strings.ContainsAny(name, "?#") {
		return redact.URL(name)
	}
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		return redact.Mask + redact.Escape(name[i:])
	}
	return redact.Escape(name)
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
