package segdl

import (
	"crypto/sha256"
	"fmt"
	"net/http"
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
