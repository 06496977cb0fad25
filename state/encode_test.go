package state

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// TestRecordLines: a record is written as the same bytes json.Marshal
// writes (so a log written by any version reads back the same), for the
// shapes a run writes: checksums, quoted ETags, dates, deletions, and
// paths that JSON escapes.
func TestRecordLines(t *testing.T) {
	for _, r := range []Record{
		{Path: "file-0001.bin", Size: 4096, ModTime: 1764000000123456789, Checksum: "sha256:" + fmt.Sprintf("%064x", 7)},
		{Path: "a/b.bin", Size: 0, ModTime: -1, ETag: `"5-4096"`, LastModified: "Tue, 14 Nov 2023 22:13:20 GMT", URL: "sha256:ab"},
		{Path: "gone", Deleted: true},
		{Path: "theirs.bin", Size: 5, Checksum: "sha256:00", Found: true},
		{Path: `back\slash "quoted"`, ETag: `W/"x\y"`},
		{Path: "tab\there\nnew line", Size: 1},
		{Path: "<b>&amp.bin", Size: 1},
		{Path: "über/日本.bin", ETag: "\xff\xfe", Size: 2},
		{Path: "sep\u2028arator", Size: 3},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRecord(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want)+"\n" {
			t.Errorf("record %+v:\n got %s\nwant %s", r, got, want)
		}
	}
}

// FuzzRecordLine: for any record, the line written is byte for byte
// json.Marshal's (which the log's reader decodes).
func FuzzRecordLine(f *testing.F) {
	f.Add("file.bin", int64(4096), int64(1), "sha256:00", `"e"`, "Mon", "u", false, true)
	f.Add("a\\\"<>&\x00\x7f\u2029", int64(-5), int64(0), "", "", "", "", true, false)
	f.Fuzz(func(t *testing.T, p string, size, mod int64, c, e, l, u string, del, found bool) {
		r := Record{Path: p, Size: size, ModTime: mod, Checksum: c, ETag: e, LastModified: l, URL: u, Deleted: del, Found: found}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRecord([]byte("x"), r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "x"+string(want)+"\n" {
			t.Fatalf("record %+v:\n got %q\nwant %q", r, got[1:], string(want)+"\n")
		}
	})
}

// BenchmarkPutAll: the state log write of one batch of published files.
func BenchmarkPutAll(b *testing.B) {
	root, err := os.OpenRoot(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	s, err := Open(root, "")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	recs := make([]Record, 256)
	for i := range recs {
		recs[i] = Record{Path: fmt.Sprintf("file-%04d.bin", i), Size: 4096, ModTime: 1764000000123456789,
			Checksum: "sha256:" + fmt.Sprintf("%064x", i), ETag: fmt.Sprintf(`"%x"`, i), LastModified: "Tue, 14 Nov 2023 22:13:20 GMT", URL: "sha256:" + fmt.Sprintf("%064x", i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.PutAll(recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
