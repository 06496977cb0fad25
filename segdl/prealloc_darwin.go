package segdl

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate gives f its final size. F_PREALLOCATE reserves the blocks
// (APFS and HFS+), so a disk that cannot hold the file fails now with
// ENOSPC instead of part-way through; ftruncate then sets the size, which
// F_PREALLOCATE does not. Filesystems without it (SMB, exFAT, NFS) get a
// plain ftruncate.
func preallocate(f *os.File, size int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if more := size - st.Size(); more > 0 {
		fs := &unix.Fstore_t{Flags: unix.F_ALLOCATEALL, Posmode: unix.F_PEOFPOSMODE, Length: more}
		err := unix.FcntlFstore(f.Fd(), unix.F_PREALLOCATE, fs)
		if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
			return err
		}
	}
	return f.Truncate(size)
}
