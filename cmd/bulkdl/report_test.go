package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/state"
)

func TestReportPathIsCheckedFirst(t *testing.T) {
	srv, dir, _ := origin(t, 2, 1000, "")
	m := filepath.Join(dir, "m.toml")
	cases := []struct{ report, want string }{
		{filepath.Join(dir, "no-such-dir", "r.json"), "directory " + filepath.Join(dir, "no-such-dir") + " does not exist"},
		{dir, "is a directory"},
	}
	for _, c := range cases {
		code, _, stderr := bulkdl("run", "-q", "-report", c.report, m)
		if code != exitSetup || !strings.Contains(stderr, "-report "+c.report) || !strings.Contains(stderr, c.want) || strings.Contains(stderr, ".bulkdl-report-") {
			t.Errorf("run -report %s = %d, %q; want %d naming the path and %q", c.report, code, stderr, exitSetup, c.want)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests made before the report path was found bad", n)
	}
}

func TestSetupErrorsHaveTheirOwnExitCode(t *testing.T) {
	_, dir, _ := origin(t, 1, 1000, "")
	m := filepath.Join(dir, "m.toml")
	notDir := filepath.Join(dir, "plain-file")
	os.WriteFile(notDir, nil, 0o644)
	report := filepath.Join(dir, "r.json")

	code, _, stderr := bulkdl("run", "-q", "-report", report, "-dest", filepath.Join(notDir, "sub"), m)
	if code != exitSetup || !strings.Contains(stderr, "cannot create dest "+filepath.Join(notDir, "sub")) || !strings.Contains(stderr, "-dest") {
		t.Errorf("run with an uncreatable dest = %d, %q; want %d, where and how to fix", code, stderr, exitSetup)
	}
	if rep := readReport(t, report); rep.ExitCode != exitSetup || !strings.Contains(rep.Error, "cannot create dest") {
		t.Errorf("report exit_code %d, error %q", rep.ExitCode, rep.Error)
	}

	// The state directory cannot be made (as on a read-only mount).
	dest := filepath.Join(dir, "ro")
	os.MkdirAll(dest, 0o755)
	os.WriteFile(filepath.Join(dest, ".bulkdl"), nil, 0o644)
	code, _, stderr = bulkdl("run", "-q", "-dest", dest, m)
	if code != exitSetup || !strings.Contains(stderr, filepath.Join(dest, ".bulkdl")) || !strings.Contains(stderr, "writable -dest") {
		t.Errorf("run with an unusable state dir = %d, %q; want %d, where and how to fix", code, stderr, exitSetup)
	}
}

func TestReportOnUsageAndLockExits(t *testing.T) {
	_, dir, _ := origin(t, 2, 1000, "")
	m := filepath.Join(dir, "m.toml")
	report := filepath.Join(dir, "r.json")

	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[[file]]\nurl = 1\n"), 0o644)
	if code, _, _ := bulkdl("run", "-q", "-report", report, bad); code != exitUsage {
		t.Fatalf("run bad.toml = %d; want 2", code)
	}
	if rep := readReport(t, report); rep.ExitCode != exitUsage || rep.Error == "" || rep.Manifest != bad || rep.Started.IsZero() {
		t.Errorf("report after exit 2 = %+v", rep)
	}

	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	root, _ := os.OpenRoot(filepath.Join(dir, "out"))
	defer root.Close()
	held, err := state.Open(root, "")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if code, _, _ := bulkdl("run", "-q", "-report", report, m); code != exitLocked {
		t.Fatalf("run on a locked dest = %d; want 75", code)
	}
	rep := readReport(t, report)
	if rep.ExitCode != exitLocked || !strings.Contains(rep.Error, "another bulkdl run") || rep.Totals.Pending != 2 || len(rep.Files) != 2 {
		t.Errorf("report after exit 75 = exit %d, error %q, totals %+v", rep.ExitCode, rep.Error, rep.Totals)
	}
}

func TestVerifyReport(t *testing.T) {
	_, dir, _ := origin(t, 3, 1000, "")
	m := filepath.Join(dir, "m.toml")
	if code, _, stderr := bulkdl("run", "-q", m); code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	// One file without a checksum, one missing.
	text, _ := os.ReadFile(m)
	os.WriteFile(m, []byte(strings.Replace(string(text), "checksum", "# checksum", 1)), 0o644)
	os.Remove(filepath.Join(dir, "out", "f2.bin"))
	report := filepath.Join(dir, "v.json")
	before := time.Now().Add(-time.Second)
	code, _, stderr := bulkdl("verify", "-report", report, m)
	if code != exitFailed {
		t.Fatalf("verify = %d: %s", code, stderr)
	}
	rep := readReport(t, report)
	if rep.Command != "verify" || rep.Started.Before(before) || rep.Started.After(time.Now()) || rep.Duration < 0 || rep.Duration > 60 {
		t.Errorf("verify report: command %q, started %v, duration %v", rep.Command, rep.Started, rep.Duration)
	}
	want := job.ReportTotals{Files: 3, Verified: 1, Unverified: 1, Missing: 1, Failed: 1, Bytes: 2000}
	if rep.Totals != want || rep.ExitCode != exitFailed {
		t.Errorf("verify totals = %+v, exit %d; want %+v, 1", rep.Totals, rep.ExitCode, want)
	}
	statuses := []string{rep.Files[0].Status, rep.Files[1].Status, rep.Files[2].Status}
	if strings.Join(statuses, " ") != "unverified verified missing" {
		t.Errorf("statuses = %q", statuses)
	}
}

// verify keeps the report promise of run: an interrupt stops the hashing
// and still writes the report, with its exit code and the files it did not
// reach left pending; a manifest that does not load gets a report too.
func TestVerifyReportOnInterruptAndBadManifest(t *testing.T) {
	_, dir, _ := origin(t, 3, 1000, "")
	m := filepath.Join(dir, "m.toml")
	if code, _, stderr := bulkdl("run", "-q", m); code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	mf, err := manifest.Load(m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the signal came before any file was hashed
	report := filepath.Join(dir, "v.json")
	var o, e bytes.Buffer
	code := newCLI(&o, &e).verifyManifest(ctx, mf, job.Shard{}, report, func() int { return exitInterrupted })
	if code != exitInterrupted {
		t.Errorf("interrupted verify = %d; want %d", code, exitInterrupted)
	}
	rep := readReport(t, report)
	if rep.ExitCode != exitInterrupted || rep.Totals.Verified != 0 {
		t.Errorf("report after interrupt: exit %d, totals %+v; want exit %d and nothing verified", rep.ExitCode, rep.Totals, exitInterrupted)
	}

	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[settings\n"), 0o644)
	os.Remove(report)
	if code, _, _ := bulkdl("verify", "-report", report, bad); code != exitUsage {
		t.Fatalf("verify of a bad manifest = %d; want %d", code, exitUsage)
	}
	if rep := readReport(t, report); rep.ExitCode != exitUsage || rep.Command != "verify" {
		t.Errorf("report for a bad manifest: command %q, exit %d; want verify, %d", rep.Command, rep.ExitCode, exitUsage)
	}
}

// TestReportMayNotReplaceAListedFile: a report renamed over a file the
// manifest lists would replace what was downloaded, and one in dest's
// state directory is bulkdl's own: both are refused before anything is
// fetched, and nothing is written there.
func TestReportMayNotReplaceAListedFile(t *testing.T) {
	srv, dir, _ := origin(t, 1, 1000, "")
	m := filepath.Join(dir, "m.toml")
	for _, report := range []string{filepath.Join(dir, "out", "f0.bin"), filepath.Join(dir, "out", ".bulkdl", "r.json")} {
		os.MkdirAll(filepath.Dir(report), 0o755)
		code, _, stderr := bulkdl("run", "-q", "-report", report, m)
		if code != exitUsage || !strings.Contains(stderr, "-report "+report) || !strings.Contains(stderr, "write the report elsewhere") {
			t.Errorf("-report %s = %d, %q; want %d, saying why and how to fix", report, code, stderr, exitUsage)
		}
		if _, err := os.Stat(report); err == nil {
			t.Errorf("-report %s: a file was written there", report)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests were made; want none", n)
	}
	report := filepath.Join(dir, "out", "f0.bin")
	if code, _, stderr := bulkdl("verify", "-report", report, m); code != exitUsage || !strings.Contains(stderr, "write the report elsewhere") {
		t.Errorf("verify -report %s = %d, %q; want %d", report, code, stderr, exitUsage)
	}
}
