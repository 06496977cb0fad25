package scheduler

import (
	"context"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl"
)

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestRunLeavesNoWorkers: tasks run on workers that Run owns: however
// many files, the goroutines stay bounded by the budget, and every one of
// them has returned when Run returns, whether the run ended or was
// interrupted.
func TestRunLeavesNoWorkers(t *testing.T) {
	cases := []struct {
		name      string
		interrupt bool
	}{
		{"after every file", false},
		{"when interrupted", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, err := os.OpenRoot(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			base := runtime.NumGoroutine()
			var requests, peak atomic.Int64
			doer := doerFunc(func(r *http.Request) (*http.Response, error) {
				if n := int64(runtime.NumGoroutine()); n > peak.Load() {
					peak.Store(n) // one caller at a time is enough for a bound
				}
				if requests.Add(1) == 300 && c.interrupt {
					cancel()
				}
				return &http.Response{StatusCode: 404, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, nil
			})
			const conns = 4
			s := New(Config{Connections: conns, PerHost: conns})
			ran := make(chan error, 1)
			go func() {
				ran <- s.Run(ctx, &benchSource{n: 1000, hosts: 1, root: root, cfg: &segdl.Config{Client: doer}})
			}()
			select {
			case err := <-ran:
				if c.interrupt != (err != nil) {
					t.Fatalf("Run = %v; want an error only when interrupted", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return")
			}
			// Run's goroutine, the tasks' workers (at most the budget plus
			// as many verifying without a slot, and those just ending).
			if bound := int64(base + 1 + 4*conns); peak.Load() > bound {
				t.Errorf("peak goroutines = %d; want at most %d for a budget of %d", peak.Load(), bound, conns)
			}
			// A worker that returned may take a moment to be gone.
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
				runtime.Gosched()
			}
			if n := runtime.NumGoroutine(); n > base {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines after Run; want %d:\n%s", n, base, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}
