package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// fakeDoer answers per host: refused, out of file descriptors (a dial
// that failed on this side), or 200.
type fakeDoer struct{ refuse, noFiles map[string]bool }

func (f *fakeDoer) Do(req *http.Request) (*http.Response, error) {
	if f.refuse[req.URL.Host] {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	if f.noFiles[req.URL.Host] {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

func TestBreakerTripsOnlyOnConnectionFailuresInARow(t *testing.T) {
	f := &fakeDoer{refuse: map[string]bool{"dead:80": true, "flaky:80": true}}
	var trips []string
	b := newBreaker(f, 3, func(host string, n int) { trips = append(trips, fmt.Sprintf("%s %d", host, n)) })
	get := func(host string) error {
		req, _ := http.NewRequest("GET", "http://"+host+"/x", nil)
		_, err := b.Do(req)
		return err
	}
	for range 2 {
		get("dead:80")
		get("flaky:80")
	}
	f.refuse["flaky:80"] = false
	get("flaky:80") // a success resets flaky's count
	f.refuse["flaky:80"] = true
	get("dead:80") // the third in a row: down
	get("flaky:80")
	get("flaky:80")
	if err := get("dead:80"); !errors.Is(err, segdl.ErrHostDown) || !strings.Contains(err.Error(), "dead:80 is down") {
		t.Errorf("request to a host found down = %v; want segdl.ErrHostDown naming it", err)
	}
	if err := get("up:80"); err != nil {
		t.Errorf("another host = %v; want it untouched", err)
	}
	if err := get("flaky:80"); errors.Is(err, segdl.ErrHostDown) {
		t.Errorf("flaky host (2 failures since its success, then this) is down too early")
	}
	if err := get("flaky:80"); !errors.Is(err, segdl.ErrHostDown) {
		t.Errorf("flaky host after 3 in a row = %v; want down", err)
	}
	if want := []string{"dead:80 3", "flaky:80 3"}; fmt.Sprint(trips) != fmt.Sprint(want) {
		t.Errorf("onTrip calls = %q; want %q, once per host", trips, want)
	}
}

// A dial that fails for want of file descriptors says nothing of the host:
// it is ours to wait out (segdl parks the file), never a reason to give up
// on the host's remaining files.
func TestBreakerIgnoresOurOwnShortage(t *testing.T) {
	f := &fakeDoer{noFiles: map[string]bool{"busy:80": true}}
	b := newBreaker(f, 3, func(host string, n int) { t.Errorf("host %s found down after %d EMFILE dials", host, n) })
	req, _ := http.NewRequest("GET", "http://busy:80/x", nil)
	for range 10 {
		if _, err := b.Do(req); errors.Is(err, segdl.ErrHostDown) {
			t.Fatalf("request after EMFILE dials = %v; want the host still tried", err)
		}
	}
}

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
