package segdl

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// TestChecksumIsOfTheBytesOnDisk changes a byte of the temporary file
// right after it is written, before anything could have read it back:
// the checksum must fail, and the one clean refetch must publish the right
// file. A checksum of the bytes as they arrived would publish the changed
// byte. The cases cover each way a file is hashed: all at the end (a small
// file), while it downloads (early in the prefix, or in the last
// bytes, left for the end), as one stream, and with a disk so slow that
// hashing still runs when the last byte is written.
func TestChecksumIsOfTheBytesOnDisk(t *testing.T) {
	cases := []struct {
		name    string
		size    int
		at      int64 // the byte changed on disk
		conns   int
		noRange bool
		slow    bool // each read back takes a while
	}{
		{name: "a small file, hashed once complete", size: 64 << 10, at: 1000, conns: 1},
		{name: "a large file, a byte early in its prefix", size: 4 << 20, at: 300 << 10, conns: 4},
		{name: "a large file, a byte in its last bytes", size: 4 << 20, at: 4<<20 - 1000, conns: 4},
		{name: "a file fetched as one stream", size: 2 << 20, at: 1 << 20, conns: 1, noRange: true},
		{name: "a slow disk, hashing still under way at the end", size: 2 << 20, at: 600 << 10, conns: 4, slow: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			data := segdltest.Content(3, c.size)
			srv.Put("/f", &segdltest.File{Data: data, ETag: `"v1"`, NoRange: c.noRange})
			var changed atomic.Bool
			ops := osOps
			ops.writeAt = func(f *os.File, b []byte, off int64) (int, error) {
				n, err := f.WriteAt(b, off)
				if off <= c.at && c.at < off+int64(n) && changed.CompareAndSwap(false, true) {
					f.WriteAt([]byte{^b[c.at-off]}, c.at) // another writer, or a bad disk
				}
				return n, err
			}
			r := fetchWith(t, "", withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data), testConfig(), c.conns, func(d *Download) {
				d.ops = &ops
				if c.slow {
					// Fast at first, so that hashing catches up and is
					// started again with the digest so far; then slow.
					d.ph = &prefixHash{read: func(f *os.File, p []byte, off int64) (int, error) {
						if off >= int64(c.size)/2 {
							time.Sleep(2 * time.Millisecond)
						}
						return f.ReadAt(p, off)
					}}
				}
			})
			if !changed.Load() {
				t.Fatal("no write covered the byte to change; the test tests nothing")
			}
			if r.err != nil || sha(r.data) != sha(data) {
				t.Fatalf("err %v; published %d bytes, right %v", r.err, len(r.data), sha(r.data) == sha(data))
			}
			whole := 0
			for _, q := range srv.Requests() {
				if rg := q.Header.Get("Range"); rg == "bytes=0-" || rg == "" {
					whole++
				}
			}
			if whole != 2 {
				t.Errorf("file fetched %d times; want the mismatch seen and one clean refetch", whole)
			}
		})
	}
}

