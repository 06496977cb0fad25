package segdl

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// BenchmarkDownload measures one file over unthrottled loopback with its
// sha256 verified, at several connection counts. Compare with
// `make bench` (one-large) for the peers.
func BenchmarkDownload(b *testing.B) {
	data := segdltest.Content(1, 256<<20)
	sum := sha256.Sum256(data)
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.PutBytes("/f", data)
	for _, conns := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			cfg := &Config{Client: NewClient(&http.Transport{MaxIdleConnsPerHost: 16}), MinSegment: 2 << 20}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r := fetch(b, b.TempDir(), Spec{URLs: []string{srv.URLOf("/f")}, Hash: sha256.New, Sum: sum[:]}, cfg, conns)
				if r.err != nil {
					b.Fatal(r.err)
				}
			}
		})
	}
}

// BenchmarkSmallFileDisk measures the disk side of a 4 KiB file, without
// the network: create the temporary file, write it, verify it (stat,
// read back, hash against its checksum), then publish it in batches of 64 (sync, name, directory fsync),
// with files without a name (Linux) and with named temporary files. One
// op is one file.
func BenchmarkSmallFileDisk(b *testing.B) {
	data := segdltest.Content(1, 4<<10)
	for _, c := range []struct {
		name  string
		named bool
	}{{"unnamed", false}, {"named", true}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			root, err := os.OpenRoot(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer root.Close()
			p := NewPublisher(root, PublisherConfig{})
			defer p.Close()
			cfg := testConfig()
			cfg.Publisher = p
			ops := osOps
			if c.named {
				ops.openAnon = noAnon
			}
			var batch []*Download
			n := 0
			cpu := processCPU()
			for b.Loop() {
				spec := withSum(Spec{URLs: []string{"http://example.invalid/f"}, Path: fmt.Sprintf("f%d", n), Size: -1}, data)
				d := New(root, spec, cfg, nil)
				n++
				d.ops = &ops
				f, _, _, dir, err := d.openPart()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.WriteAt(data, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := d.verify(b.Context(), f, int64(len(data))); err != nil {
					b.Fatal(err)
				}
				d.file, d.anon, d.dir, d.state = f, dir != nil, dir, statePublishing
				if batch = append(batch, d); len(batch) == 64 {
					p.publish(batch)
					batch = nil
				}
			}
			p.publish(batch)
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkNew measures what a scheduler's dispatching goroutine pays per
// file to create its Download (allocs/op): the Config's defaulted copy is
// shared and the URL is parsed later, by the file's first request.
func BenchmarkNew(b *testing.B) {
	cfg := &Config{}
	spec := Spec{URLs: []string{"http://127.0.0.1:8080/data/f00001.bin"}, Path: "data/f00001.bin", Size: -1}
	b.ReportAllocs()
	for b.Loop() {
		New(nil, spec, cfg, nil)
	}
}
