package segdl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// stopServer serves a 1 MiB file in ranges: the first request (from byte
// 0) gets its first 64 KiB, then probe decides; every other range waits
// for other, then gets a 404, which fails the file.
func stopServer(t *testing.T, probe func(w http.ResponseWriter, r *http.Request), other <-chan struct{}) *httptest.Server {
	data := segdltest.Content(7, 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var first int64
		fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &first)
		if first != 0 {
			select {
			case <-other:
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
				return
			}
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("ETag", `"v1"`)
		h.Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(data)-1, len(data)))
		h.Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data[:64<<10])
		w.(http.Flusher).Flush()
		probe(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// endsAlone runs a download of spec until it ends by itself: its context
// is never cancelled while the test waits, so a task that nothing stops
// keeps the download from ending, and the test fails after 10 seconds.
func endsAlone(t *testing.T, spec Spec, cfg *Config, conns int, setup func(*Download)) error {
	t.Helper()
	root := openRoot(t, t.TempDir())
	spec.Path, spec.Size = "out.bin", -1
	wake := make(chan struct{}, 1)
	d := New(root, spec, cfg, func() { poke(wake) })
	setup(d)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		drive(ctx, d, wake, conns)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-d.Done():
		return d.Err()
	case <-time.After(10 * time.Second):
		t.Fatal("the download did not end: a task was not stopped when the file failed")
		return nil
	}
}

// When a file fails, its other requests end at once: a connection waiting
// for bytes that will not come is not left to the stall timeout (none
// here), and the download ends.
func TestAFailedFileStopsItsOtherRequests(t *testing.T) {
	ended := make(chan struct{})
	open := make(chan struct{})
	close(open)
	srv := stopServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // the rest of the body never comes
		close(ended)
	}, open)
	cfg := testConfig()
	cfg.StallTimeout = 0
	cfg.Retries = 0
	err := endsAlone(t, Spec{URLs: []string{srv.URL + "/f"}}, cfg, 2, func(*Download) {})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("download error = %v; want the other range's 404", err)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the request waiting for the rest of its body was not cancelled when the file failed")
	}
}

// heldTimer is a timer that never fires until stopped.
type heldTimer struct{}

func (heldTimer) Stop() bool { return true }

// When a file fails, a task waiting to retry stops waiting: its wait is
// on a clock that never fires, so only the file's failure can end it.
func TestAFailedFileStopsAWaitToRetry(t *testing.T) {
	sleeping := make(chan struct{})
	var once sync.Once
	srv := stopServer(t, func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler) // cut: the task retries after a backoff
	}, sleeping)
	cfg := testConfig()
	cfg.StallTimeout = 0
	cfg.BackoffBase, cfg.BackoffMax = 500*time.Millisecond, 500*time.Millisecond // below ParkAfter: the task waits
	err := endsAlone(t, Spec{URLs: []string{srv.URL + "/f"}}, cfg, 2, func(d *Download) {
		d.clock = &clock{now: time.Now, afterFunc: func(time.Duration, func()) timer {
			once.Do(func() { close(sleeping) })
			return heldTimer{}
		}}
	})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("download error = %v; want the other range's 404", err)
	}
	if errors.Is(err, ErrInterrupted) {
		t.Errorf("download error = %v; want a failure, not an interruption", err)
	}
	select {
	case <-sleeping:
	default:
		t.Fatal("no task waited to retry: the test did not test the wait")
	}
}

// A stop that lands between two requests of a task (after one failed,
// before its wait to retry) stops the wait too: the task is stopped, not
// only the request it had then. Here the file fails while the task is in
// OnRetry, and its wait is on a clock that never fires.
func TestAStopBetweenRequestsStopsTheNextWait(t *testing.T) {
	other := make(chan struct{})
	srv := stopServer(t, func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler) // cut: the task retries after a backoff
	}, other)
	var d *Download
	var failOther sync.Once
	waited := false
	cfg := testConfig()
	cfg.StallTimeout = 0
	cfg.BackoffBase, cfg.BackoffMax = 500*time.Millisecond, 500*time.Millisecond // below ParkAfter: the task waits
	cfg.OnRetry = func(string, int, int, time.Duration, error) {
		// Let the other range's 404 fail the file, and return once it
		// has: the task's wait begins after its stop.
		failOther.Do(func() { close(other) })
		for range 1000 {
			d.mu.Lock()
			failed := d.err != nil
			d.mu.Unlock()
			if failed {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Error("the file did not fail within 5s of the other range's 404")
	}
	err := endsAlone(t, Spec{URLs: []string{srv.URL + "/f"}}, cfg, 2, func(dd *Download) {
		d = dd
		d.clock = &clock{now: time.Now, afterFunc: func(time.Duration, func()) timer {
			waited = true
			return heldTimer{}
		}}
	})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("download error = %v; want the other range's 404", err)
	}
	if waited {
		t.Error("the stopped task began its wait to retry")
	}
}
