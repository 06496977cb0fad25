package manifest

import (
	"bytes"
	"fmt"
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

// BenchmarkParse measures loading large manifests; run with -benchmem. The
// issue's budget: 100k entries in under 2 s and 150 MiB.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		data := genManifest(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse("m.toml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
