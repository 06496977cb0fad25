package segdl

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// openAnon opens a new file without a name in the open directory dir
// (O_TMPFILE), named name for messages: a kill or a crash before linkAnon
// names it leaves nothing behind, and naming it is one link instead of a
// create and a rename. The directory is one the root opened, so the file
// is inside it, and opening at the directory resolves no path per file.
// It fails with errNoAnon where that cannot work: a file system without
// O_TMPFILE (then no other file tries it in this process), or no way to
// name the file later (no /proc and no CAP_DAC_READ_SEARCH).
func openAnon(dir *os.File, name string, perm fs.FileMode) (*os.File, error) {
	if !anonUsable() {
		return nil, errNoAnon
	}
	dc, err := dir.SyscallConn()
	if err != nil {
		return nil, err
	}
	// The file is created regular, with perm less the umask: it cannot be
	// a FIFO, so unlike OpenRegular it needs no fstat. O_NONBLOCK changes
	// nothing for a regular file but spares four fcntl calls in os.File,
	// which otherwise tries the netpoller in blocking mode and back.
	fd := -1
	var oerr error
	if err := dc.Control(func(dfd uintptr) {
		oerr = ignoringEINTR(func() error {
			fd, oerr = unix.Openat(int(dfd), ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, uint32(perm))
			return oerr
		})
	}); err != nil {
		return nil, err
	}
	if oerr == unix.EOPNOTSUPP || oerr == unix.EISDIR || oerr == unix.EINVAL {
		anonOff.Store(true)
		return nil, errNoAnon
	}
	if oerr != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: oerr}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// anonUsable reports whether openAnon may work, without a call: not once
// a file system refused, nor without /proc.
func anonUsable() bool { return !anonOff.Load() && procFD() }

// anonOff is set once a file system refused O_TMPFILE: the rest of the run
// uses named temporary files without asking again.
var anonOff atomic.Bool

// procFD reports whether /proc/self/fd is there, which linkAnon needs
// without CAP_DAC_READ_SEARCH.
var procFD = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
})

// linkMode is how linkAnon names a file: 0 not known yet, 1 linkat with
// AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH), 2 linkat of /proc/self/fd/N.
var linkMode atomic.Int32

// linkAnon gives f, opened by openAnon, the name name in the directory
// dir: an error matching fs.ErrExist if the name is taken. name is one
// element, so nothing is resolved outside dir, and dir was opened through
// the root.
func linkAnon(dir, f *os.File, name string) error {
	fc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	dc, err := dir.SyscallConn()
	if err != nil {
		return err
	}
	var lerr, derr error
	cerr := fc.Control(func(fd uintptr) {
		derr = dc.Control(func(dfd uintptr) {
			lerr = linkat(int(fd), int(dfd), name)
		})
	})
	if err := errors.Join(cerr, derr); err != nil {
		return err
	}
	if lerr != nil {
		return &fs.PathError{Op: "linkat", Path: name, Err: lerr}
	}
	return nil
}

func linkat(fd, dirfd int, name string) error {
	mode := linkMode.Load()
	if mode != 2 {
		err := ignoringEINTR(func() error { return unix.Linkat(fd, "", dirfd, name, unix.AT_EMPTY_PATH) })
		if err != unix.ENOENT || mode == 1 {
			if err == nil {
				linkMode.Store(1)
			}
			return err
		}
		// ENOENT: AT_EMPTY_PATH without CAP_DAC_READ_SEARCH.
	}
	err := ignoringEINTR(func() error {
		return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dirfd, name, unix.AT_SYMLINK_FOLLOW)
	})
	if err == nil {
		linkMode.Store(2)
	}
	return err
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}
