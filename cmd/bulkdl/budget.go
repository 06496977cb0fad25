package main

import (
	"fmt"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/manifest"
)

// usableConnections is how many requests m's budget lets run at once: each
// host at its cap, all of them within connections.
func usableConnections(m *manifest.Manifest) (usable, hosts int) {
	s := m.Settings
	seen := map[string]bool{}
	for _, hp := range job.FileHosts(m.Files) {
		if seen[hp] {
			continue
		}
		seen[hp] = true
		limit := s.PerHost
		if h := m.HostConfig(hp); h != nil && h.Connections > 0 {
			limit = h.Connections
		}
		usable += min(limit, s.Connections)
	}
	return min(usable, s.Connections), len(seen)
}

// budgetText says what the budget is and what of it applies: per_host
// raised to follow -c, or a budget the hosts' caps cannot fill.
func budgetText(m *manifest.Manifest, perHostFollows bool) string {
	s := m.Settings
	text := fmt.Sprintf("connections %d, per_host %d", s.Connections, s.PerHost)
	if perHostFollows {
		text += " (follows -c)"
	}
	text += fmt.Sprintf(", per_file %d", s.PerFile)
	if usable, hosts := usableConnections(m); usable < s.Connections {
		text += fmt.Sprintf("; %d of %d usable with %d host(s) at their caps: raise per_host (-per-host) or the hosts' connections to use more", usable, s.Connections, hosts)
	}
	return text
}
