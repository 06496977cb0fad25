package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// A release as the tests build it: fixed, so that its output is known.
const (
	testVersion = "1.2.3"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
	testDate    = "2026-01-02T03:04:05Z"
)

var hostTarget = runtime.GOOS + "/" + runtime.GOARCH

// buildRelease runs dist for targets into out.
func buildRelease(out string, targets ...string) error {
	date, _ := time.Parse(time.RFC3339, testDate)
	var log bytes.Buffer
	r := &release{root: filepath.Join("..", ".."), out: out, version: testVersion, commit: testCommit,
		date: date, targets: targets, goCmd: goCmd(), log: &log}
	if err := r.build(); err != nil {
		return fmt.Errorf("%w\n%s", err, log.Bytes())
	}
	return nil
}

// needGo skips a test that builds when there is no go command (as for
// the test binary built for Windows and run under Wine).
func needGo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(goCmd()); err != nil {
		t.Skip("no go command to build with")
	}
}

func goCmd() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// hostRelease is one release for the host's platform, shared by the tests
// (a build takes seconds to minutes).
var hostRelease struct {
	once sync.Once
	dir  string
	err  error
}

func hostDist(t *testing.T) string {
	t.Helper()
	needGo(t)
	hostRelease.once.Do(func() {
		hostRelease.dir, hostRelease.err = os.MkdirTemp("", "bulkdl-dist-test-")
		if hostRelease.err == nil {
			hostRelease.err = buildRelease(hostRelease.dir, hostTarget)
		}
	})
	if hostRelease.err != nil {
		t.Fatal(hostRelease.err)
	}
	return hostRelease.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if hostRelease.dir != "" {
		os.RemoveAll(hostRelease.dir)
	}
	os.Exit(code)
}

func archiveFor(goos, goarch string) string {
	return (&release{version: testVersion}).archiveName(goos, goarch)
}

// wantEntries are the names every archive holds besides the binary.
func wantEntries(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join("..", "..", "docs", "*"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	names := []string{"LICENSE", "README.md"}
	for _, d := range docs {
		names = append(names, "docs/"+filepath.Base(d))
	}
	return names
}

func sorted(names []string) string {
	sort.Strings(names)
	return strings.Join(names, " ")
}

func TestDistIsReproducible(t *testing.T) {
	first := hostDist(t)
	second := t.TempDir()
	// What an earlier run of another version, and GoReleaser, left there.
	stale := filepath.Join(second, "bulkdl_0.0.1_linux_amd64.tar.gz")
	theirs := filepath.Join(second, "bulkdl_linux_amd64_v1", "bulkdl")
	os.MkdirAll(filepath.Dir(theirs), 0o755)
	for _, f := range []string{stale, theirs} {
		if err := os.WriteFile(f, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := buildRelease(second, hostTarget); err != nil {
		t.Fatal(err)
	}
	if fileExists(stale) || !fileExists(theirs) {
		t.Errorf("after a run, the stale archive exists: %v, GoReleaser's build exists: %v; want false, true", fileExists(stale), fileExists(theirs))
	}
	for _, name := range []string{"checksums.txt", archiveFor(runtime.GOOS, runtime.GOARCH)} {
		a, err1 := os.ReadFile(filepath.Join(first, name))
		b, err2 := os.ReadFile(filepath.Join(second, name))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs (%v, %v)", name, err1, err2)
		}
	}
}

func TestArchiveHoldsBinaryDocsAndLicenseWithFixedTimes(t *testing.T) {
	dir := hostDist(t)
	name := archiveFor(runtime.GOOS, runtime.GOARCH)
	if runtime.GOOS == "windows" {
		t.Skip("the host archive is a zip; TestWindowsZipRunsUnderWine reads one")
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if !gz.ModTime.IsZero() || gz.Name != "" {
		t.Errorf("gzip header has time %v, name %q; want none", gz.ModTime, gz.Name)
	}
	tr := tar.NewReader(gz)
	want, _ := time.Parse(time.RFC3339, testDate)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(want) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: time %v, owner %d:%d %q; want %v, 0:0", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, want)
		}
		wantMode := int64(0o644)
		if h.Name == "bulkdl" {
			wantMode = 0o755
		}
		if h.Mode != wantMode {
			t.Errorf("%s: mode %o; want %o", h.Name, h.Mode, wantMode)
		}
	}
	if got, want := sorted(names), sorted(append([]string{"bulkdl"}, wantEntries(t)...)); got != want {
		t.Errorf("%s holds %s; want %s", name, got, want)
	}
}

// TestLinuxArchiveRuns does what a user does: check the download against
// checksums.txt, unpack it with tar, run the binary.
func TestLinuxArchiveRuns(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs the linux archive's binary")
	}
	dir := hostDist(t)
	name := archiveFor("linux", runtime.GOARCH)
	if sha, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sha, "-c", "checksums.txt")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), name+": OK") {
			t.Errorf("sha256sum -c checksums.txt: %v\n%s", err, out)
		}
	}
	unpacked := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", filepath.Join(dir, name), "-C", unpacked).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	bin := filepath.Join(unpacked, "bulkdl")
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("bulkdl version: %v", err)
	}
	want := fmt.Sprintf("bulkdl %s\ncommit   %s\ndate     %s\ngo       %s\nplatform linux/%s\n",
		testVersion, testCommit, testDate, runtime.Version(), runtime.GOARCH)
	if string(out) != want {
		t.Errorf("bulkdl version =\n%s\nwant\n%s", out, want)
	}
	// Static, so that it runs on any Linux and in a distroless image.
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the linux binary names a dynamic loader; want a static binary (CGO_ENABLED=0)")
		}
	}
	if ef.Section(".symtab") != nil {
		t.Errorf("the linux binary has a symbol table; want it stripped (-s -w)")
	}
}