// TestARestartForgetsTheDigest makes the server publish a new version as
// soon as the first bytes of the old one have been hashed: the download
// starts over, and the digest of the old bytes must go with them, or the
// new file fails its checksum and is fetched a third time.
func TestARestartForgetsTheDigest(t *testing.T) {
	const size = 2 << 20
	v1 := segdltest.Content(1, size)
	// The new version is as long, or too short to start a hasher of its
	// own (under hashMin): then only the digest's generation keeps the
	// old version's digest from being taken up at verify.
	for _, c := range []struct {
		conns, v2size int
		chunk         int   // ChunkSize: 4 x it of prefix start the hasher
		cut           int64 // the first response breaks off here
	}{{1, size, 32 << 10, 512 << 10}, {4, size, 32 << 10, 512 << 10}, {1, 120 << 10, 16 << 10, 96 << 10}} {
		conns, v2 := c.conns, segdltest.Content(2, c.v2size)
		srv := segdltest.NewServer()
		srv.RatePerConn.Store(4 << 20)
		srv.Put("/f", &segdltest.File{Data: v1, ETag: `"v1"`})
		// The first response breaks off, so that the rest is asked for
		// again and the new version is seen mid-download.
		srv.Fault = nth(segdltest.Fault{Kind: segdltest.Truncate, After: c.cut}, 1)
		cfg := testConfig()
		cfg.ChunkSize = c.chunk
		var once sync.Once
		hashedOld := false
		r := fetchWith(t, "", withSum(Spec{URLs: []string{srv.URLOf("/f")}}, v2), cfg, conns, func(d *Download) {
			d.ph = &prefixHash{read: func(f *os.File, p []byte, off int64) (int, error) {
				n, err := f.ReadAt(p, off)
				once.Do(func() {
					hashedOld = string(p[:n]) == string(v1[off:off+int64(n)])
					srv.Put("/f", &segdltest.File{Data: v2, ETag: `"v2"`})
				})
				return n, err
			}}
		})
		whole := 0
		for _, q := range srv.Requests() {
			if q.Header.Get("Range") == "bytes=0-" {
				whole++
			}
		}
		srv.Close()
		if !hashedOld {
			t.Fatalf("conns=%d: the first bytes hashed were not the old version's; the test tests nothing", conns)
		}
		if r.err != nil || sha(r.data) != sha(v2) {
			t.Fatalf("conns=%d: err %v; published %d bytes: %s", conns, r.err, len(r.data), describe(r.data, v1, v2))
		}
		if whole != 2 {
			t.Errorf("conns=%d: the file was fetched from byte 0 %d times; want 2 (the old version, then the new)", conns, whole)
		}
	}
}

// TestInterruptStopsHashing interrupts a download while its prefix is
// being hashed: the download must not end (Done) while the hashing
// goroutine still reads its file, and the next run must resume the bytes
// kept, hash them from the disk and publish the right file.
func TestInterruptStopsHashing(t *testing.T) {
	const size = 4 << 20
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(2 << 20)
	data := segdltest.Content(5, size)
	srv.PutBytes("/f", data)
	dir := t.TempDir()
	root := openRoot(t, dir)
	cfg := testConfig()
	cfg.SyncBytes = 64 << 10
	spec := withSum(Spec{URLs: []string{srv.URLOf("/f")}, Path: "out.bin", Size: -1}, data)
	wake := make(chan struct{}, 1)
	d := New(root, spec, cfg, func() { poke(wake) })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var once sync.Once
	var endedWhileReading, reads atomic.Int64
	looked := make(chan struct{}) // the read has seen whether the download ended
	d.ph = &prefixHash{read: func(f *os.File, p []byte, off int64) (int, error) {
		reads.Add(1)
		once.Do(func() {
			cancel() // Ctrl-C while this read is under way
			select {
			case <-d.Done():
				endedWhileReading.Add(1)
			case <-time.After(300 * time.Millisecond):
			}
			close(looked)
		})
		return f.ReadAt(p, off)
	}}
	drive(ctx, d, wake, 4)
	<-d.Done()
	if reads.Load() == 0 {
		t.Fatal("nothing was hashed before the end; the test tests nothing")
	}
	<-looked
	if endedWhileReading.Load() != 0 {
		t.Error("the download ended while its hashing goroutine was still reading the file")
	}
	if !errors.Is(d.Err(), ErrInterrupted) {
		t.Fatalf("err = %v; want ErrInterrupted", d.Err())
	}
	kept := d.Progress().Written
	if kept == 0 || kept == size {
		t.Fatalf("%d of %d bytes kept; want an interrupted download", kept, size)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.bin")); err == nil {
		t.Fatal("a file is at the final path after an interrupt")
	}

	before := srv.Stats().BytesSent
	r := fetch(t, dir, spec, testConfig(), 4)
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("resume: err %v; published %d bytes, right %v", r.err, len(r.data), sha(r.data) == sha(data))
	}
	if p := r.d.Progress(); p.Resumed == 0 {
		t.Fatal("the next run resumed nothing")
	}
	// The kept bytes are hashed from the disk, not fetched again: a
	// digest that missed them would fail and refetch the whole file.
	if again := srv.Stats().BytesSent - before; again >= size {
		t.Errorf("the resumed run fetched %d bytes of %d; want only what was missing", again, size)
	}
	assertNoLitter(t, dir)
}

