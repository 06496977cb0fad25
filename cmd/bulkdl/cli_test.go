package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/internal/winetest"
)

// bulkdlIn runs the CLI in-process with stdin.
func bulkdlIn(stdin string, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	c := newCLI(&o, &e)
	c.stdin = strings.NewReader(stdin)
	code = c.main(args)
	return code, o.String(), e.String()
}

func TestHelpGoesToStdout(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "-h"}, "Usage: bulkdl run [flags] MANIFEST"},
		{[]string{"check", "--help"}, "Usage: bulkdl check [flags] MANIFEST..."},
		{[]string{"help", "verify"}, "Usage: bulkdl verify"},
		{[]string{"-h"}, "bulkdl run"},
		{[]string{"init", "-h"}, "Usage: bulkdl init"},
		// Asking help of help, in any spelling, is the usage, not a loop.
		{[]string{"help", "-h"}, "bulkdl run"},
		{[]string{"help", "help"}, "bulkdl run"},
		{[]string{"-h", "-h"}, "bulkdl run"},
	}
	for _, c := range cases {
		code, out, stderr := bulkdl(c.args...)
		if code != 0 || !strings.Contains(out, c.want) || stderr != "" {
			t.Errorf("bulkdl %q = %d, stdout %q, stderr %q; want 0, %q on stdout, nothing on stderr", c.args, code, out, stderr, c.want)
		}
	}
}

func TestUsageErrorsAreOneLine(t *testing.T) {
	_, dir, _ := origin(t, 1, 10, "")
	m := filepath.Join(dir, "m.toml")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "-bogus", m}, "bulkdl run: flag provided but not defined: -bogus"},
		{[]string{"run", m, "-bogus"}, "bulkdl run: flag provided but not defined: -bogus"},
		{[]string{"check", "-c", "x", m}, "bulkdl check: invalid value \"x\" for flag -c"},
		{[]string{"run", "-progress-interval", "0", m}, "-progress-interval 0s: want a positive duration"},
		{[]string{"run", "-progress-interval", "-5s", m}, "-progress-interval -5s: want a positive duration"},
		{[]string{"run", "-progress", "fancy", m}, `-progress "fancy"`},
		{[]string{"run"}, "bulkdl run: want a manifest"},
		{[]string{"run", "-i", "-", "-"}, "not both"},
		{[]string{"frobnicate"}, `bulkdl: unknown command "frobnicate"`},
	}
	for _, c := range cases {
		code, out, stderr := bulkdl(c.args...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != exitUsage || len(lines) != 2 || !strings.Contains(lines[0], c.want) || !strings.HasPrefix(lines[1], "run 'bulkdl ") || out != "" {
			t.Errorf("bulkdl %q = %d, stderr:\n%s\nwant exit 2, one line with %q, then where help is", c.args, code, stderr, c.want)
		}
	}
}

func TestFlagsAfterTheManifest(t *testing.T) {
	srv, dir, _ := origin(t, 2, 1000, "")
	report := filepath.Join(dir, "r.json")
	code, _, stderr := bulkdl("run", filepath.Join(dir, "m.toml"), "-progress", "none", "-report", report, "-c", "2")
	if code != 0 {
		t.Fatalf("run MANIFEST -flags = %d: %s", code, stderr)
	}
	if rep := readReport(t, report); rep.Totals.Downloaded != 2 {
		t.Errorf("report totals = %+v", rep.Totals)
	}
	if srv.Stats().Requests == 0 {
		t.Error("nothing was fetched")
	}
	// "--" ends the flags: a manifest named like a flag.
	os.WriteFile(filepath.Join(dir, "-q"), []byte("[[file]]\nurl = \"http://h.example/a\"\n"), 0o644)
	t.Chdir(dir)
	if code, out, stderr := bulkdl("check", "--", "-q"); code != 0 || !strings.Contains(out, "manifest  -q (valid)") {
		t.Errorf("check -- -q = %d %q %q", code, out, stderr)
	}
}

func TestRateUnitsAsPeersWriteThem(t *testing.T) {
	_, dir, _ := origin(t, 1, 10, "")
	for _, c := range []struct{ flag, want string }{
		{"50M", "rate 52.4 MB/s"}, {"50m", "rate 52.4 MB/s"}, {"50mb/s", "rate 50.0 MB/s"}, {"512k", "rate 524.3 kB/s"},
	} {
		code, out, stderr := bulkdl("check", "-rate", c.flag, filepath.Join(dir, "m.toml"))
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("check -rate %s = %d, %q; want %q\n%s", c.flag, code, out, c.want, stderr)
		}
	}
}

