package job

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// BenchmarkRunSmallFiles runs a manifest of many small files, with
// checksums, from an in-process loopback origin through the real
// scheduler, transport and disk path: what `make bench` many-small
// measures, without the peers. ns/file and allocs/op (per run of the
// whole manifest; the origin's allocations count too) are the numbers to
// watch for the client's cost per file; conns/run shows that connections
// are reused across files.
func BenchmarkRunSmallFiles(b *testing.B) {
	for _, c := range []struct{ files, size, conns int }{{1000, 4 << 10, 16}, {2000, 1 << 10, 32}} {
		b.Run(fmt.Sprintf("%dx%dB-c%d", c.files, c.size, c.conns), func(b *testing.B) {
			srv := segdltest.NewServer()
			defer srv.Close()
			var toml strings.Builder
			fmt.Fprintf(&toml, "[settings]\ndest = \"out\"\nconnections = %d\nper_host = %d\n", c.conns, c.conns)
			for i := range c.files {
				data := segdltest.Content(uint64(i), c.size)
				srv.PutBytes(fmt.Sprintf("/f%05d", i), data)
				fmt.Fprintf(&toml, "[[file]]\nurl = %q\nchecksum = \"sha256:%x\"\nsize = %d\n", srv.URLOf(fmt.Sprintf("/f%05d", i)), sha256.Sum256(data), c.size)
			}
			dir := b.TempDir()
			text := []byte(toml.String())
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				m, err := manifest.Parse(filepath.Join(dir, fmt.Sprintf("r%d", n), "m.toml"), text)
				if err != nil {
					b.Fatal(err)
				}
				res, err := Run(context.Background(), m, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if got := res.Count(Downloaded); got != c.files {
					b.Fatalf("downloaded %d of %d files", got, c.files)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.files), "ns/file")
			// Connections are kept alive from file to file: about the
			// budget's worth per run, not one per file.
			b.ReportMetric(float64(srv.Stats().Connections)/float64(b.N), "conns/run")
		})
	}
}
