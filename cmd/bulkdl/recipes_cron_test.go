package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bulkdl/bulkdl/state"
)

// cronPATH is the PATH cron gives jobs (Vixie cron, cronie, busybox).
const cronPATH = "/usr/bin:/bin"

// crontabJob returns the MAILTO value and the command of the one job line
// of examples/cron/crontab.
func crontabJob(t *testing.T) (mailto, command string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "cron", "crontab"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "MAILTO="):
			mailto = strings.TrimPrefix(line, "MAILTO=")
		default:
			f := strings.Fields(line)
			if len(f) < 6 || command != "" {
				t.Fatalf("crontab: %q is not the one job line (5 time fields and a command)", line)
			}
			command = strings.Join(f[5:], " ")
		}
	}
	return mailto, command
}

// runAsCron runs command as cron does: /bin/sh -c with only cron's
// variables, in the home directory. bulkdl's full path in the recipe is
// replaced by this test binary, which is bulkdl when BULKDL_TEST_MAIN=1.
// It returns the exit code and what cron would mail.
func runAsCron(t *testing.T, command, dir string) (int, string) {
	t.Helper()
	command = strings.NewReplacer("/usr/local/bin/bulkdl", os.Args[0], "/srv/datasets", dir).Replace(command)
	cmd := exec.Command("/usr/bin/env", "-i", "PATH="+cronPATH, "HOME="+dir, "SHELL=/bin/sh", "LOGNAME=cron",
		"BULKDL_TEST_MAIN=1", "/bin/sh", "-c", command)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running %q: %v", command, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func TestCronRecipe(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("cron recipes are for Unix: no /bin/sh or env -i on Windows")
	}
	mailto, command := crontabJob(t)
	if mailto == "" {
		t.Error("the crontab sets no MAILTO: a failure would be mailed to the local user, or nowhere")
	}
	if strings.Contains(command, "%") {
		t.Errorf("cron turns %% into a newline: %q", command)
	}
	if strings.Contains(command, ">") {
		t.Errorf("the job redirects its output, so cron mails nothing, not even a failure: %q", command)
	}
	if !strings.Contains(command, "/usr/local/bin/bulkdl run ") {
		t.Fatalf("the job must name bulkdl by its full path (cron's PATH is %s): %q", cronPATH, command)
	}

	// per_host above connections warns on every run: -q keeps that out
	// of the nightly mail too (check shows it).
	srv, dir, _ := origin(t, 3, 32<<10, "per_host = 8")
	os.Rename(filepath.Join(dir, "m.toml"), filepath.Join(dir, "datasets.toml"))
	code, mail := runAsCron(t, command, dir)
	if code != 0 || mail != "" {
		t.Fatalf("first night: exit %d, mail %q; want 0 and no mail", code, mail)
	}
	before := srv.Stats().Requests
	if code, mail := runAsCron(t, command, dir); code != 0 || mail != "" {
		t.Fatalf("second night: exit %d, mail %q; want 0 and no mail", code, mail)
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Errorf("the second night sent %d requests", n)
	}
	if rep := readReport(t, filepath.Join(dir, "last-run.json")); rep.Totals.Skipped != 3 {
		t.Errorf("last-run.json totals = %+v; want 3 skipped", rep.Totals)
	}

	// A night when a file fails (the origin lost it): mailed, with the file
	// and the cause. (The manifest changes, not the origin: the origin is
	// only changed before its first request.)
	m := filepath.Join(dir, "datasets.toml")
	text, _ := os.ReadFile(m)
	os.WriteFile(m, append(text, fmt.Sprintf("[[file]]\nurl = %q\n", srv.URLOf("/lost.bin"))...), 0o644)
	code, mail = runAsCron(t, command, dir)
	if code != exitFailed || !strings.Contains(mail, "failed: lost.bin:") || !strings.Contains(mail, "404") || !strings.Contains(mail, "1 failed") {
		t.Errorf("failing night: exit %d, mail %q; want 1 and the failure with its cause", code, mail)
	}
}

// serviceUnit reads examples/cron/bulkdl-datasets.service.
func serviceUnit(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "cron", "bulkdl-datasets.service"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// unitValue returns the value of key in unit text.
func unitValue(unit, key string) string {
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			return v
		}
	}
	return ""
}

func TestSystemdRecipe(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("systemd units are for Linux")
	}
	unit := serviceUnit(t)
	success := map[int]bool{0: true}
	for _, f := range strings.Fields(unitValue(unit, "SuccessExitStatus")) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("SuccessExitStatus %q is not a number", f)
		}
		success[n] = true
	}
	// systemctl stop sends SIGTERM: bulkdl exits 143 with resume state kept;
	// a run that finds the previous one going exits 75. Neither is a failure.
	for _, code := range []int{signalCode(syscall.SIGTERM), exitLocked} {
		if !success[code] {
			t.Errorf("exit %d (from bulkdl) fails the unit: SuccessExitStatus=%s", code, unitValue(unit, "SuccessExitStatus"))
		}
	}
	for _, code := range []int{exitFailed, exitUsage, exitSetup} {
		if success[code] {
			t.Errorf("exit %d is a failure and must fail the unit", code)
		}
	}

	t.Run("systemd-analyze verify", func(t *testing.T) {
		sa, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed here; the units are checked where it is")
		}
		dir := t.TempDir()
		// The units as installed, with bulkdl and its directory where
		// they exist on this machine (verify checks both).
		fixed := strings.NewReplacer("/usr/local/bin/bulkdl", os.Args[0], "/srv/datasets", dir).Replace(unit)
		os.WriteFile(filepath.Join(dir, "bulkdl-datasets.service"), []byte(fixed), 0o644)
		timer, _ := os.ReadFile(filepath.Join("..", "..", "examples", "cron", "bulkdl-datasets.timer"))
		os.WriteFile(filepath.Join(dir, "bulkdl-datasets.timer"), timer, 0o644)
		out, err := exec.Command(sa, "verify", filepath.Join(dir, "bulkdl-datasets.service"), filepath.Join(dir, "bulkdl-datasets.timer")).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})

	t.Run("ExecStart as systemd runs it", func(t *testing.T) {
		srv, dir, _ := origin(t, 2, 16<<10, "")
		os.Rename(filepath.Join(dir, "m.toml"), filepath.Join(dir, "datasets.toml"))
		command := unitValue(unit, "ExecStart")
		if code, out := runAsCron(t, command, dir); code != 0 || out != "" {
			t.Errorf("ExecStart: exit %d, output %q; want 0 and a quiet journal", code, out)
		}
		// The next start while another run holds dest: a success for systemd.
		root, _ := os.OpenRoot(filepath.Join(dir, "out"))
		defer root.Close()
		held, err := state.Open(root, "")
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		before := srv.Stats().Requests
		if code, _ := runAsCron(t, command, dir); !success[code] || code != exitLocked {
			t.Errorf("ExecStart on a held dest: exit %d; want %d, listed in SuccessExitStatus", code, exitLocked)
		}
		if n := srv.Stats().Requests - before; n != 0 {
			t.Errorf("a run on a held dest sent %d requests", n)
		}
	})
}