func TestCheckAndVerifyTakeSeveralManifests(t *testing.T) {
	_, dir1, _ := origin(t, 1, 100, "")
	_, dir2, _ := origin(t, 2, 100, "")
	m1, m2 := filepath.Join(dir1, "m.toml"), filepath.Join(dir2, "m.toml")
	code, out, stderr := bulkdl("check", m1, m2)
	if code != 0 || strings.Count(out, "(valid)") != 2 || !strings.Contains(out, "files     1,") || !strings.Contains(out, "files     2,") {
		t.Errorf("check m1 m2 = %d:\n%s%s", code, out, stderr)
	}
	bad := filepath.Join(dir1, "bad.toml")
	os.WriteFile(bad, []byte("[[file]]\n"), 0o644)
	if code, out, _ := bulkdl("check", m1, bad, m2); code != exitUsage || strings.Count(out, "(valid)") != 2 {
		t.Errorf("check with one bad manifest = %d; want 2 and the other two checked:\n%s", code, out)
	}
	for _, m := range []string{m1, m2} {
		if code, _, stderr := bulkdl("run", "-q", m); code != 0 {
			t.Fatalf("run %s = %d: %s", m, code, stderr)
		}
	}
	code, _, stderr = bulkdl("verify", m1, m2)
	if code != 0 || strings.Count(stderr, " verified,") != 2 {
		t.Errorf("verify m1 m2 = %d: %s", code, stderr)
	}
	os.Remove(filepath.Join(dir2, "out", "f1.bin"))
	if code, out, _ := bulkdl("verify", m1, m2); code != exitFailed || !strings.Contains(out, "missing: f1.bin") {
		t.Errorf("verify with a file missing in the second = %d %q; want 1", code, out)
	}
}

func TestManifestFromStdin(t *testing.T) {
	srv, dir, data := origin(t, 1, 1000, "")
	text, _ := os.ReadFile(filepath.Join(dir, "m.toml"))
	work := t.TempDir()
	t.Chdir(work)
	code, _, stderr := bulkdlIn(string(text), "run", "-q", "-")
	if code != 0 {
		t.Fatalf("run - = %d: %s", code, stderr)
	}
	// dest = "out" is relative to the working directory.
	if got, _ := os.ReadFile(filepath.Join(work, "out", "f0.bin")); !bytes.Equal(got, data[0]) {
		t.Errorf("out/f0.bin in the working directory differs or is missing")
	}
	if srv.Stats().Requests == 0 {
		t.Error("nothing was fetched")
	}
	// /dev/stdin and /dev/fd/N (a shell's <(...)) are pipes too: dest is
	// not /dev/out.
	for _, name := range []string{"/dev/stdin", "/dev/fd/0"} {
		if _, err := os.Stat(name); err != nil || winetest.Enabled {
			continue // not on this system (Wine shows the host's /dev through drive Z:, not the child's stdin)
		}
		cmd := exec.Command(os.Args[0], "check", name)
		cmd.Env = append(os.Environ(), "BULKDL_TEST_MAIN=1")
		cmd.Stdin = bytes.NewReader(text)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "dest      out\n") {
			t.Errorf("check %s: %v; want dest out (the working directory's):\n%s", name, err, out)
		}
	}
	code, _, stderr = bulkdlIn("[[file]]\nurl = 3\n", "check", "-")
	if code != exitUsage || !strings.Contains(stderr, "<stdin>:2:") {
		t.Errorf("check - with a bad manifest = %d %q; want 2 and <stdin>:2:", code, stderr)
	}
}

