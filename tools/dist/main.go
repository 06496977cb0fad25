// Command dist builds bulkdl's release archives and checksums.txt with the
// Go toolchain alone: the same files GoReleaser publishes (.goreleaser.yaml),
// offline, byte for byte the same on every run from the same commit.
//
// Usage, from the repository root (make dist):
//
//	go run ./tools/dist [-out dist] [-version 1.2.0] [-commit HASH] [-date RFC3339] [-targets linux/amd64,...]
//
// The commit and its date default to git's HEAD; the version defaults to the
// tag on HEAD (v1.2.0 gives 1.2.0), or "devel". Every binary is static
// (CGO_ENABLED=0), built with -trimpath and without VCS stamping, and every
// archive entry carries the commit date as its time, so the output depends
// on the source and the toolchain only.
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// targets are the platforms of a release; .goreleaser.yaml lists the same.
var targets = []string{
	"darwin/amd64", "darwin/arm64",
	"freebsd/amd64",
	"linux/amd64", "linux/arm64",
	"windows/amd64", "windows/arm64",
}

// extraFiles go into every archive beside the binary.
var extraFiles = []string{"README.md", "LICENSE", "docs"}

// release is what one run of dist builds.
type release struct {
	root    string    // the repository root
	out     string    // the output directory
	version string    // "1.2.0" or "devel"
	commit  string    // full hash
	date    time.Time // the commit's date: every archive entry's time
	targets []string  // GOOS/GOARCH pairs
	goCmd   string    // the go command
	log     io.Writer
}

func main() {
	r := &release{goCmd: "go", log: os.Stderr}
	flag.StringVar(&r.root, "C", ".", "the repository root")
	flag.StringVar(&r.out, "out", "dist", "output directory (its bulkdl_*.tar.gz, bulkdl_*.zip and checksums.txt are replaced)")
	flag.StringVar(&r.version, "version", "", "version to stamp, without or with a leading v (default: HEAD's v* tag, else devel)")
	flag.StringVar(&r.commit, "commit", "", "commit to stamp (default: git rev-parse HEAD)")
	date := flag.String("date", "", "commit date, RFC 3339 (default: HEAD's committer date)")
	list := flag.String("targets", strings.Join(targets, ","), "comma-separated GOOS/GOARCH pairs")
	flag.Parse()
	r.targets = strings.Split(*list, ",")
	if err := r.fill(*date); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := r.build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// fill completes the version, commit and date from git where not given.
func (r *release) fill(date string) error {
	var err error
	if r.commit == "" {
		if r.commit, err = r.git("rev-parse", "HEAD"); err != nil {
			return fmt.Errorf("dist: no commit (pass -commit): %w", err)
		}
	}
	if date == "" {
		if date, err = r.git("log", "-1", "--format=%cI", r.commit); err != nil {
			return fmt.Errorf("dist: no commit date (pass -date): %w", err)
		}
	}
	t, err := time.Parse(time.RFC3339, date)
	if err != nil {
		return fmt.Errorf("dist: -date: %w", err)
	}
	r.date = t.UTC()
	if r.version == "" {
		r.version = "devel"
		if tag, err := r.git("describe", "--tags", "--exact-match", "--match", "v[0-9]*", r.commit); err == nil {
			r.version = tag
		}
	}
	r.version = strings.TrimPrefix(r.version, "v")
	if r.version == "" || strings.ContainsAny(r.version, `/\ `) {
		return fmt.Errorf("dist: bad version %q", r.version)
	}
	return nil
}

func (r *release) git(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", r.root}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(string(out)), nil
}

// archiveName is the file name GoReleaser gives the archive of a target.
func (r *release) archiveName(goos, goarch string) string {
	ext := ".tar.gz"
	if goos == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("bulkdl_%s_%s_%s%s", r.version, goos, goarch, ext)
}

// ldflags are those of .goreleaser.yaml's build.
func (r *release) ldflags() string {
	v := ""
	if r.version != "devel" {
		v = " -X main.version=" + r.version
	}
	return "-s -w" + v + " -X main.commit=" + r.commit + " -X main.date=" + r.date.Format(time.RFC3339)
}

func (r *release) build() error {
	files, err := r.collect()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	// Archives of an earlier run, never anything else (GoReleaser's
	// directories may share dist/).
	old, _ := filepath.Glob(filepath.Join(r.out, "bulkdl_*.tar.gz"))
	zips, _ := filepath.Glob(filepath.Join(r.out, "bulkdl_*.zip"))
	for _, f := range append(append(old, zips...), filepath.Join(r.out, "checksums.txt")) {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("dist: %w", err)
		}
	}
	tmp, err := os.MkdirTemp("", "bulkdl-dist-")
	if err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	defer os.RemoveAll(tmp)
	sums := map[string]string{}
	for _, t := range r.targets {
		goos, goarch, ok := strings.Cut(t, "/")
		if !ok {
			return fmt.Errorf("dist: target %q: want GOOS/GOARCH", t)
		}
		bin := "bulkdl"
		if goos == "windows" {
			bin += ".exe"
		}
		exe := filepath.Join(tmp, goos+"_"+goarch, bin)
		fmt.Fprintf(r.log, "dist: building %s\n", t)
		cmd := exec.Command(r.goCmd, "build", "-trimpath", "-buildvcs=false", "-ldflags", r.ldflags(), "-o", exe, "./cmd/bulkdl")
		cmd.Dir = r.root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
		cmd.Stdout, cmd.Stderr = r.log, r.log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("dist: go build for %s: %w", t, err)
		}
		entries := append([]entry{{name: bin, src: exe, mode: 0o755}}, files...)
		name := r.archiveName(goos, goarch)
		var buf bytes.Buffer
		if goos == "windows" {
			err = writeZip(&buf, entries, r.date)
		} else {
			err = writeTarGz(&buf, entries, r.date)
		}
		if err != nil {
			return fmt.Errorf("dist: %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(r.out, name), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("dist: %w", err)
		}
		sums[name] = fmt.Sprintf("%x", sha256.Sum256(buf.Bytes()))
	}
	var b strings.Builder
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	if err := os.WriteFile(filepath.Join(r.out, "checksums.txt"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	fmt.Fprintf(r.log, "dist: %d archives and checksums.txt in %s\n", len(names), r.out)
	return nil
}

// collect lists extraFiles, directories expanded, in a fixed order.
func (r *release) collect() ([]entry, error) {
	var es []entry
	for _, f := range extraFiles {
		err := filepath.WalkDir(filepath.Join(r.root, f), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(r.root, p)
			if err != nil {
				return err
			}
			es = append(es, entry{name: filepath.ToSlash(rel), src: p, mode: 0o644})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("dist: %w", err)
		}
	}
	return es, nil
}
