package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
	"github.com/bulkdl/bulkdl/state"
)

// TestValidatorsBelongToTheirURL pins a path from /latest.bin to
// /v1.0.bin, a different file under the same ETag: the new URL must get
// an unconditional request, not the old URL's validators and a 304.
func TestValidatorsBelongToTheirURL(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	latest := segdltest.Content(1, 40<<10)
	pinned := segdltest.Content(2, 40<<10)
	lm := time.Unix(1700000000, 0)
	srv.Put("/latest.bin", &segdltest.File{Data: latest, ETag: `"1"`, LastModified: lm})
	srv.Put("/v1.0.bin", &segdltest.File{Data: pinned, ETag: `"1"`, LastModified: lm})
	m := filepath.Join(dir, "m.toml")
	manifest := func(path string) {
		os.WriteFile(m, []byte(fmt.Sprintf("[settings]\ndest = \"out\"\n[[file]]\nurl = %q\npath = \"pkg.bin\"\n", srv.URLOf(path))), 0o644)
	}
	manifest("/latest.bin")
	if code, _, e := bulkdl("run", m); code != 0 {
		t.Fatalf("run = %d: %s", code, e)
	}
	manifest("/v1.0.bin")
	if code, _, e := bulkdl("run", m); code != 0 || !strings.Contains(e, "1 fetched") {
		t.Fatalf("run after the url changed = %d: %s", code, e)
	}
	for _, q := range srv.Requests() {
		if q.Path == "/v1.0.bin" && (q.Header.Get("If-None-Match") != "" || q.Header.Get("If-Modified-Since") != "") {
			t.Errorf("the new url got the old url's validators: %v", q.Header)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "out", "pkg.bin")); !bytes.Equal(got, pinned) {
		t.Error("pkg.bin is not the file of the new url")
	}
}

// TestPlainAndShardRunsExcludeEachOther holds the state of one run the way
// a concurrent process would and starts another.
func TestPlainAndShardRunsExcludeEachOther(t *testing.T) {
	cases := []struct {
		name   string
		held   string   // state name the other run holds
		args   []string // this run's flags
		wantOK bool
	}{
		{"a plain run is refused beside a shard", "shard-0-of-2", nil, false},
		{"a shard is refused beside a plain run", "", []string{"-shard", "1/2"}, false},
		{"a shard of another split is refused", "shard-0-of-2", []string{"-shard", "1/4"}, false},
		{"shards of one split run side by side", "shard-0-of-2", []string{"-shard", "1/2"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, dir, _ := origin(t, 4, 1000, "")
			out := filepath.Join(dir, "out")
			os.MkdirAll(out, 0o755)
			root, _ := os.OpenRoot(out)
			defer root.Close()
			held, err := state.Open(root, c.held)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			code, _, e := bulkdl(append(append([]string{"run"}, c.args...), filepath.Join(dir, "m.toml"))...)
			if c.wantOK {
				if code != 0 {
					t.Fatalf("run = %d: %s; want 0", code, e)
				}
				return
			}
			if code != 75 || !strings.Contains(e, "another bulkdl run is using") {
				t.Errorf("run = %d: %s; want 75 and a message", code, e)
			}
			if n := srv.Stats().Requests; n != 0 {
				t.Errorf("a locked-out run sent %d requests", n)
			}
		})
	}
}

func TestPruneKeepsFilesChangedSinceBulkdlWroteThem(t *testing.T) {
	srv, dir, _ := origin(t, 3, 1000, "")
	m := filepath.Join(dir, "m.toml")
	if code, _, e := bulkdl("run", m); code != 0 {
		t.Fatalf("run = %d: %s", code, e)
	}
	// The user replaces f2.bin with their own content, then drops it from
	// the manifest.
	mine := filepath.Join(dir, "out", "f2.bin")
	os.WriteFile(mine, []byte("my own notes, not the download"), 0o644)
	text, _ := os.ReadFile(m)
	cut := strings.Index(string(text), "[[file]]\nurl = \""+srv.URLOf("/f2.bin"))
	os.WriteFile(m, text[:cut], 0o644)
	code, _, e := bulkdl("run", "-prune", m)
	if code != 0 || !strings.Contains(e, "kept f2.bin") {
		t.Fatalf("run -prune = %d: %s", code, e)
	}
	if got, _ := os.ReadFile(mine); string(got) != "my own notes, not the download" {
		t.Errorf("-prune deleted or changed a file the user replaced: %q", got)
	}
}