// TestPiecesInFileOrder claims connections for a large file: with a
// checksum, each takes the next piece of the file in order, so that the
// complete prefix grows with all of them, pieces long enough that their
// requests cost little; without one, the file is split into as many
// ranges as connections, as before.
func TestPiecesInFileOrder(t *testing.T) {
	const size = 64 << 20
	sum := sha256.Sum256(nil)
	cases := []struct {
		name string
		spec Spec
		// holes are the ranges still to fetch (a resumed file); none: all.
		holes [][2]int64
		size  int64 // of the file; 0 means 64 MiB
		// cost is what a request costs to its first byte, as measured so
		// far (zero: not yet); others the connections already running.
		cost   time.Duration
		others int
		want   [][2]int64 // the segments of the first claims, in order
	}{
		{name: "with a checksum, pieces in order",
			spec: Spec{Hash: sha256.New, Sum: sum[:]},
			want: [][2]int64{{0, 4 << 20}, {4 << 20, 8 << 20}, {8 << 20, 12 << 20}, {12 << 20, 16 << 20}}},
		{name: "with a checksum, resumed: pieces of the holes, in order",
			spec:  Spec{Hash: sha256.New, Sum: sum[:]},
			holes: [][2]int64{{40 << 20, size}, {10 << 20, 15 << 20}},
			want:  [][2]int64{{10 << 20, 15 << 20}, {40 << 20, 44 << 20}, {44 << 20, 48 << 20}}},
		{name: "with a checksum, a busy machine, 20 ms to the first byte: longer pieces, fewer requests",
			spec: Spec{Hash: sha256.New, Sum: sum[:]}, size: 1 << 30, cost: 20 * time.Millisecond, others: 7,
			// sqrt(1 GiB x 0.02 s x 1 GB/s) / N, for N = 8 (at least),
			// 8, 9 connections, rounded up to 64 KiB.
			want: [][2]int64{{0, 280 << 16}, {280 << 16, 560 << 16}, {560 << 16, 809 << 16}}},
		{name: "with a checksum, 80 ms to the first byte: a file hashed in less than 16 requests' time is split as without one",
			spec: Spec{Hash: sha256.New, Sum: sum[:]}, cost: 80 * time.Millisecond, others: 7,
			want: [][2]int64{{0, size}, {32 << 20, size}, {16 << 20, 32 << 20}}},
		{name: "with a checksum, on loopback: 4 MiB pieces",
			spec: Spec{Hash: sha256.New, Sum: sum[:]}, cost: 200 * time.Microsecond, others: 7,
			want: [][2]int64{{0, 4 << 20}, {4 << 20, 8 << 20}}},
		{name: "with a checksum, a file under pieceMin, on loopback: split as without one",
			spec: Spec{Hash: sha256.New, Sum: sum[:]}, size: 32 << 20, cost: 200 * time.Microsecond, others: 7,
			want: [][2]int64{{0, 32 << 20}, {16 << 20, 32 << 20}, {8 << 20, 16 << 20}}},
		{name: "without a checksum, ranges split from the one that ends last",
			want: [][2]int64{{0, size}, {32 << 20, size}, {16 << 20, 32 << 20}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.spec.URLs = []string{"http://example.com/f"}
			c.spec.Path = "f"
			if c.size == 0 {
				c.size = size
			}
			c.spec.Size = c.size
			cfg := testConfig()
			cfg.MinSegment = 2 << 20
			d := New(nil, c.spec, cfg, nil)
			d.size, d.splittable, d.state = c.size, true, stateRunning
			d.reqCost, d.active = c.cost, c.others
			holes := c.holes
			if holes == nil {
				holes = [][2]int64{{0, c.size}}
			}
			for _, h := range holes {
				d.segs = append(d.segs, &segment{pos: h[0], end: h[1]})
			}
			for i := range c.want {
				task := d.Claim()
				if task == nil {
					t.Fatalf("Claim() = nil after %d claims", i)
				}
				if got := [2]int64{task.seg.pos, task.seg.end}; got != c.want[i] {
					t.Errorf("claim %d fetches [%d, %d) MiB; want [%d, %d) MiB", i, got[0]>>20, got[1]>>20, c.want[i][0]>>20, c.want[i][1]>>20)
				}
			}
		})
	}
}

