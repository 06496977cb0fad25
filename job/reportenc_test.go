package job

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
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
			if err := rep.encode(&w); err != nil {
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
