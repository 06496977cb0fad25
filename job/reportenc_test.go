package job

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/scheduler"
)

// maxWriter records the largest single write.
type maxWriter struct {
	bytes.Buffer
	max int
}

func (w *maxWriter) Write(p []byte) (int, error) {
	w.max = max(w.max, len(p))
	return w.Buffer.Write(p)
}

// A report is written exactly as json.MarshalIndent(rep, "", "  ") and a
// newline, as docs/report.md and readers of earlier reports expect, but a
// file's entry at a time: the report of a 100,000-file run is tens of MB
// of JSON, which is not built in memory at once.
func TestReportEncodesAsMarshalIndentInPieces(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	entry := func(i int) ReportFile {
		return ReportFile{URL: fmt.Sprintf("https://h.example/a<&>%d?q=\u2028", i), Path: fmt.Sprintf("d/é-%d", i), Size: int64(i),
			Checksum: "sha256:00ff", Status: "downloaded", Attempts: 1, BytesFetched: int64(i), Duration: 0.25, Error: map[bool]string{true: "boom \"x\""}[i%3 == 0]}
	}
	many := make([]ReportFile, 2000)
	for i := range many {
		many[i] = entry(i)
	}
	for _, c := range []struct {
		name  string
		files []ReportFile
	}{
		{"nil files", nil},
		{"no files", []ReportFile{}},
		{"one file", []ReportFile{entry(0)}},
		{"three files", []ReportFile{entry(0), entry(1), entry(2)}},
		{"2000 files", many},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := &Report{Version: 1, Command: "run", Manifest: "m.toml", Dest: "out", Started: started, Duration: 1.5, ExitCode: 1,
				Hosts: []ReportHost{{Host: "h.example:443", Cap: 8, MinCap: 4, Throttled: true}}, Files: c.files,
				Merged: &ReportMerge{Reports: 2, Split: 2, Missing: []string{}}}
			want, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, '\n')
			var w maxWriter
			if err := rep.encodeAll(&w); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.Bytes(), want) {
				t.Fatalf("encode wrote\n%s\nwant (MarshalIndent)\n%s", w.Bytes(), want)
			}
			if len(c.files) > 1000 && w.max > 128<<10 {
				t.Errorf("encode wrote %d bytes in one piece of %d; want pieces of at most 128 KiB", len(want), w.max)
			}
		})
	}
}

// WriteReport writes the same bytes as NewReport(...).Write, entries made
// one at a time from the result: a run's files in their manifest order,
// other shards' left out, digests, errors and totals as NewReport says.
func TestWriteReportIsNewReportWritten(t *testing.T) {
	m := &manifest.Manifest{Name: "m.toml", Dest: "out"}
	outcomes := []Outcome{Downloaded, OtherShard, Failed, Skipped, Pending, Downloaded, OtherShard}
	res := &Result{Manifest: m, Command: "run", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: 2 * time.Second,
		Hosts: []HostResult{{HostStatus: scheduler.HostStatus{Host: "h:443", Cap: 4, ConfigCap: 8, MinCap: 2}}}}
	for i, o := range outcomes {
		sum := sha256.Sum256([]byte{byte(i)})
		m.Files = append(m.Files, manifest.File{URL: fmt.Sprintf("https://user:pw@h/%d?token=x", i), Path: fmt.Sprintf("d/%d", i)})
		fr := FileResult{Outcome: o, Size: int64(100 * i), Attempts: int64(i), Fetched: int64(10 * i), Duration: time.Duration(i) * time.Millisecond}
		if o == Downloaded || o == Skipped {
			fr.Sum = sum[:]
		}
		if o == Failed {
			fr.Err = "segdl: 404 Not Found"
		}
		if o != OtherShard {
			res.InShard++
		}
		res.Files = append(res.Files, fr)
	}
	for _, r := range []*Result{res, {Manifest: &manifest.Manifest{Name: "empty.toml"}, Command: "verify"}} {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
		if err := NewReport(r, 1).Write(a); err != nil {
			t.Fatal(err)
		}
		if err := WriteReport(b, r, 1); err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(a)
		got, _ := os.ReadFile(b)
		if !bytes.Equal(got, want) {
			t.Errorf("WriteReport wrote\n%s\nwant (NewReport().Write)\n%s", got, want)
		}
	}
	// One entry at a time: each overwrites the last, none is kept.
	var first *ReportFile
	n := 0
	for rf := range reportFiles(res) {
		if first == nil {
			first = rf
		}
		if rf != first {
			t.Fatalf("entry %d is a new ReportFile; want the one entry reused", n)
		}
		n++
	}
	if n != res.InShard {
		t.Errorf("reportFiles yielded %d entries; want %d", n, res.InShard)
	}
}

// A report the disk refuses (full, over a size limit) names the report's
// path, not the temporary file it was being written to, and leaves the
// previous report in place.
func TestReportWriteErrorNamesTheReport(t *testing.T) {
	name := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(name, []byte("previous\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var rep Report
	err := rep.writeFile(name, func(w io.Writer) error {
		return &fs.PathError{Op: "write", Path: name + ".tmp", Err: syscall.ENOSPC}
	})
	if err == nil || !strings.HasPrefix(err.Error(), name+": ") || strings.Contains(err.Error(), ".tmp") {
		t.Errorf("error = %v; want it to begin with %q and not name the temporary file", err, name+": ")
	}
	if b, _ := os.ReadFile(name); string(b) != "previous\n" {
		t.Errorf("report now holds %q; want the previous one", b)
	}
}
