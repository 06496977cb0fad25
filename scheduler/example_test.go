package scheduler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bulkdl/bulkdl/scheduler"
	"github.com/bulkdl/bulkdl/segdl"
)

// listSource is a Source over a list of URLs on one server.
type listSource struct {
	root *os.Root
	urls []string
	host string
	cfg  *segdl.Config

	mu   sync.Mutex // Finished is called from the downloads' goroutines
	done []string
}

func (s *listSource) Len() int          { return len(s.urls) }
func (s *listSource) Host(i int) string { return s.host }
func (s *listSource) Start(i int, notify func()) *segdl.Download {
	spec := segdl.Spec{URLs: []string{s.urls[i]}, Path: fmt.Sprintf("f%d", i), Size: -1}
	return segdl.New(s.root, spec, s.cfg, notify)
}
func (s *listSource) Finished(i int, d *segdl.Download) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = append(s.done, fmt.Sprintf("f%d %v", i, d.Err()))
}

// Four files under a budget of two connections: the scheduler's Limiter,
// OnSuccess and OnThrottle are wired into the segdl.Config the downloads
// share, and Run returns when every file has ended.
func ExampleScheduler_Run() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f", time.Time{}, strings.NewReader(r.URL.Path))
	}))
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "scheduler-example")
	defer os.RemoveAll(dir)
	root, _ := os.OpenRoot(dir)
	defer root.Close()

	s := scheduler.New(scheduler.Config{Connections: 2, PerHost: 2})
	src := &listSource{root: root, host: segdl.HostPort(srv.URL), cfg: &segdl.Config{
		Client:  segdl.NewClient(http.DefaultTransport),
		Limiter: s.Limiter, OnSuccess: s.OnSuccess, OnThrottle: s.OnThrottle,
	}}
	for i := range 4 {
		src.urls = append(src.urls, fmt.Sprintf("%s/file-%d", srv.URL, i))
	}
	if err := s.Run(context.Background(), src); err != nil {
		fmt.Println(err)
	}
	fmt.Println(len(src.done), "files")
	for _, h := range s.Hosts() {
		fmt.Println("cap", h.ConfigCap, "in flight", h.InFlight)
	}
	// Output:
	// 4 files
	// cap 2 in flight 0
}
