package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// TestMain lets tests run the real binary's main in a child process.
func TestMain(m *testing.M) {
	if os.Getenv("BULKDL_TEST_MAIN") == "1" {
		os.Exit(newCLI(os.Stdout, os.Stderr).main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// bulkdl runs the CLI in-process and returns its exit code and output.
func bulkdl(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = newCLI(&o, &e).main(args)
	return code, o.String(), e.String()
}

// origin serves n files and writes a manifest for them in a new directory.
func origin(t *testing.T, n, size int, extra string) (srv *segdltest.Server, dir string, data [][]byte) {
	t.Helper()
	srv = segdltest.NewServer()
	t.Cleanup(srv.Close)
	dir = t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "[settings]\ndest = \"out\"\nconnections = 4\nmin_segment = \"64KiB\"\nretries = 2\n%s\n", extra)
	for i := range n {
		d := segdltest.Content(uint64(i+1), size)
		srv.PutBytes(fmt.Sprintf("/f%d.bin", i), d)
		data = append(data, d)
		fmt.Fprintf(&b, "[[file]]\nurl = %q\nchecksum = \"sha256:%x\"\n", srv.URLOf(fmt.Sprintf("/f%d.bin", i)), sha256.Sum256(d))
	}
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, dir, data
}

func TestUsageErrors(t *testing.T) {
	_, dir, _ := origin(t, 1, 10, "")
	m := filepath.Join(dir, "m.toml")
	cases := []struct {
		args []string
		code int
		out  string // in stderr
	}{
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"run", "-bogus", m}, 2, "flag provided but not defined: -bogus"},
		{[]string{"run", m, m}, 2, "want one manifest, got 2"},
		{[]string{"run"}, 2, "want a manifest"},
		{[]string{"run", "-c", "0", m}, 2, "-connections 0 is out of range"},
		{[]string{"run", "-rate", "fast", m}, 2, `-rate: bad rate "fast"`},
		{[]string{"run", "-progress", "fancy", m}, 2, `-progress "fancy"`},
		{[]string{"check", filepath.Join(dir, "missing.toml")}, 2, "missing.toml"}, // the OS says how it is missing
	}
	for _, c := range cases {
		code, _, stderr := bulkdl(c.args...)
		if code != c.code || !strings.Contains(stderr, c.out) {
			t.Errorf("bulkdl %q = %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.out)
		}
	}
	if code, out, _ := bulkdl("version"); code != 0 || !strings.HasPrefix(out, "bulkdl ") {
		t.Errorf("version = %d %q", code, out)
	}
}

func TestCheckShowsThePlanWithoutTraffic(t *testing.T) {
	t.Setenv("BULKDL_TEST_SECRET", "s3cr3t-value")
	srv, dir, _ := origin(t, 3, 1000, "headers = { Authorization = \"Bearer ${BULKDL_TEST_SECRET}\" }")
	code, out, stderr := bulkdl("check", "-c", "2", filepath.Join(dir, "m.toml"))
	if code != 0 {
		t.Fatalf("check = %d: %s", code, stderr)
	}
	for _, want := range []string{"files     3", "connections 2, per_host 2 (follows -c), per_file 2", "Authorization: ***"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr, "s3cr3t-value") {
		t.Errorf("check printed the secret")
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("check sent %d requests", n)
	}
}

func TestCheckReportsManifestErrors(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.toml")
	os.WriteFile(m, []byte("[settings]\nconections = 4\n[[file]]\nurl = \"http://h/x\"\npath = \"../x\"\n"), 0o644)
	code, _, stderr := bulkdl("check", m)
	want := []string{
		m + `:2:1: unknown key "conections" in [settings]; did you mean "connections"?`,
		"    2 | conections = 4",
		m + `:5:8: path "../x" leaves dest`,
		"      |        ^",
		"2 error(s); nothing was downloaded",
	}
	if code != 2 {
		t.Errorf("check = %d; want 2", code)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

func TestRunDownloadsThenSkips(t *testing.T) {
	srv, dir, data := origin(t, 5, 300<<10, "")
	report := filepath.Join(dir, "report.json")
	code, _, stderr := bulkdl("run", "-report", report, filepath.Join(dir, "m.toml"))
	if code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	for i, d := range data {
		got, err := os.ReadFile(filepath.Join(dir, "out", fmt.Sprintf("f%d.bin", i)))
		if err != nil || sha256.Sum256(got) != sha256.Sum256(d) {
			t.Errorf("f%d.bin: bytes on disk differ (%v)", i, err)
		}
	}
	if strings.Contains(stderr, "\x1b") {
		t.Errorf("escape codes in output that is not a terminal: %q", stderr)
	}
	if !strings.Contains(stderr, "done: 5 file(s): 5 fetched, 0 skipped, 0 failed") {
		t.Errorf("summary missing: %s", stderr)
	}
	rep := readReport(t, report)
	if rep.Totals.Downloaded != 5 || rep.Files[0].Status != "downloaded" || !strings.HasPrefix(rep.Files[0].Checksum, "sha256:") {
		t.Errorf("report = %+v", rep.Totals)
	}

	before := srv.Stats().Requests
	code, _, stderr = bulkdl("run", "-report", report, filepath.Join(dir, "m.toml"))
	if code != 0 || !strings.Contains(stderr, "0 fetched, 5 skipped") {
		t.Errorf("second run = %d: %s", code, stderr)
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Errorf("second run sent %d requests; want none", n)
	}
	if rep := readReport(t, report); rep.Totals.Skipped != 5 {
		t.Errorf("second report totals = %+v", rep.Totals)
	}
}

func TestRunFailureExitCodeAndSecrets(t *testing.T) {
	const secret = "tok-7f3a9e"
	t.Setenv("BULKDL_TEST_SECRET", secret)
	srv, dir, data := origin(t, 3, 1000, "headers = { X-Api-Key = \"${BULKDL_TEST_SECRET}\" }")
	srv.Fault = func(r *http.Request, _ int64) segdltest.Fault {
		if r.URL.Path == "/f1.bin" {
			return segdltest.Fault{Kind: segdltest.Status, Code: 403}
		}
		return segdltest.Fault{}
	}
	report := filepath.Join(dir, "report.json")
	code, stdout, stderr := bulkdl("run", "-q", "-report", report, filepath.Join(dir, "m.toml"))
	if code != 1 {
		t.Fatalf("run = %d; want 1 (a file failed): %s", code, stderr)
	}
	if !strings.Contains(stderr, "failed: f1.bin:") || !strings.Contains(stderr, "403") {
		t.Errorf("no failure line naming the file and cause:\n%s", stderr)
	}
	raw, _ := os.ReadFile(report)
	for what, s := range map[string]string{"stdout": stdout, "stderr": stderr, "report": string(raw)} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains the secret", what)
		}
	}
	if got := srv.Requests()[0].Header.Get("X-Api-Key"); got != secret {
		t.Errorf("server got X-Api-Key %q; want the expanded secret", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "f1.bin")); err == nil {
		t.Errorf("a failed file was published")
	}
	got, _ := os.ReadFile(filepath.Join(dir, "out", "f2.bin"))
	if !bytes.Equal(got, data[2]) {
		t.Errorf("the other files did not complete")
	}
	rep := readReport(t, report)
	if rep.Totals.Failed != 1 || rep.Totals.Downloaded != 2 || rep.Files[1].Status != "failed" || rep.Files[1].Error == "" {
		t.Errorf("report = %+v / %+v", rep.Totals, rep.Files[1])
	}
}

func TestDryRunFetchesNothing(t *testing.T) {
	srv, dir, _ := origin(t, 2, 1000, "")
	code, out, _ := bulkdl("run", "-dry-run", filepath.Join(dir, "m.toml"))
	if code != 0 || !strings.Contains(out, "dry run: 2 file(s)") {
		t.Errorf("dry run = %d %q", code, out)
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("dry run sent %d requests", n)
	}
}

func TestSignalsStopAndKeepResumeState(t *testing.T) {
	for _, c := range stopSignals {
		t.Run(c.name, func(t *testing.T) {
			srv, dir, _ := origin(t, 1, 4<<20, "")
			srv.RatePerConn.Store(512 << 10) // 4 connections: 2 s for the file
			report := filepath.Join(dir, "report.json")
			cmd := exec.Command(os.Args[0], "run", "-report", report, filepath.Join(dir, "m.toml"))
			cmd.Env = append(os.Environ(), "BULKDL_TEST_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			c.prepare(cmd)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Signal once the origin has sent a quarter of the file, not
			// after a fixed time: on a loaded machine a race-built child
			// may not have fetched a byte by then, and on an idle one the
			// file may be nearly done. The rest takes another 1.5 s.
			for deadline := time.Now().Add(10 * time.Second); srv.Stats().BytesSent < 1<<20; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the origin sent %d bytes in 10 s of the run\n%s", srv.Stats().BytesSent, stderr.String())
				}
			}
			if err := c.send(t, cmd.Process); err != nil {
				t.Fatalf("sending %s: %v", c.name, err)
			}
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != c.code {
				t.Fatalf("exit code %d (%v); want %d\n%s", code, err, c.code, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "out", "f0.bin")); err == nil {
				t.Error("a partial file is at the final path")
			}
			if _, err := os.Stat(filepath.Join(dir, "out", "f0.bin.bulkdl.json")); err != nil {
				t.Errorf("no resume journal after the signal: %v", err)
			}
			rep := readReport(t, report)
			if !rep.Interrupted || rep.Files[0].Status != "pending" || rep.ExitCode != c.code {
				t.Errorf("report: interrupted %v, status %q, exit_code %d", rep.Interrupted, rep.Files[0].Status, rep.ExitCode)
			}
			if !strings.Contains(stderr.String(), "interrupted: 1 file(s)") {
				t.Errorf("no summary after the signal:\n%s", stderr.String())
			}
		})
	}
}

// stopSignal is one way to stop a run from outside (signals_*_test.go).
type stopSignal struct {
	name    string
	code    int                                 // the exit code it must give
	prepare func(*exec.Cmd)                     // before the run starts
	send    func(*testing.T, *os.Process) error // while it runs
}

func readReport(t *testing.T, name string) job.Report {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var r job.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	return r
}
