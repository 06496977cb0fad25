package job

import (
	"strings"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
)

// FileHosts returns the host:port of each file's url, as segdl.HostPort
// gives it, one string per host, for a fraction of the cost of calling
// HostPort on each (see hostsOf).
func FileHosts(files []manifest.File) []string { return hostsOf(files, segdl.HostPort) }

// hostsOf returns the host:port of each file's url, as hostPort
// (segdl.HostPort) gives it, one string per host. A host depends only on
// a URL's scheme and authority, so hostPort parses one URL for each
// scheme://authority instead of every URL: a 100,000-file manifest of one
// host costs one parse, not 100,000 (some 30 ms before the first request).
func hostsOf(files []manifest.File, hostPort func(rawURL string) string) []string {
	out := make([]string, len(files))
	byAuth := map[string]string{} // scheme://authority -> host:port
	hosts := map[string]string{}  // one string per host
	var lastKey, lastHost string  // a manifest lists a host's files together
	for i := range files {
		u := files[i].URL
		key, ok := authority(u)
		if ok && key == lastKey {
			out[i] = lastHost
			continue
		}
		if h, seen := byAuth[key]; ok && seen {
			out[i], lastKey, lastHost = h, key, h
			continue
		}
		h := hostPort(u)
		if s, seen := hosts[h]; seen {
			h = s
		} else {
			hosts[h] = h
		}
		if ok && h != "" {
			// A URL that does not parse says nothing of the next one
			// with its authority.
			byAuth[key] = h
			lastKey, lastHost = key, h
		}
		out[i] = h
	}
	return out
}

// authority returns the scheme://authority that begins rawURL, the part of
// it net/url takes the scheme and host from: up to the first '/', '?' or
// '#' after "//". ok is false for a URL without "://".
func authority(rawURL string) (key string, ok bool) {
	i := strings.Index(rawURL, "://")
	if i <= 0 {
		return "", false
	}
	for j := i + 3; j < len(rawURL); j++ {
		if c := rawURL[j]; c == '/' || c == '?' || c == '#' {
			return rawURL[:j], true
		}
	}
	return rawURL, true
}
