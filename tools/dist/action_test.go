package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// runnerNames are the RUNNER_OS and RUNNER_ARCH of a GitHub runner like
// this machine.
func runnerNames(t *testing.T) (string, string) {
	t.Helper()
	oses := map[string]string{"linux": "Linux", "darwin": "macOS", "freebsd": "FreeBSD"}
	arches := map[string]string{"amd64": "X64", "arm64": "ARM64"}
	os, arch := oses[runtime.GOOS], arches[runtime.GOARCH]
	if os == "" || arch == "" {
		t.Skipf("no release archive for %s", hostTarget)
	}
	return os, arch
}

// releaseSite serves files in dirs laid out as GitHub serves releases:
// /download/vX.Y.Z/FILE and /latest/download/FILE.
func releaseSite(t *testing.T, dirs []string, files map[string][]byte) *httptest.Server {
	t.Helper()
	root := t.TempDir()
	for _, dir := range dirs {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(root, dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	t.Cleanup(srv.Close)
	return srv
}

// evilArchive is a tar.gz whose bulkdl is a script that leaves a mark.
func evilArchive(t *testing.T, mark string) []byte {
	t.Helper()
	script := []byte("#!/bin/sh\ntouch '" + mark + "'\n")
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "bulkdl", Mode: 0o755, Size: int64(len(script)), Typeflag: tar.TypeReg})
	tw.Write(script)
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func TestAction(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	runnerOS, runnerArch := runnerNames(t)
	dist := hostDist(t)
	name := archiveFor(runtime.GOOS, runtime.GOARCH)
	archive, err := os.ReadFile(filepath.Join(dist, name))
	if err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// A checksums.txt that, like a real one, lists other platforms too.
	sums = append(sums, fmt.Sprintf("%064x  bulkdl_%s_plan9_amd64.tar.gz\n", 1, testVersion)...)

	// The origin the manifest downloads from.
	payload := bytes.Repeat([]byte("bulkdl action test\n"), 5000)
	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		http.ServeContent(w, r, "data.bin", time.Time{}, bytes.NewReader(payload))
	}))
	defer origin.Close()
	manifest := fmt.Sprintf("[settings]\ndest = \"mirror\"\n\n[[file]]\nurl = %q\nchecksum = \"sha256:%x\"\n",
		origin.URL+"/data.bin", sha256.Sum256(payload))

	const pinned, latest = "download/v" + testVersion, "latest/download"
	cases := []struct {
		name       string
		env        []string          // on top of a runner like this machine
		dir        string            // where the release is; default both
		files      map[string][]byte // the release site
		wantCode   int
		wantStderr string
		wantRun    bool
	}{
		{name: "a pinned version runs", env: []string{"INPUT_VERSION=v" + testVersion}, dir: pinned,
			files: map[string][]byte{name: archive, "checksums.txt": sums}, wantRun: true},
		{name: "the action's own tag picks the version", env: []string{"ACTION_REF=v" + testVersion}, dir: pinned,
			files: map[string][]byte{name: archive, "checksums.txt": sums}, wantRun: true},
		{name: "a major-version ref means latest", env: []string{"ACTION_REF=v1"}, dir: latest,
			files: map[string][]byte{name: archive, "checksums.txt": sums}, wantRun: true},
		{name: "a major-version ref never runs another major", env: []string{"ACTION_REF=v2"}, dir: latest,
			files: map[string][]byte{name: archive, "checksums.txt": sums}, wantCode: 1, wantStderr: "the latest release is " + testVersion + ", of another major version"},
		{name: "latest finds the archive through checksums.txt", dir: latest,
			files: map[string][]byte{name: archive, "checksums.txt": sums}, wantRun: true},
		{name: "an archive that does not match checksums.txt is never run", env: []string{"INPUT_VERSION=" + testVersion},
			files: map[string][]byte{name: nil, "checksums.txt": sums}, wantCode: 1, wantStderr: "refusing to run it"},
		{name: "an unknown OS fails and says which", env: []string{"RUNNER_OS=Plan9"},
			files: map[string][]byte{name: archive, "checksums.txt": sums}, wantCode: 1, wantStderr: `runner's OS "Plan9"`},
		{name: "an unknown architecture fails and says which", env: []string{"RUNNER_ARCH=X86"},
			files: map[string][]byte{name: archive, "checksums.txt": sums}, wantCode: 1, wantStderr: `runner's architecture "X86"`},
		{name: "a platform the release lacks fails and says which", env: []string{"RUNNER_OS=Windows"},
			files: map[string][]byte{name: archive, "checksums.txt": sums}, wantCode: 1, wantStderr: "has no archive for windows/"},
		{name: "a missing release fails", env: []string{"INPUT_VERSION=9.9.9"},
			files: map[string][]byte{name: archive, "checksums.txt": sums}, wantCode: 1, wantStderr: "could not download"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			mark := filepath.Join(work, "evil-ran")
			if c.files[name] == nil {
				c.files = map[string][]byte{name: evilArchive(t, mark), "checksums.txt": c.files["checksums.txt"]}
			}
			dirs := []string{pinned, latest}
			if c.dir != "" {
				dirs = []string{c.dir}
			}
			site := releaseSite(t, dirs, c.files)
			if err := os.WriteFile(filepath.Join(work, "m.toml"), []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			output, path := filepath.Join(work, "github-output"), filepath.Join(work, "github-path")
			cmd := exec.Command(bash, mustAbs(t, filepath.Join("..", "..", "scripts", "action.sh")))
			cmd.Dir = work
			cmd.Env = append(os.Environ(),
				"BULKDL_RELEASE_URL="+site.URL, "RUNNER_OS="+runnerOS, "RUNNER_ARCH="+runnerArch,
				"RUNNER_TEMP="+t.TempDir(), "GITHUB_OUTPUT="+output, "GITHUB_PATH="+path,
				"INPUT_MANIFEST=m.toml", "INPUT_ARGS=-progress plain -c 2", "INPUT_REPORT=bulkdl-report.json",
				"INPUT_VERSION=", "ACTION_REF=")
			cmd.Env = append(cmd.Env, c.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			before := originHits.Load()
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if err != nil && code < 0 {
				t.Fatal(err)
			}
			if code != c.wantCode || !strings.Contains(stderr.String(), c.wantStderr) {
				t.Fatalf("action.sh = %d, stderr:\n%s\nwant %d and %q", code, stderr.String(), c.wantCode, c.wantStderr)
			}
			if fileExists(mark) {
				t.Errorf("the archive that failed its checksum was run")
			}
			got, _ := os.ReadFile(filepath.Join(work, "mirror", "data.bin"))
			if ran := originHits.Load() > before; ran != c.wantRun || (c.wantRun && !bytes.Equal(got, payload)) {
				t.Fatalf("bulkdl ran: %v (want %v); mirror/data.bin has %d bytes\nstdout:\n%s\nstderr:\n%s", ran, c.wantRun, len(got), stdout.String(), stderr.String())
			}
			if !c.wantRun {
				return
			}
			if !fileExists(filepath.Join(work, "bulkdl-report.json")) {
				t.Errorf("no report at the path the action gave")
			}
			out, _ := os.ReadFile(output)
			for _, want := range []string{"report=bulkdl-report.json\n", "version=" + testVersion + "\n", "bin="} {
				if !strings.Contains(string(out), want) {
					t.Errorf("GITHUB_OUTPUT = %q; want %q in it", out, want)
				}
			}
			dir, _ := os.ReadFile(path)
			if !fileExists(filepath.Join(strings.TrimSpace(string(dir)), "bulkdl")) {
				t.Errorf("GITHUB_PATH = %q: no bulkdl there for later steps", dir)
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestActionPicksTheRunnersArchive gives the script a release whose every
// archive holds a stand-in bulkdl (a shell script that records its
// arguments), so that the choice of archive, its unpacking (zip for
// Windows) and the command line are checked for every runner on this one.
func TestActionPicksTheRunnersArchive(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	for _, tool := range []string{"curl", "unzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	dir := t.TempDir()
	stub := func(platform string) []byte {
		return []byte("#!/bin/sh\nif [ \"$1\" = version ]; then echo 'bulkdl " + testVersion + "'; echo 'platform " + platform + "'; exit 0; fi\n" +
			"printf '%s\\n' " + platform + " \"$@\" > \"$STUB_ARGS\"\n")
	}
	files := map[string][]byte{}
	var sums strings.Builder
	for _, target := range targets {
		goos, goarch, _ := strings.Cut(target, "/")
		name := archiveFor(goos, goarch)
		exe := "bulkdl"
		if goos == "windows" {
			exe += ".exe"
		}
		src := filepath.Join(dir, target, exe)
		os.MkdirAll(filepath.Dir(src), 0o755)
		if err := os.WriteFile(src, stub(target), 0o755); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		entries := []entry{{name: exe, src: src, mode: 0o755}}
		if goos == "windows" {
			err = writeZip(&buf, entries, time.Time{})
		} else {
			err = writeTarGz(&buf, entries, time.Time{})
		}
		if err != nil {
			t.Fatal(err)
		}
		files[name] = buf.Bytes()
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(buf.Bytes()), name)
	}
	files["checksums.txt"] = []byte(sums.String())
	site := releaseSite(t, []string{"download/v" + testVersion}, files)
	cases := []struct{ runnerOS, runnerArch, want string }{
		{"Linux", "X64", "linux/amd64"},
		{"Linux", "ARM64", "linux/arm64"},
		{"macOS", "ARM64", "darwin/arm64"},
		{"macOS", "X64", "darwin/amd64"},
		{"Windows", "X64", "windows/amd64"},
		{"Windows", "ARM64", "windows/arm64"},
	}
	for _, c := range cases {
		t.Run(c.runnerOS+" "+c.runnerArch, func(t *testing.T) {
			work := t.TempDir()
			argsFile := filepath.Join(work, "args")
			cmd := exec.Command(bash, mustAbs(t, filepath.Join("..", "..", "scripts", "action.sh")))
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "BULKDL_RELEASE_URL="+site.URL, "RUNNER_OS="+c.runnerOS, "RUNNER_ARCH="+c.runnerArch,
				"RUNNER_TEMP="+t.TempDir(), "GITHUB_OUTPUT=", "GITHUB_PATH=", "STUB_ARGS="+argsFile,
				"INPUT_VERSION="+testVersion, "INPUT_MANIFEST=ci/my manifest.toml", "INPUT_ARGS= -c 16\n  -shard 0/4 ", "INPUT_REPORT=out/report.json")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("action.sh: %v\n%s", err, out)
			}
			got, _ := os.ReadFile(argsFile)
			want := c.want + "\nrun\n-report\nout/report.json\n-c\n16\n-shard\n0/4\nci/my manifest.toml\n"
			if string(got) != want {
				t.Errorf("ran %q; want %q", got, want)
			}
		})
	}
}
