package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// -c 32 on a one-host manifest means 32 at once, as curl --parallel-max
// and aria2c -j do, and check says so.
func TestConnectionsFlagMeansWhatPeersMean(t *testing.T) {
	srv, dir, _ := origin(t, 40, 32<<10, "")
	srv.RatePerConn.Store(256 << 10)
	m := filepath.Join(dir, "m.toml")
	code, out, stderr := bulkdl("check", "-c", "32", m)
	if code != 0 || !strings.Contains(out, "connections 32, per_host 32 (follows -c), per_file") || strings.Contains(out, "usable") {
		t.Errorf("check -c 32 = %d:\n%s%s", code, out, stderr)
	}
	// per_host given too: it limits, and check says how much of the budget applies.
	code, out, _ = bulkdl("check", "-c", "32", "-per-host", "4", m)
	if code != 0 || !strings.Contains(out, "connections 32, per_host 4, per_file") || !strings.Contains(out, "4 of 32 usable with 1 host(s)") {
		t.Errorf("check -c 32 -per-host 4 = %d:\n%s", code, out)
	}
	if code, _, stderr := bulkdl("run", "-q", "-c", "32", m); code != 0 {
		t.Fatalf("run -c 32 = %d: %s", code, stderr)
	}
	if peak := srv.Stats().PeakInFlight; peak <= 8 || peak > 32 {
		t.Errorf("run -c 32 on one host: peak %d requests in flight; want more than the per_host default of 8, at most 32", peak)
	}
}
