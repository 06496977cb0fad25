package job

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestListingNeverHidesAFile: the listing may rule a path out only where
// a stat could not find anything there either, also on file systems that
// ignore case (macOS, Windows), where stat finds "file.bin" under
// "FILE.BIN". It must never say a file is absent that is there.
func TestListingNeverHidesAFile(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"file.bin", "a/data-1.csv", "u/caf\u00e9.txt", "k/\u212aelvin", "s/LONGFI~1.TXT"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "blocker"), []byte("x"), 0o644)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cases := []struct {
		dir, name string
		absent    bool // what the listing may say
	}{
		{".", "file.bin", false},
		{".", "FILE.BIN", false},          // the same file where case is ignored
		{".", "other.bin", true},          // surely not there
		{"a", "DATA-1.csv", false},        // ditto, in a subdirectory
		{"a", "data-2.csv", true},         //
		{"u", "cafe.txt", false},          // a directory with a name outside ASCII: stat
		{"k", "kelvin", false},            // the Kelvin sign folds to k
		{"s", "longfile.txt", true},       // a short name does not stand for it
		{".", "file.bin.", false},         // Windows strips the dot
		{"missing", "x.bin", true},        // nothing under a directory not there
		{"blocker", "x.bin", false},       // a file in the way: stat says what
		{".", "caf\u00e9.txt", false},     // a name outside ASCII: stat
		{".", "LONGFI~1.TXT", false},      // a short name: stat
		{"missing/deeper", "x.bin", true}, //
	}
	l := &lister{root: root}
	for _, c := range cases {
		if got := l.absent(c.dir, c.name); got != c.absent {
			t.Errorf("absent(%q, %q) = %v; want %v", c.dir, c.name, got, c.absent)
		}
	}
	// And what onDisk says agrees with a stat, for every path.
	for _, p := range []string{"file.bin", "FILE.BIN", "other.bin", "a/data-1.csv", "a/DATA-1.CSV", "missing/x.bin", "u/caf\u00e9.txt"} {
		_, serr := root.Stat(p)
		if got := l.onDisk(p).Exists; got != (serr == nil) {
			t.Errorf("onDisk(%q).Exists = %v; stat says %v", p, got, serr == nil)
		}
	}
}

// TestFewPathsIntoADirectoryAreStatedNotListed: a directory is read in
// full only for a manifest with enough paths in it to pay for that; a few
// files into a large existing directory cost a stat each. Either way what
// onDisk says agrees with a stat.
func TestFewPathsIntoADirectoryAreStatedNotListed(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"few", "many"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
		for i := range 200 {
			os.WriteFile(filepath.Join(dir, d, fmt.Sprintf("old-%d", i)), nil, 0o644)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cases := []struct {
		dir    string
		paths  int // of the manifest in dir, one of them there already
		listed bool
	}{
		{"few", 3, false},
		{"few", listMin - 1, false},
		{"many", listMin, true},
	}
	for _, c := range cases {
		l := &lister{root: root}
		var paths []string
		for i := range c.paths - 1 {
			paths = append(paths, fmt.Sprintf("%s/new-%d", c.dir, i))
		}
		paths = append(paths, c.dir+"/old-7")
		for _, p := range paths {
			l.expect(p)
		}
		for _, p := range paths {
			_, serr := root.Stat(p)
			if got := l.onDisk(p).Exists; got != (serr == nil) {
				t.Errorf("onDisk(%q).Exists = %v; stat says %v", p, got, serr == nil)
			}
		}
		if _, listed := l.dirs[c.dir]; listed != c.listed {
			t.Errorf("%d paths into %s: listed %v; want %v", len(paths), c.dir, listed, c.listed)
		}
	}
}
