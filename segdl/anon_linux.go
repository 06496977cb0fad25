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
	// a FIFO, so unlike OpenRegular it needs no fstat.
	//
	// Without O_NONBLOCK, os.NewFile leaves the descriptor out of the
	// netpoller (with it, an epoll_ctl per file fails with EPERM): a
	// regular file is never pollable. O_NOATIME: verify reads the bytes
	// back, and on a relatime mount that first read after a write would
	// update the atime, dirtying the inode once more in the journal; the
	// file is new and ours, so the flag is allowed (else it is dropped).
	fd := -1
	var oerr error
	if err := dc.Control(func(dfd uintptr) {
		fd, oerr = openTmpfile(int(dfd), perm)
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

// anonFlags are the flags of openAnon's open(2).
const anonFlags = unix.O_TMPFILE | unix.O_RDWR | unix.O_CLOEXEC | unix.O_NOATIME

// openTmpfile opens a file without a name in the directory dfd, with
// anonFlags, or without O_NOATIME where that is refused (EPERM: a file
// system that maps owners so that the file is not the caller's).
func openTmpfile(dfd int, perm fs.FileMode) (int, error) {
	flags := anonFlags
	if noatimeOff.Load() {
		flags &^= unix.O_NOATIME
	}
	open := func() (fd int, err error) {
		err = ignoringEINTR(func() error {
			fd, err = sysOpenat(dfd, ".", flags, uint32(perm))
			return err
		})
		return fd, err
	}
	fd, err := open()
	if err == unix.EPERM && flags&unix.O_NOATIME != 0 {
		flags &^= unix.O_NOATIME
		if fd, err = open(); err == nil {
			noatimeOff.Store(true) // refused for the flag, not the file
		}
	}
	return fd, err
}

// sysOpenat is openat(2); a test refuses O_NOATIME with it.
var sysOpenat = unix.Openat

// noatimeOff is set once O_NOATIME was refused: files are opened without it.
var noatimeOff atomic.Bool

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
