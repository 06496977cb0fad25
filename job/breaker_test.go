package job

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/bulkdl/bulkdl/segdl"
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
