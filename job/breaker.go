package job

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"

	"github.com/bulkdl/bulkdl/segdl"
)

// defaultTrip is how many connection failures in a row, with no request to
// the host succeeding in between, mark a host as down.
const defaultTrip = 12

// breaker is the dead-host circuit breaker: a segdl.Doer that counts, per
// host, connection failures in a row (refused, unreachable, no such host,
// timed out connecting). At trip of them with no success between, the host
// is down for the rest of the run: every request to it fails at once with
// segdl.ErrHostDown, so its remaining files fail (or go to their mirrors)
// without each retrying with backoff, while other hosts carry on. Any
// response, whatever its status, resets the count: the host is up.
type breaker struct {
	next segdl.Doer
	trip int
	// onTrip is called once per host, when it is found down.
	onTrip func(host string, failures int)

	mu    sync.Mutex
	fails map[string]int  // connection failures in a row, per host
	down  map[string]bool // hosts found down
	// keys are the host:port of each scheme and URL host seen: a request
	// costs a lookup, not a URL parse.
	keys map[hostKey]string
}

type hostKey struct{ scheme, host string }

var _ segdl.Doer = (*breaker)(nil)

func newBreaker(next segdl.Doer, trip int, onTrip func(host string, failures int)) *breaker {
	if trip <= 0 {
		trip = defaultTrip
	}
	return &breaker{next: next, trip: trip, onTrip: onTrip, fails: map[string]int{}, down: map[string]bool{}, keys: map[hostKey]string{}}
}

// errHostDown is the error of a request to a host found down.
type errHostDown struct {
	host     string
	failures int
}

func (e *errHostDown) Error() string {
	return fmt.Sprintf("%s is down: %d connections in a row failed and none succeeded; not tried", e.host, e.failures)
}

func (e *errHostDown) Unwrap() error { return segdl.ErrHostDown }

func (b *breaker) Do(req *http.Request) (*http.Response, error) {
	k := hostKey{req.URL.Scheme, req.URL.Host}
	b.mu.Lock()
	host, ok := b.keys[k]
	if !ok {
		host = segdl.HostPort(req.URL.String())
		b.keys[k] = host
	}
	if b.down[host] {
		n := b.fails[host]
		b.mu.Unlock()
		return nil, &errHostDown{host: host, failures: n}
	}
	b.mu.Unlock()

	resp, err := b.next.Do(req)

	b.mu.Lock()
	switch {
	case err == nil:
		b.fails[host] = 0
	case connectFailure(err) && req.Context().Err() == nil:
		b.fails[host]++
		if n := b.fails[host]; n >= b.trip && !b.down[host] {
			b.down[host] = true
			b.mu.Unlock()
			if b.onTrip != nil {
				b.onTrip(host, n)
			}
			return resp, err
		}
	}
	b.mu.Unlock()
	return resp, err
}

// connectFailure reports whether err means that no connection to the host
// could be made: dialing failed (refused, unreachable, DNS, timeout). A
// dial that failed for want of file descriptors on this side says nothing
// of the host, and does not count.
func connectFailure(err error) bool {
	var op *net.OpError
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return false
	}
	return errors.As(err, &op) && op.Op == "dial"
}
