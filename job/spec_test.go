package job

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
)

// The Specs a run builds name each file's own URLs, even though files of
// one URL share a chunk for them, and hash with the file's algorithm.
func TestSpecBuilder(t *testing.T) {
	var b specBuilder
	files := make([]manifest.File, 600) // more than one chunk
	for i := range files {
		files[i] = manifest.File{URL: fmt.Sprintf("http://h/%d", i), Path: fmt.Sprint(i), Size: -1}
		switch i % 3 {
		case 1:
			files[i].Checksum = manifest.Checksum{Algo: "sha512", Sum: make([]byte, sha512.Size)}
		case 2:
			files[i].Mirrors = []string{fmt.Sprintf("http://m/%d", i)}
			files[i].Checksum = manifest.Checksum{Algo: "md5", Sum: make([]byte, md5.Size)}
		}
	}
	specs := make([]segdlSpec, len(files))
	for i := range files {
		s := b.spec(&files[i])
		specs[i] = segdlSpec{urls: s.URLs, size: s.Hash().Size()}
	}
	for _, s := range specs {
		// A caller that appends to its list must not write into the next file's.
		_ = append(s.urls, "http://extra/")
	}
	for i, s := range specs {
		want := []string{files[i].URL}
		wantSize := sha256.Size
		switch i % 3 {
		case 1:
			wantSize = sha512.Size
		case 2:
			want = append(want, files[i].Mirrors...)
			wantSize = md5.Size
		}
		if fmt.Sprint(s.urls) != fmt.Sprint(want) || s.size != wantSize {
			t.Errorf("file %d: URLs %v, digest of %d bytes; want %v, %d", i, s.urls, s.size, want, wantSize)
		}
	}
}

type segdlSpec struct {
	urls []string
	size int
}

// sumText is the checksum's text as the manifest writes it.
func TestSumText(t *testing.T) {
	sum := []byte{0x01, 0xab, 0xff}
	for _, c := range []manifest.Checksum{{}, {Algo: "sha256"}, {Algo: "sha512"}, {Algo: "sha1"}, {Algo: "md5"}} {
		f := &manifest.File{Checksum: c}
		want := manifest.Checksum{Algo: c.Algo, Sum: sum}
		if c.IsZero() {
			want.Algo = "sha256"
		}
		if got := sumText(f, sum); got != want.String() {
			t.Errorf("sumText(%q) = %q; want %q", c.Algo, got, want.String())
		}
	}
}
