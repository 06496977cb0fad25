package job

import (
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/state"
)

func TestDecide(t *testing.T) {
	const url = "https://example.com/a.bin"
	sumA := "sha256:" + strings.Repeat("a", 64)
	sumB := "sha256:" + strings.Repeat("b", 64)
	file := func(sum string, size int64) *manifest.File {
		f := &manifest.File{URL: url, Path: "a.bin", Size: size}
		if sum != "" {
			c, err := manifest.ParseChecksum(sum)
			if err != nil {
				t.Fatal(err)
			}
			f.Checksum = c
		}
		return f
	}
	disk := OnDisk{Exists: true, Size: 100, ModTime: 7}
	same := state.Record{Path: "a.bin", Size: 100, ModTime: 7, Checksum: sumA}
	withETag := state.Record{Path: "a.bin", Size: 100, ModTime: 7, ETag: `"v1"`, URL: state.URLDigest(url)}
	cases := []struct {
		name     string
		f        *manifest.File
		disk     OnDisk
		rec      state.Record
		recorded bool
		p        Policy
		want     Action
	}{
		{"a file not at its path is fetched", file(sumA, 100), OnDisk{}, same, true, Policy{}, Fetch},
		{"not at its path is fetched even with skip_existing", file("", -1), OnDisk{}, state.Record{}, false, Policy{SkipExisting: true}, Fetch},
		{"recorded with its checksum and unchanged is skipped unread", file(sumA, 100), disk, same, true, Policy{}, Skip},
		{"recorded and unchanged, without a manifest size, is skipped", file(sumA, -1), disk, same, true, Policy{}, Skip},
		{"-verify hashes a recorded, unchanged file", file(sumA, 100), disk, same, true, Policy{Verify: true}, Hash},
		{"a size-only match is hashed, never trusted", file(sumA, 100), disk, state.Record{}, false, Policy{}, Hash},
		{"a recorded file whose mtime changed is hashed", file(sumA, 100), OnDisk{Exists: true, Size: 100, ModTime: 8}, same, true, Policy{}, Hash},
		{"a recorded file whose size changed is fetched (the manifest's size differs)", file(sumA, 100), OnDisk{Exists: true, Size: 99, ModTime: 7}, same, true, Policy{}, Fetch},
		{"a changed checksum in the manifest is hashed, not skipped", file(sumB, 100), disk, same, true, Policy{}, Hash},
		{"with a checksum, skip_existing still hashes", file(sumA, 100), disk, state.Record{}, false, Policy{SkipExisting: true}, Hash},
		{"a file of another size than the manifest's is fetched", file(sumA, 200), disk, state.Record{}, false, Policy{}, Fetch},
		{"no checksum, no record: fetched again", file("", -1), disk, state.Record{}, false, Policy{}, Fetch},
		{"no checksum, recorded without a validator: fetched again", file("", -1), disk, state.Record{Path: "a.bin", Size: 100, ModTime: 7, Checksum: sumA}, true, Policy{}, Fetch},
		{"no checksum with skip_existing: trusted", file("", -1), disk, state.Record{}, false, Policy{SkipExisting: true}, Trust},
		{"no checksum with skip_existing and the manifest's size: trusted", file("", 100), disk, state.Record{}, false, Policy{SkipExisting: true}, Trust},
		{"no checksum with skip_existing, of another size than the manifest's: fetched", file("", 200), disk, state.Record{}, false, Policy{SkipExisting: true}, Fetch},
		{"no checksum, recorded with an ETag, of another size than the manifest's: fetched", file("", 200), disk, withETag, true, Policy{}, Fetch},
		{"recorded with its checksum and unchanged, of another size than the manifest's: fetched", file(sumA, 200), disk, same, true, Policy{}, Fetch},
		{"no checksum, recorded with an ETag from this URL: conditional", file("", -1), disk, withETag, true, Policy{}, Conditional},
		{"no checksum, recorded with Last-Modified from this URL: conditional", file("", -1), disk,
			state.Record{Path: "a.bin", Size: 100, ModTime: 7, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT", URL: state.URLDigest(url)}, true, Policy{}, Conditional},
		{"a validator from another URL is not sent", file("", -1), disk,
			state.Record{Path: "a.bin", Size: 100, ModTime: 7, ETag: `"v1"`, URL: state.URLDigest("https://other.example/a.bin")}, true, Policy{}, Fetch},
		{"a validator of a file changed since is not sent", file("", -1), OnDisk{Exists: true, Size: 100, ModTime: 9}, withETag, true, Policy{}, Fetch},
		{"a stale record (recorded false) is not trusted", file(sumA, 100), disk, same, false, Policy{}, Hash},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Decide(c.f, c.disk, c.rec, c.recorded, c.p); got != c.want {
				t.Errorf("Decide = %v; want %v", got, c.want)
			}
		})
	}
}
