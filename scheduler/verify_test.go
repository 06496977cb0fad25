package scheduler

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// gateHash is a SHA-256 whose writes wait for open: a file whose final
// verification takes as long as the test says.
type gateHash struct {
	hash.Hash
	open    <-chan struct{}
	timeout <-chan struct{} // the test gave up: let the run end
}

func (g gateHash) Write(p []byte) (int, error) {
	select {
	case <-g.open:
	case <-g.timeout:
	}
	return g.Hash.Write(p)
}

// gateSource is a Source whose file 0 verifies only once file 1 is done.
type gateSource struct {
	root    *os.Root
	urls    []string
	sums    [][]byte
	cfg     *segdl.Config
	open    chan struct{}
	timeout <-chan struct{}
	once    sync.Once
	mu      sync.Mutex
	order   []int
}

func (s *gateSource) Len() int          { return len(s.urls) }
func (s *gateSource) Host(i int) string { return "h" }
func (s *gateSource) Start(i int, notify func()) *segdl.Download {
	spec := segdl.Spec{URLs: []string{s.urls[i]}, Path: fmt.Sprintf("f%d", i), Size: -1, Hash: sha256.New, Sum: s.sums[i]}
	if i == 0 {
		spec.Hash = func() hash.Hash { return gateHash{sha256.New(), s.open, s.timeout} }
	}
	return segdl.New(s.root, spec, s.cfg, notify)
}
func (s *gateSource) Finished(i int, d *segdl.Download) {
	s.mu.Lock()
	s.order = append(s.order, i)
	s.mu.Unlock()
	if i == 1 {
		s.once.Do(func() { close(s.open) })
	}
}

// With one connection in the budget, a file being verified must not hold
// it: the next file downloads meanwhile. If the verification held the slot,
// file 1 could never start and file 0 never finish.
func TestVerificationHoldsNoConnection(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	src := &gateSource{root: root, open: make(chan struct{}),
		cfg: &segdl.Config{Client: segdl.NewClient(&http.Transport{}), MinSegment: 64 << 10, ChunkSize: 32 << 10}}
	for i := range 2 {
		data := segdltest.Content(uint64(i+1), 100<<10)
		srv.PutBytes(fmt.Sprintf("/f%d", i), data)
		sum := sha256.Sum256(data)
		src.urls = append(src.urls, srv.URLOf(fmt.Sprintf("/f%d", i)))
		src.sums = append(src.sums, sum[:])
	}
	s := New(Config{Connections: 1, PerHost: 1, PerFile: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	src.timeout = ctx.Done()
	if err := s.Run(ctx, src); err != nil {
		t.Fatalf("Run = %v; want both files (file 1 never got the slot file 0 verified in?)", err)
	}
	if fmt.Sprint(src.order) != "[1 0]" {
		t.Errorf("finished in order %v; want [1 0]: file 1 while file 0 verified", src.order)
	}
}

// enterHash is a SHA-256 whose first write says so, then waits for open.
type enterHash struct {
	hash.Hash
	entered func()
	open    <-chan struct{}
	once    *sync.Once
}

func (e enterHash) Write(p []byte) (int, error) {
	e.once.Do(e.entered)
	<-e.open
	return e.Hash.Write(p)
}

// Files verifying without a slot each hold an open file: new files start
// only while at most Connections of them do. With one connection, two
// files verifying (each started while the other was) hold back the third.
func TestFilesVerifyingWithoutASlotAreBounded(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	open := make(chan struct{})
	entered := make(chan int, 3)
	src := &boundSource{root: root, open: open, entered: entered,
		cfg: &segdl.Config{Client: segdl.NewClient(&http.Transport{}), MinSegment: 64 << 10, ChunkSize: 32 << 10}}
	for i := range 3 {
		data := segdltest.Content(uint64(i+1), 10<<10)
		srv.PutBytes(fmt.Sprintf("/f%d", i), data)
		sum := sha256.Sum256(data)
		src.urls = append(src.urls, srv.URLOf(fmt.Sprintf("/f%d", i)))
		src.sums = append(src.sums, sum[:])
	}
	s := New(Config{Connections: 1, PerHost: 1, PerFile: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, src) }()
	for range 2 {
		select {
		case <-entered:
		case <-ctx.Done():
			t.Fatal("two files never reached their verification")
		}
	}
	select {
	case <-entered:
		t.Error("a third file started while two verified without a slot (Connections 1)")
	case <-time.After(300 * time.Millisecond):
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests while two files verified; want 2", n)
	}
	close(open)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if len(src.order) != 3 {
		t.Errorf("%d files finished; want 3", len(src.order))
	}
}

// boundSource is a Source whose files all wait in their verification
// until open is closed, saying on entered when they get there.
type boundSource struct {
	root    *os.Root
	urls    []string
	sums    [][]byte
	cfg     *segdl.Config
	open    chan struct{}
	entered chan int
	mu      sync.Mutex
	order   []int
}

func (s *boundSource) Len() int          { return len(s.urls) }
func (s *boundSource) Host(i int) string { return "h" }
func (s *boundSource) Start(i int, notify func()) *segdl.Download {
	spec := segdl.Spec{URLs: []string{s.urls[i]}, Path: fmt.Sprintf("f%d", i), Size: -1, Sum: s.sums[i]}
	spec.Hash = func() hash.Hash {
		return enterHash{Hash: sha256.New(), entered: func() { s.entered <- i }, open: s.open, once: &sync.Once{}}
	}
	return segdl.New(s.root, spec, s.cfg, notify)
}
func (s *boundSource) Finished(i int, d *segdl.Download) {
	s.mu.Lock()
	s.order = append(s.order, i)
	s.mu.Unlock()
}
