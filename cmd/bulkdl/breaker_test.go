package main

import (
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// defaultTrip is the engine's default breaker trip (bulkdl.defaultTrip).
const defaultTrip = 12

// A host that refuses connections: its files fail at once after the
// breaker trips, said once with the host; the other host's files complete.
func TestDeadHostFailsFastOthersCarryOn(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now: connections are refused

	srv := segdltest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("[settings]\ndest = \"out\"\nconnections = 8\nretries = 2\n")
	const deadFiles = 60
	for i := range deadFiles {
		fmt.Fprintf(&b, "[[file]]\nurl = \"http://%s/d%d.bin\"\n", dead, i)
	}
	for i := range 3 {
		d := segdltest.Content(uint64(i+1), 4096)
		srv.PutBytes(fmt.Sprintf("/f%d.bin", i), d)
		fmt.Fprintf(&b, "[[file]]\nurl = %q\nchecksum = \"sha256:%x\"\n", srv.URLOf(fmt.Sprintf("/f%d.bin", i)), sha256.Sum256(d))
	}
	m := filepath.Join(dir, "m.toml")
	os.WriteFile(m, []byte(b.String()), 0o644)
	report := filepath.Join(dir, "r.json")

	code, _, stderr := bulkdl("run", "-progress", "none", "-report", report, m)
	if code != exitFailed {
		t.Fatalf("run = %d; want 1: %s", code, stderr)
	}
	if n := strings.Count(stderr, "host down: "+dead); n != 1 {
		t.Errorf("the host down is said %d times; want once, with the host:\n%s", n, stderr)
	}
	rep := readReport(t, report)
	if rep.Totals.Failed != deadFiles || rep.Totals.Downloaded != 3 {
		t.Errorf("totals = %+v; want %d failed, 3 downloaded", rep.Totals, deadFiles)
	}
	notTried := 0
	for _, f := range rep.Files {
		// Failed at once, by its one and only attempt: no retry, no backoff.
		if strings.Contains(f.Error, "not tried") && f.Attempts == 1 {
			notTried++
		}
	}
	// At most defaultTrip connection attempts fail before the breaker trips,
	// spread over a few files; every other file fails at its first request,
	// which the breaker answers without a connection.
	if notTried < deadFiles-defaultTrip {
		t.Errorf("%d of %d files on the dead host were failed without a try; want at least %d", notTried, deadFiles, deadFiles-defaultTrip)
	}
	for _, h := range rep.Hosts {
		if h.Host == dead && !h.Down {
			t.Errorf("report host %s: down = false", dead)
		}
	}
}
