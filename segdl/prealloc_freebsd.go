//go:build freebsd && (amd64 || arm64 || riscv64)

package segdl

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate gives f its final size. posix_fallocate reserves the blocks
// on UFS, so a disk that cannot hold the file fails now with ENOSPC; ZFS,
// copy-on-write, refuses it (EINVAL), and gets a plain ftruncate, as do
// other filesystems without it.
//
// x/sys/unix has no wrapper for it on FreeBSD. The system call returns
// its error as its result rather than through errno; both are checked.
// Only 64-bit platforms are built here, where off_t fits one register.
func preallocate(f *os.File, size int64) error {
	r, _, errno := unix.Syscall(unix.SYS_POSIX_FALLOCATE, f.Fd(), 0, uintptr(size))
	err := error(nil)
	if errno != 0 {
		err = errno
	} else if r != 0 {
		err = unix.Errno(r)
	}
	if err == nil || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return err
	}
	return f.Truncate(size)
}
