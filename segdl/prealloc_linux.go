package segdl

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate gives f its final size. fallocate reserves the blocks, so a
// disk that cannot hold the file fails now with ENOSPC instead of part-way
// through, and concurrent writers at scattered offsets find the blocks
// already allocated. Filesystems without fallocate get a sparse file.
func preallocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if err == nil || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return err
	}
	return f.Truncate(size) // EOPNOTSUPP, ENOSYS, EINVAL: not supported here
}