func TestURLLists(t *testing.T) {
	srv, dir, data := origin(t, 3, 1000, "")
	var list strings.Builder
	list.WriteString("# nightly\n\n")
	for i := range 3 {
		fmt.Fprintf(&list, "  %s  \n", srv.URLOf(fmt.Sprintf("/f%d.bin", i)))
	}
	listFile := filepath.Join(dir, "urls.txt")
	os.WriteFile(listFile, []byte(list.String()), 0o644)

	t.Run("run -i takes a list into the working directory", func(t *testing.T) {
		work := t.TempDir()
		t.Chdir(work)
		if code, _, stderr := bulkdl("run", "-q", "-i", listFile); code != 0 {
			t.Fatalf("run -i = %d: %s", code, stderr)
		}
		for i, d := range data {
			if got, _ := os.ReadFile(filepath.Join(work, fmt.Sprintf("f%d.bin", i))); !bytes.Equal(got, d) {
				t.Errorf("f%d.bin differs", i)
			}
		}
	})
	t.Run("run -i - reads stdin", func(t *testing.T) {
		work := t.TempDir()
		if code, _, stderr := bulkdlIn(list.String(), "run", "-q", "-dest", work, "-i", "-"); code != 0 {
			t.Fatalf("run -i - = %d: %s", code, stderr)
		}
		if got, _ := os.ReadFile(filepath.Join(work, "f2.bin")); !bytes.Equal(got, data[2]) {
			t.Error("f2.bin differs")
		}
	})
	t.Run("run URL... takes URLs as curl and wget do", func(t *testing.T) {
		work := t.TempDir()
		if code, _, stderr := bulkdl("run", "-q", "-dest", work, srv.URLOf("/f0.bin"), srv.URLOf("/f2.bin")); code != 0 {
			t.Fatalf("run URL URL = %d: %s", code, stderr)
		}
		for _, i := range []int{0, 2} {
			if got, _ := os.ReadFile(filepath.Join(work, fmt.Sprintf("f%d.bin", i))); !bytes.Equal(got, data[i]) {
				t.Errorf("f%d.bin differs", i)
			}
		}
		code, _, stderr := bulkdl("run", "-dest", work, srv.URLOf("/f0.bin"), srv.URLOf("/x/f0.bin"))
		if code != exitUsage || !strings.Contains(stderr, "arguments:2:") {
			t.Errorf("run with two URLs of one name = %d; want 2 naming the second argument:\n%s", code, stderr)
		}
		code, _, stderr = bulkdl("run", srv.URLOf("/f0.bin"), "m.toml")
		if code != exitUsage || !strings.Contains(stderr, "argument 2:") {
			t.Errorf("run URL m.toml = %d; want a usage error naming argument 2:\n%s", code, stderr)
		}
	})
	t.Run("check -i and verify -i take a list too", func(t *testing.T) {
		work := t.TempDir()
		t.Chdir(work)
		if code, out, stderr := bulkdl("check", "-i", listFile); code != 0 || !strings.Contains(out, "files     3,") || !strings.Contains(out, "dest      .") {
			t.Errorf("check -i = %d:\n%s%s", code, out, stderr)
		}
		if code, _, _ := bulkdl("verify", "-i", listFile); code != exitFailed {
			t.Errorf("verify -i in an empty directory = %d; want 1 (missing)", code)
		}
	})
	t.Run("init makes a manifest that runs", func(t *testing.T) {
		code, out, stderr := bulkdl("init", "-i", listFile)
		if code != 0 {
			t.Fatalf("init = %d: %s", code, stderr)
		}
		golden(t, "init.golden", []byte(strings.NewReplacer(strings.TrimPrefix(srv.URL, "http://"), "ORIGIN", dir+`\`, "DIR/", dir, "DIR").Replace(out)))
		m := filepath.Join(dir, "from-list.toml")
		os.WriteFile(m, []byte(out), 0o644)
		if code, _, stderr := bulkdl("run", "-q", m); code != 0 {
			t.Fatalf("run of init's manifest = %d: %s", code, stderr)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "downloads", "f1.bin")); !bytes.Equal(got, data[1]) {
			t.Error("downloads/f1.bin differs")
		}
	})
	t.Run("bad lines are named with their line", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.txt")
		os.WriteFile(bad, []byte("# c\nhttp://h.example/a.bin\nftp://h.example/b\nhttp://h.example/c d\n"), 0o644)
		code, _, stderr := bulkdl("run", "-i", bad)
		for _, want := range []string{bad + ":3: \"ftp://h.example/b\" is not an http or https URL", bad + ":4: a line holds one URL"} {
			if code != exitUsage || !strings.Contains(stderr, want) {
				t.Errorf("run -i bad.txt = %d; stderr lacks %q:\n%s", code, want, stderr)
			}
		}
		// Two URLs that end in the same name: the manifest's error, at
		// the list's line.
		os.WriteFile(bad, []byte("# c\nhttp://h.example/a.bin\n\nhttp://h.example/x/a.bin\n"), 0o644)
		code, _, stderr = bulkdl("init", "-i", bad)
		if code != exitUsage || !strings.Contains(stderr, bad+":4:") || !strings.Contains(stderr, "    4 | http://h.example/x/a.bin") {
			t.Errorf("init -i with a duplicate name = %d; want 2 and line 4 named:\n%s", code, stderr)
		}
		if code, out, stderr := bulkdl("init", "http://h.example/a", "http://h.example/b"); code != 0 || strings.Count(out, "[[file]]") != 2 {
			t.Errorf("init URL URL = %d %q %q", code, out, stderr)
		}
	})
}

func TestCheckWithoutSecrets(t *testing.T) {
	_, dir, _ := origin(t, 1, 10, `headers = { Authorization = "Bearer ${BULKDL_SURELY_UNSET_TOKEN}" }`)
	m := filepath.Join(dir, "m.toml")
	code, out, stderr := bulkdl("check", m)
	if code != 0 || !strings.Contains(stderr, "warning:") || !strings.Contains(stderr, "BULKDL_SURELY_UNSET_TOKEN is not set") || !strings.Contains(out, "(valid)") {
		t.Errorf("check with an unset ${VAR} = %d, %q; want 0, valid, and a warning", code, stderr)
	}
	if code, _, stderr := bulkdl("run", m); code != exitUsage || !strings.Contains(stderr, "BULKDL_SURELY_UNSET_TOKEN is not set") {
		t.Errorf("run with an unset ${VAR} = %d, %q; want 2 and the error", code, stderr)
	}
	// verify reads only dest: it needs no secret either (a CI step that
	// checks a mirror restored from cache may have none).
	if code, _, stderr := bulkdl("verify", m); code != exitFailed || strings.Contains(stderr, "is not set;") && !strings.Contains(stderr, "warning:") {
		t.Errorf("verify with an unset ${VAR} = %d, %q; want 1 (the file is missing), not a usage error", code, stderr)
	}
	// The example manifest says to check it; that works without its token.
	if code, _, stderr := bulkdl("check", filepath.Join("..", "..", "examples", "basic.toml")); code != 0 {
		t.Errorf("check examples/basic.toml without RELEASES_TOKEN = %d: %s", code, stderr)
	}
}