// TestFailureTextNeverDecidesTheOutcome fails a file with an error whose
// text a server chose to end in ": interrupted" (an opaque URL is printed
// as it is).
func TestFailureTextNeverDecidesTheOutcome(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.Fault = func(_ *http.Request, _ int64) segdltest.Fault {
		return segdltest.Fault{Kind: segdltest.Redirect, Location: "ftp:x: interrupted"}
	}
	dir := t.TempDir()
	m := filepath.Join(dir, "m.toml")
	os.WriteFile(m, []byte(fmt.Sprintf("[settings]\ndest = \"out\"\n[[file]]\nurl = %q\n", srv.URLOf("/a.bin"))), 0o644)
	rep := filepath.Join(dir, "r.json")
	code, _, e := bulkdl("run", "-report", rep, m)
	if code != 1 {
		t.Errorf("run = %d: %s; want 1", code, e)
	}
	if r := readReport(t, rep); len(r.Files) != 1 || r.Files[0].Status != "failed" {
		t.Errorf("report = %+v; want the file failed", r.Files)
	}
}

func TestCheckOfAnEndlessFileFailsAtOnce(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	code, _, e := bulkdl("check", "/dev/zero")
	if code != 2 || !strings.Contains(e, "NUL byte") {
		t.Errorf("check /dev/zero = %d: %s; want 2 and a NUL byte error", code, e)
	}
}

func TestReservedNamesAreRefused(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.toml")
	os.WriteFile(m, []byte("[settings]\ndest = \"out\"\n[[file]]\nurl = \"http://127.0.0.1:1/a\"\npath = \"b.bin.bulkdl.json.tmp\"\n"), 0o644)
	if code, _, e := bulkdl("check", m); code != 2 || !strings.Contains(e, "m.toml:5") {
		t.Errorf("check = %d: %s; want 2 naming line 5", code, e)
	}
}

// TestTooFewFileDescriptorsIsNotAFailure runs 300 files at connections =
// 100 in a process limited to 64 open files: running out of descriptors
// is a wait, not a failed file.
func TestTooFewFileDescriptorsIsNotAFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.Latency = 20 * time.Millisecond // so that connections pile up
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("[settings]\ndest = \"out\"\nconnections = 100\nper_host = 100\nretries = 1\n")
	for i := range 300 {
		p := fmt.Sprintf("/f%d.bin", i)
		srv.PutBytes(p, segdltest.Content(uint64(i), 1000))
		fmt.Fprintf(&b, "[[file]]\nurl = %q\n", srv.URLOf(p))
	}
	m := filepath.Join(dir, "m.toml")
	os.WriteFile(m, []byte(b.String()), 0o644)
	cmd := exec.Command("sh", "-c", `ulimit -n 64 && exec "$0" run -q "$1"`, os.Args[0], m)
	cmd.Env = append(os.Environ(), "BULKDL_TEST_MAIN=1", "NO_PROXY=*")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run with 64 file descriptors: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out", "*.bin"))
	if len(files) != 300 {
		t.Errorf("%d files published; want 300", len(files))
	}
}

// An endless manifest on stdin (check - < /dev/zero) fails at its first
// NUL byte, as a file does, instead of reading until memory runs out;
// so does a stream of text larger than the manifest limit.
func TestCheckOfAnEndlessStdinFailsAtOnce(t *testing.T) {
	for _, c := range []struct {
		name string
		in   io.Reader
		want string
	}{
		{"zeros", endless(0), "NUL byte"},
		{"text", endless('#'), "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var o, e bytes.Buffer
			cl := newCLI(&o, &e)
			cl.stdin = c.in
			if code := cl.main([]string{"check", "-"}); code != exitUsage || !strings.Contains(e.String(), c.want) {
				t.Errorf("check - of an endless stdin = %d: %.200s; want %d and %q", code, e.String(), exitUsage, c.want)
			}
		})
	}
}

// endless reads as b, forever.
type endless byte

func (b endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
