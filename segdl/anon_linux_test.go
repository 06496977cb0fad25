package segdl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLinkWithoutPrivilege: without CAP_DAC_READ_SEARCH (most users), a
// file without a name is named through /proc/self/fd; both ways give the
// name the file's bytes, and a taken name is reported as fs.ErrExist.
func TestLinkWithoutPrivilege(t *testing.T) {
	for _, c := range []struct {
		name string
		mode int32
	}{{"AT_EMPTY_PATH, or /proc when refused", 0}, {"/proc/self/fd", 2}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			if !anonSupported(t, root) {
				t.Skip("no files without a name here")
			}
			old := linkMode.Load()
			linkMode.Store(c.mode)
			defer linkMode.Store(old)
			os.WriteFile(filepath.Join(dir, "taken"), []byte("old"), 0o644)
			h, err := root.Open(".")
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			f, err := openAnon(h, "new", 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			f.WriteString("new")
			if err := linkAnon(h, f, "taken"); !errorsIsExist(err) {
				t.Errorf("linking onto a taken name: %v; want fs.ErrExist", err)
			}
			if err := linkAnon(h, f, "out"); err != nil {
				t.Fatalf("link: %v", err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != "new" {
				t.Errorf("the name holds %q; want %q", b, "new")
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "taken")); string(b) != "old" {
				t.Errorf("the taken name holds %q; want it untouched", b)
			}
		})
	}
}

func errorsIsExist(err error) bool { return errors.Is(err, fs.ErrExist) }

// TestAnonReadBackLeavesInode: verify reads a file's bytes back, and that
// read must not update its atime (a relatime mount would, once after each
// write: one more inode change in the journal per file). The file is also
// opened blocking: a regular file never goes into the netpoller, and an
// O_NONBLOCK one costs os.NewFile a failing epoll_ctl per file.
func TestAnonReadBackLeavesInode(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if !anonSupported(t, root) {
		t.Skip("no files without a name here")
	}
	h, err := root.Open(".")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	old := time.Unix(1_000_000_000, 0)
	// readBack writes f, dates its atime back to old, reads it back and
	// returns its atime afterwards; name is a path to f for utimensat.
	readBack := func(f *os.File, name string) time.Time {
		t.Helper()
		if _, err := f.WriteAt([]byte("bytes"), 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(name, old, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ReadAt(make([]byte, 5), 0); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		return time.Unix(st.Atim.Unix())
	}
	named, err := os.Create(filepath.Join(dir, "named"))
	if err != nil {
		t.Fatal(err)
	}
	defer named.Close()
	if readBack(named, named.Name()).Equal(old) {
		t.Skip("this file system does not update atimes on read")
	}
	f, err := openAnon(h, "new", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if noatimeOff.Load() {
		t.Skip("this file system refuses O_NOATIME (TestAnonWithoutNoatime covers the fallback)")
	}
	if got := readBack(f, "/proc/self/fd/"+strconv.Itoa(int(f.Fd()))); !got.Equal(old) {
		t.Errorf("reading back a file without a name set its atime to %v; want it left at %v", got, old)
	}
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fl&unix.O_NONBLOCK != 0 {
		t.Errorf("file without a name opened O_NONBLOCK (flags %#x): os.NewFile tries the netpoller for it", fl)
	}
}

// TestAnonWithoutNoatime: where O_NOATIME is refused (EPERM), a file
// without a name is still opened, without the flag, and the rest of the
// run does not ask again.
func TestAnonWithoutNoatime(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if !anonSupported(t, root) {
		t.Skip("no files without a name here")
	}
	h, err := root.Open(".")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	refused := 0
	sysOpenat = func(dfd int, path string, flags int, mode uint32) (int, error) {
		if flags&unix.O_NOATIME != 0 {
			refused++
			return -1, unix.EPERM
		}
		return unix.Openat(dfd, path, flags, mode)
	}
	defer func() { sysOpenat = unix.Openat; noatimeOff.Store(false) }()
	for range 2 {
		f, err := openAnon(h, "new", 0o644)
		if err != nil {
			t.Fatalf("O_NOATIME refused: %v; want the file opened without it", err)
		}
		f.Close()
	}
	if refused != 1 {
		t.Errorf("O_NOATIME asked for %d times; want once, then not again", refused)
	}
}
