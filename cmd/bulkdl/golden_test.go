package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden file:\ngot:\n%q\nwant:\n%q", name, got, want)
	}
}

// TestDisplayFrames renders bar frames and plain lines from fixed
// snapshots and a fixed clock: the second frame has fewer lines, so it must
// clear the rest.
func TestDisplayFrames(t *testing.T) {
	var buf bytes.Buffer
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	now := t0
	d := &display{w: &buf, mode: "bar", now: func() time.Time { return now }, termSize: func() (int, int) { return 100, 24 }}
	d.sampleLocked(0, t0)
	now = t0.Add(4 * time.Second)
	d.sampleLocked(50e6, now) // 12.5 MB/s
	d.drawLocked(snapshot{doneBytes: 40 << 20, totalBytes: 100 << 20, files: 104, done: 98, failed: 1, active: []activeFile{
		{path: "data/big-0001.bin", written: 30 << 20, size: 64 << 20, conns: 4},
		{path: "data/big-0002.bin", written: 10 << 20, size: 32 << 20, conns: 2},
		{path: "throttled.bin", written: 0, size: 4 << 20, waitUntil: now.Add(4 * time.Second), waitFor: &segdl.StatusError{Code: 503}},
	}})
	buf.WriteString("|frame 2|")
	d.drawLocked(snapshot{doneBytes: 90 << 20, totalBytes: 100 << 20, files: 104, done: 103, active: []activeFile{
		{path: "data/big-0001.bin", written: 54 << 20, size: 64 << 20, conns: 6},
	}})
	buf.WriteString("|clear|")
	d.clearLocked()
	buf.WriteString("|plain, sizes unknown: the bar counts files|")
	buf.WriteString(d.fitLine(snapshot{doneBytes: 512 << 20, totalBytes: 1 << 30, unknown: 2, files: 3, done: 1}, 100) + "\n")
	buf.WriteString("|stalled|")
	now = now.Add(5 * time.Second)
	d.sampleLocked(50e6, now)
	buf.WriteString(d.overall(snapshot{doneBytes: 90 << 20, totalBytes: 100 << 20, files: 2, done: 1, active: []activeFile{{path: "a", conns: 1}}}) + "\n")
	if regexp.MustCompile(`\x1b\[[0-9;]*m`).Match(buf.Bytes()) {
		t.Error("the display uses colour (an SGR escape); NO_COLOR must hold by construction")
	}
	golden(t, "display.golden", buf.Bytes())
}

func TestCheckPlanGolden(t *testing.T) {
	t.Setenv("BULKDL_GOLDEN_TOKEN", "never-shown")
	m, err := manifest.Parse("plan.toml", []byte(`[settings]
dest = "mirror"
connections = 12
rate = "50MB/s"
headers = { X-Team = "data" }
[hosts."a.example.com"]
connections = 3
rate = "5MB/s"
headers = { Authorization = "Bearer ${BULKDL_GOLDEN_TOKEN}" }
[[file]]
url = "https://a.example.com/x.tar.gz"
size = "1GiB"
[[file]]
url = "HTTPS://A.example.com:443/y.tar.gz"
size = 1000
[hosts."::1"]
connections = 2
[[file]]
url = "https://b.example.org:8443/z.bin"
[[file]]
url = "http://a.example.com:8080/w.bin"
[[file]]
url = "http://[::1]:8080/v6.bin"
mirrors = ["https://mirror.example.net/v6.bin"]
`))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	printPlan(&buf, m, false)
	golden(t, "plan.golden", buf.Bytes())
}
