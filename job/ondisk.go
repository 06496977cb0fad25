package job

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/bulkdl/bulkdl/state"
)

// lister answers what is at the paths of a manifest with one listing per
// directory instead of one stat per file: a path whose name a listing
// rules out costs nothing, so a fresh dest costs no call per file. Any
// path a listing cannot rule out is stat'ed, as before.
//
// Ruling out is kept safe where names compare without regard to case or
// form (macOS, Windows, ext4 casefold directories): only a name of
// letters, digits, '.', '_' and '-' (no '~', which a Windows 8.3 short
// name has; not ending in '.', which Windows strips) is ruled out, and
// only if no listed name equals it ignoring ASCII case and the directory
// lists no name outside ASCII (which could fold to it, as the Kelvin sign
// folds to k).
//
// A directory is listed only if the manifest has at least listMin paths in
// it (see expect): listing costs a read of every name in it, which a few
// paths into a large existing directory would not pay back.
type lister struct {
	root *os.Root
	dirs map[string]*listing
	// Paths of the manifest per directory, from expect; nil: list every
	// directory.
	want map[string]int
}

// listMin is how many paths of a manifest a directory needs to be listed
// rather than its paths stat'ed: a stat is one call, a listing three (open,
// read, close) plus one read per 1024 names already there.
const listMin = 32

// expect tells l that p will be asked about.
func (l *lister) expect(p string) {
	if l.want == nil {
		l.want = map[string]int{}
	}
	l.want[path.Dir(path.Clean(p))]++
}

// listing is what one directory held when it was listed.
type listing struct {
	ok     bool            // listed (or known not to exist); if not, stat everything
	folded map[string]bool // its names, ASCII lower-cased
}

// onDisk says what is at p under root.
func (l *lister) onDisk(p string) OnDisk {
	dir, name := path.Split(path.Clean(p))
	if l.absent(path.Clean(dir), name) {
		return OnDisk{}
	}
	size, mtime, err := state.Stat(l.root, p)
	return OnDisk{Exists: err == nil, Size: size, ModTime: mtime}
}

// absent reports whether the listing of dir rules out name.
func (l *lister) absent(dir, name string) bool {
	if !plainName(name) || l.want != nil && l.want[dir] < listMin {
		return false
	}
	ls, ok := l.dirs[dir]
	if !ok {
		ls = list(l.root, dir)
		if l.dirs == nil {
			l.dirs = map[string]*listing{}
		}
		l.dirs[dir] = ls
	}
	return ls.ok && !ls.folded[asciiLower(name)]
}

// list lists dir under root.
func list(root *os.Root, dir string) *listing {
	f, err := state.OpenDir(root, dir)
	if errors.Is(err, fs.ErrNotExist) {
		// Nothing under a directory that is not there (the error would
		// not be ErrNotExist for a file in the way: ENOTDIR).
		return &listing{ok: true}
	}
	if err != nil {
		return &listing{}
	}
	defer f.Close()
	ls := &listing{ok: true, folded: map[string]bool{}}
	for {
		names, err := f.Readdirnames(1024)
		for _, n := range names {
			for i := 0; i < len(n); i++ {
				if n[i] >= 0x80 {
					return &listing{}
				}
			}
			ls.folded[asciiLower(n)] = true
		}
		if errors.Is(err, io.EOF) {
			return ls
		}
		if err != nil {
			return &listing{}
		}
	}
}

// plainName reports whether a listing may rule out name (see lister).
func plainName(name string) bool {
	if name == "" || strings.HasSuffix(name, ".") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
