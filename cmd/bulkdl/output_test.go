package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

func TestOutputMode(t *testing.T) {
	cases := []struct {
		progress       string
		tty            bool
		term           string
		verbose, quiet bool
		want           string
	}{
		{"auto", true, "xterm-256color", false, false, "bar"},
		{"auto", false, "xterm", false, false, "plain"},
		{"auto", true, "dumb", false, false, "plain"},
		{"bar", true, "dumb", false, false, "plain"},
		{"auto", true, "xterm", true, false, "plain"},
		{"bar", false, "xterm", false, false, "bar"},
		{"plain", true, "xterm", false, false, "plain"},
		{"auto", true, "xterm", false, true, "none"},
	}
	for _, c := range cases {
		if got := outputMode(c.progress, c.tty, c.term, c.verbose, c.quiet); got != c.want {
			t.Errorf("outputMode(%q, tty %v, TERM=%q, -v %v, -q %v) = %q; want %q", c.progress, c.tty, c.term, c.verbose, c.quiet, got, c.want)
		}
	}
}

func TestStampWriter(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 11, 24, 9, 19, 50, 13e6, time.FixedZone("CET", 3600))
	s := newStampWriter(&buf, func() time.Time { clock = clock.Add(time.Second); return clock })
	s.Write([]byte("done: 3 file(s)"))
	s.Write([]byte(", 0 failed\nfailed: a\nfailed: b\n"))
	s.Write([]byte("partial"))
	want := "2026-11-24T08:19:51.013Z done: 3 file(s), 0 failed\n2026-11-24T08:19:52.013Z failed: a\n2026-11-24T08:19:53.013Z failed: b\n2026-11-24T08:19:54.013Z partial"
	if buf.String() != want {
		t.Errorf("stamped output:\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestPlainOutputStartsWithAStartLineAndTimestamps(t *testing.T) {
	_, dir, _ := origin(t, 3, 1000, "")
	code, _, stderr := bulkdl("run", "-c", "6", filepath.Join(dir, "m.toml"))
	if code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, l := range lines {
		if _, err := time.Parse(stampLayout, strings.Fields(l)[0]); err != nil {
			t.Errorf("line without a timestamp: %q", l)
		}
	}
	want := "start: 3 file(s) (3 to fetch, 0 complete), 0 B known, 3 of unknown size, 1 host(s), into " + filepath.Join(dir, "out") + "; budget connections 6, per_host 6 (follows -c), per_file 4; rate unlimited"
	if first := lines[0][strings.IndexByte(lines[0], ' ')+1:]; first != want {
		t.Errorf("first line = %q; want %q", first, want)
	}
	if _, _, stderr := bulkdl("run", "-timestamps=false", filepath.Join(dir, "m.toml")); !strings.HasPrefix(stderr, "start: 3 file(s) (0 to fetch, 3 complete)") {
		t.Errorf("-timestamps=false: %q", stderr)
	}
}

func TestStartLineGolden(t *testing.T) {
	got := startLine(104, 98, 100<<20, 2, 3, "mirror", "connections 16, per_host 8, per_file 8", manifest.Rate(50e6)) + "\n" +
		startLine(1, 1, 4096, 0, 1, "/data", "connections 32, per_host 32 (follows -c), per_file 8", 0) + "\n"
	golden(t, "start.golden", []byte(got))
}

func TestVerboseShowsRequestsRedirectsRetries(t *testing.T) {
	const secret = "sig-5ec2e7"
	srv, dir, _ := origin(t, 1, 1000, "")
	var n atomic.Int32
	srv.Fault = func(r *http.Request, _ int64) segdltest.Fault {
		switch {
		case r.URL.Path == "/f0.bin" && r.URL.RawQuery == "":
			return segdltest.Fault{Kind: segdltest.Redirect, Location: "/f0.bin?token=" + secret}
		case n.Add(1) == 1:
			return segdltest.Fault{Kind: segdltest.Status, Code: 503, RetryAfter: "0"}
		}
		return segdltest.Fault{}
	}
	code, _, stderr := bulkdl("run", "-v", "-timestamps=false", filepath.Join(dir, "m.toml"))
	if code != 0 {
		t.Fatalf("run -v = %d: %s", code, stderr)
	}
	for _, want := range []string{
		"request: GET " + srv.URL + "/f0.bin (Range: bytes=0-)",
		"redirect: " + srv.URL + "/f0.bin: 302 Found to " + srv.URL + "/f0.bin?token=xxxxx",
		"response: " + srv.URL + "/f0.bin?token=xxxxx: 503 Service Unavailable",
		"retry: f0.bin: attempt 2 of 3 in ",
		"response: " + srv.URL + "/f0.bin?token=xxxxx: 206 Partial Content (bytes 0-999/1000)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("-v output lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, secret) {
		t.Errorf("-v printed the signed query's secret:\n%s", stderr)
	}
}

// TestVerboseEscapesWhatTheServerSent: -v prints a status line and
// headers the server chose; a terminal must not take them as commands
// (a title, colours) or reorder them (bidi controls).
func TestVerboseEscapesWhatTheServerSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf) // one request per connection
				io.WriteString(c, "HTTP/1.1 404 Not \x1b]0;pwned\x07\x1b[31mFound\r\n"+
					"Content-Range: bytes 0-1/2\xe2\x80\xae\r\nRetry-After: 1\xe2\x80\xae0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			}()
		}
	}()
	dir := t.TempDir()
	m := writeManifest(t, dir, "[settings]\ndest = \"out\"\nretries = 0\n[[file]]\nurl = \"http://"+ln.Addr().String()+"/f.bin\"\n")
	code, _, stderr := bulkdl("run", "-v", "-timestamps=false", m)
	if code == 0 {
		t.Fatalf("run -v = 0; want a failure (404)")
	}
	if !strings.Contains(stderr, `response: http://`+ln.Addr().String()+`/f.bin: 404 Not \x1b]0;pwned\x07\x1b[31mFound (bytes 0-1/2\u202e), Retry-After 1\u202e0`) {
		t.Errorf("-v does not show the response escaped:\n%s", stderr)
	}
	for _, r := range stderr {
		if r != '\n' && r != '\t' && redact.Unsafe(r) {
			t.Fatalf("-v printed %U as it is:\n%q", r, stderr)
		}
	}
}

// TestThrottlingAtACapOfOneIsReported: a host with one connection cannot
// have its cap lowered, but its 429s slowed the run all the same; the
// summary and the report say so.
func TestThrottlingAtACapOfOneIsReported(t *testing.T) {
	srv, dir, _ := origin(t, 2, 1000, "per_host = 1")
	var n atomic.Int32
	srv.Fault = func(*http.Request, int64) segdltest.Fault {
		if n.Add(1) <= 2 {
			return segdltest.Fault{Kind: segdltest.Status, Code: 429, RetryAfter: "0"}
		}
		return segdltest.Fault{}
	}
	report := filepath.Join(dir, "report.json")
	code, _, stderr := bulkdl("run", "-timestamps=false", "-report", report, filepath.Join(dir, "m.toml"))
	if code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	if want := "slowed: " + hostOf(srv) + " answered 429/503 2 time(s) at its cap of 1"; !strings.Contains(stderr, want) {
		t.Errorf("summary lacks %q:\n%s", want, stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep job.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Hosts) != 1 || !rep.Hosts[0].Throttled || rep.Hosts[0].Refusals != 2 || rep.Hosts[0].MinCap != 1 {
		t.Errorf("report hosts = %+v; want one, throttled, 2 refusals, min_cap 1", rep.Hosts)
	}
}