// TestWindowsZipRunsUnderWine runs the Windows zip's bulkdl.exe under Wine
// (../shared/wine/setup prepares it; CI installs it). Wine is a smoke test
// of the build, not Windows.
func TestWindowsZipRunsUnderWine(t *testing.T) {
	wine, err := exec.LookPath("wine")
	if err != nil {
		if os.Getenv("BULKDL_REQUIRE_WINE") == "1" { // make test-wine
			t.Fatal("wine is not installed")
		}
		t.Skip("wine is not installed (make test-wine installs it)")
	}
	needGo(t)
	dir := t.TempDir()
	if err := buildRelease(dir, "windows/amd64"); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(filepath.Join(dir, archiveFor("windows", "amd64")))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	unpacked := t.TempDir()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name != "bulkdl.exe" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(unpacked, f.Name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := sorted(names), sorted(append([]string{"bulkdl.exe"}, wantEntries(t)...)); got != want {
		t.Errorf("the zip holds %s; want %s", got, want)
	}
	cmd := exec.Command(wine, filepath.Join(unpacked, "bulkdl.exe"), "version")
	cmd.Env = append(os.Environ(), "WINEDEBUG=-all")
	if os.Getenv("WINEPREFIX") == "" {
		// The prefix ../shared/wine/setup prepares, with the DLL Go needs.
		if home, err := os.UserHomeDir(); err == nil && fileExists(filepath.Join(home, ".wine-bulkdl")) {
			cmd.Env = append(cmd.Env, "WINEPREFIX="+filepath.Join(home, ".wine-bulkdl"))
		}
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wine bulkdl.exe version: %v\n%s", err, out)
	}
	got := strings.ReplaceAll(string(out), "\r\n", "\n")
	for _, want := range []string{"bulkdl " + testVersion + "\n", "commit   " + testCommit + "\n", "platform windows/amd64\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("wine bulkdl.exe version = %q; want it to contain %q", got, want)
		}
	}
}
