package segdl

import (
	"context"
	"crypto/sha256"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// testConfig is a Config with fast retries for tests.
func testConfig() *Config {
	return &Config{
		Client:        NewClient(&http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}),
		MinSegment:    64 << 10,
		Retries:       5,
		StallTimeout:  2 * time.Second,
		ChunkSize:     32 << 10,
		BackoffBase:   time.Millisecond,
		BackoffMax:    10 * time.Millisecond,
		MaxRetryAfter: 50 * time.Millisecond,
	}
}

// drive runs d with up to conns tasks at once, as a scheduler would, until
// it ends or ctx is done.
func drive(ctx context.Context, d *Download, wake chan struct{}, conns int) {
	var wg sync.WaitGroup
	running := 0
	var mu sync.Mutex
	for {
		select {
		case <-d.Done():
			wg.Wait()
			return
		case <-ctx.Done():
			wg.Wait()
			return
		default:
		}
		mu.Lock()
		for running < conns {
			t := d.Claim()
			if t == nil {
				break
			}
			running++
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(ctx)
				mu.Lock()
				running--
				mu.Unlock()
				poke(wake)
			}()
		}
		mu.Unlock()
		select {
		case <-wake:
		case <-d.Done():
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

type result struct {
	dir  string
	d    *Download
	err  error
	data []byte // the published file, nil if none
}

// fetch downloads url into a fresh directory (or dir, if set) and returns
// what ended up at the final path.
func fetch(t testing.TB, dir string, spec Spec, cfg *Config, conns int) result {
	t.Helper()
	return fetchOps(t, dir, spec, cfg, conns, nil)
}

// fetchOps is fetch with the download's file operations replaced by ops,
// if not nil.
func fetchOps(t testing.TB, dir string, spec Spec, cfg *Config, conns int, ops *fileOps) result {
	t.Helper()
	return fetchWith(t, dir, spec, cfg, conns, func(d *Download) {
		if ops != nil {
			d.ops = ops
		}
	})
}

// fetchWith is fetch with setup called on the download before it starts:
// tests replace its file operations or its clock.
func fetchWith(t testing.TB, dir string, spec Spec, cfg *Config, conns int, setup func(*Download)) result {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	// Closed on return, not at the test's end: benchmarks call this once
	// per iteration.
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if spec.Path == "" {
		spec.Path = "out.bin"
	}
	if spec.Size == 0 {
		spec.Size = -1
	}
	wake := make(chan struct{}, 1)
	d := New(root, spec, cfg, func() { poke(wake) })
	setup(d)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	drive(ctx, d, wake, conns)
	select {
	case <-d.Done():
	default:
		t.Fatalf("download of %s did not end", spec.Path)
	}
	r := result{dir: dir, d: d, err: d.Err()}
	if data, err := os.ReadFile(dir + "/" + spec.Path); err == nil {
		r.data = data
	}
	return r
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

func withSum(spec Spec, data []byte) Spec {
	s := sha256.Sum256(data)
	spec.Hash = sha256.New
	spec.Sum = s[:]
	return spec
}

var _ = segdltest.Content

// withOSDefaults fills the operations o leaves nil with the real ones.
func withOSDefaults(o *fileOps) *fileOps {
	def := osOps
	if o.open == nil {
		o.open = def.open
	}
	if o.writeAt == nil {
		o.writeAt = def.writeAt
	}
	if o.sync == nil {
		o.sync = def.sync
	}
	if o.writeJournal == nil {
		o.writeJournal = def.writeJournal
	}
	if o.rename == nil {
		o.rename = def.rename
	}
	if o.allocate == nil {
		o.allocate = def.allocate
	}
	if o.truncate == nil {
		o.truncate = def.truncate
	}
	if o.remove == nil {
		o.remove = def.remove
	}
	if o.close == nil {
		o.close = def.close
	}
	return o
}

// openRoot opens dir as a root, closed when the test ends.
func openRoot(t testing.TB, dir string) *os.Root {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}
