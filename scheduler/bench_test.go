package scheduler

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/segdl"
)

// notFound answers every request with a 404 from memory: a file costs the
// scheduler's work, one request and an empty temporary file, no network.
type notFound struct{}

func (notFound) Do(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 404, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, nil
}

type benchSource struct {
	n, hosts int
	root     *os.Root
	cfg      *segdl.Config
}

func (s *benchSource) Len() int          { return s.n }
func (s *benchSource) Host(i int) string { return fmt.Sprintf("h%d.example:80", i%s.hosts) }
func (s *benchSource) Start(i int, notify func()) *segdl.Download {
	return segdl.New(s.root, segdl.Spec{URLs: []string{fmt.Sprintf("http://h%d.example/f%d", i%s.hosts, i)}, Path: fmt.Sprintf("f%d", i), Size: -1}, s.cfg, notify)
}
func (s *benchSource) Finished(int, *segdl.Download) {}

// BenchmarkRun reports the cost per file of running manifests of growing
// size over 4 hosts; it should stay flat as the manifest grows.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{1000, 10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			root, err := os.OpenRoot(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer root.Close()
			for b.Loop() {
				s := New(Config{Connections: 16, PerHost: 8})
				src := &benchSource{n: n, hosts: 4, root: root, cfg: &segdl.Config{Client: notFound{}}}
				if err := s.Run(context.Background(), src); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/file")
		})
	}
}
