package manifest

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

func genManifest(n int) []byte {
	var b bytes.Buffer
	b.WriteString("[settings]\nconnections = 16\n\n")
	for i := range n {
		fmt.Fprintf(&b, "[[file]]\nurl = \"https://data.example.com/set/part-%07d.bin\"\nchecksum = \"sha256:%064x\"\nsize = %d\n\n", i, i, 4096+i)
	}
	return b.Bytes()
}

// genBenchManifest is the shape of make bench's manifests: a url and a
// sha256 checksum per [[file]], no size.
func genBenchManifest(n int) []byte {
	var b bytes.Buffer
	b.WriteString("[settings]\nconnections = 16\nper_host = 16\ndest = \"out\"\n\n")
	for i := range n {
		fmt.Fprintf(&b, "[[file]]\nurl = \"http://127.0.0.1:40123/f/%06d.bin\"\nchecksum = \"sha256:%064x\"\n\n", i, i)
	}
	return b.Bytes()
}

// BenchmarkParse measures loading large manifests: 5000 entries is the
// many-small benchmark's, 100,000 the size the issue calls normal; shape
// bench is make bench's (url and checksum), sized adds a size. Run with
// -benchmem; ns/entry, B/entry and allocs/entry are the per-entry cost of
// loading, live-B/entry what a loaded manifest keeps per entry.
func BenchmarkParse(b *testing.B) {
	for _, shape := range []struct {
		name string
		gen  func(int) []byte
	}{{"sized", genManifest}, {"bench", genBenchManifest}} {
		for _, n := range []int{1000, 5000, 100_000} {
			data := shape.gen(n)
			b.Run(fmt.Sprintf("%s/%d", shape.name, n), func(b *testing.B) {
				b.ReportAllocs()
				var ms0, ms1 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				for b.Loop() {
					if _, err := Parse("m.toml", data); err != nil {
						b.Fatal(err)
					}
				}
				runtime.ReadMemStats(&ms1)
				per := float64(b.N) * float64(n)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/entry")
				b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/per, "B/entry")
				b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/per, "allocs/entry")
				// What a run keeps: the manifest's live heap once the
				// decoder's garbage is collected.
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				m, _ := Parse("m.toml", data)
				runtime.GC()
				runtime.ReadMemStats(&ms1)
				b.ReportMetric(float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))/float64(n), "live-B/entry")
				runtime.KeepAlive(m)
			})
		}
	}
}

// BenchmarkDecodeBatch compares the two ways a batch of 1000 [[file]]
// tables of make bench's shape is decoded: fastFiles, and the TOML
// decoder that reads every other batch.
func BenchmarkDecodeBatch(b *testing.B) {
	_, batches := newLineIndex(genBenchManifest(batchSize)).split(batchSize)
	text := batches[0].text
	for _, c := range []struct {
		name      string
		reference bool
	}{{"fast", false}, {"decoder", true}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeBatch(text, c.reference); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batchSize, "ns/entry")
		})
	}
}
