package segdl

import (
	"os"

	"golang.org/x/sys/windows"
)

// preallocate marks f sparse, then sets its size.
//
// NTFS keeps one valid data length per file, below which bytes were
// written and above which they read as zeros. A write past it, in a file
// that is not sparse, first makes NTFS write zeros from the valid data
// length up to the write, synchronously: the first write of a segment that
// starts at 900 MiB waits for 900 MiB of zeros, the connection stalls for
// as long, and every byte is written twice (aria2 users met this: aria2
// #1708, #837; rclone marks its multi-thread downloads sparse for the same
// reason). SetFileValidData, aria2's answer, needs an administrator's
// privilege and exposes what deleted files left on the disk. A sparse file
// has no such length: unwritten ranges are unallocated and read as zeros,
// and each write costs its own bytes only. What that costs: no ENOSPC
// before the download starts (as on filesystems without fallocate), and
// the file is allocated in the order writes arrive, in 64 KiB units, so
// it is more fragmented; the published file keeps the sparse attribute,
// with every range allocated.
//
// Filesystems without sparse files (FAT32, exFAT, some network shares)
// refuse FSCTL_SET_SPARSE and get a plain SetEndOfFile.
func preallocate(f *os.File, size int64) error {
	var n uint32
	// An error means the filesystem has no sparse files; that is not a
	// failure, only the slower path.
	_ = windows.DeviceIoControl(windows.Handle(f.Fd()), windows.FSCTL_SET_SPARSE, nil, 0, nil, 0, &n, nil)
	return f.Truncate(size)
}