// TestPiecesPayForTheirRequests downloads a checksummed file from a server
// that takes 20 ms to answer each request: pieces grow with what a request
// is measured to cost (to about 1 MiB over 4 connections), so the server
// sees a few requests, not one per 2 x MinSegment (64).
func TestPiecesPayForTheirRequests(t *testing.T) {
	const size = 8 << 20
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.Latency = 20 * time.Millisecond
	srv.RatePerConn.Store(8 << 20)
	data := segdltest.Content(9, size)
	srv.PutBytes("/f", data)
	cfg := testConfig() // pieces of at least 128 KiB: 64 of them
	r := fetch(t, "", withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data), cfg, 4)
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("err %v; published %d bytes, right %v", r.err, len(r.data), sha(r.data) == sha(data))
	}
	if n := srv.Stats().Requests; n > 20 {
		t.Errorf("server saw %d requests for %d MiB; want pieces that pay for their requests (at most 20)", n, size>>20)
	}
}

// What sizes the pieces is a request's time to its first byte: a request
// that stalls, and the wait before its retry, are not a request's cost.
// Counted, one stall of a second turned pieces off for files up to
// several GB (16 x c x 1 GB/s), and the hash no longer overlapped the download.
func TestRequestCostIsNotAStall(t *testing.T) {
	const size = 32 << 20
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(16 << 20)
	data := segdltest.Content(7, size)
	srv.PutBytes("/f", data)
	srv.Fault = nth(segdltest.Fault{Kind: segdltest.Stall, After: 0}, 3)
	cfg := testConfig()
	cfg.MinSegment = 1 << 20
	cfg.StallTimeout = 2 * time.Second
	var d *Download
	r := fetchWith(t, "", withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data), cfg, 4, func(x *Download) { d = x })
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("err %v; want the file", r.err)
	}
	d.mu.Lock()
	c := d.reqCost
	d.mu.Unlock()
	// Counted, the stall alone weighs 0.3 x 2 s in the moving average.
	if c <= 0 || c >= cfg.StallTimeout/10 {
		t.Errorf("request cost %v after one stall of %v; want a loopback request's time to first byte", c, cfg.StallTimeout)
	}
}

// A file that gets one connection (per_file or per_host 1) and has one
// URL is not cut into pieces: its one range completes in file order
// anyway, and each piece would be one more request.
func TestOneConnectionNoPieces(t *testing.T) {
	const size = 48 << 20
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.Latency = time.Millisecond
	data := segdltest.Content(8, size)
	srv.PutBytes("/f", data)
	cfg := testConfig()
	cfg.MinSegment = 1 << 20
	cfg.MaxConns = 1
	r := fetch(t, "", withSum(Spec{URLs: []string{srv.URLOf("/f")}, Size: -1}, data), cfg, 1)
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("err %v; want the file", r.err)
	}
	if n := srv.Stats().Requests; n != 1 {
		t.Errorf("%d requests for one connection's file; want 1", n)
	}
}
