package segdl

import "golang.org/x/sys/unix"

// ReserveDescriptors grows this process's table of file descriptors to
// hold n of them (at most its limit), at once. Linux grows the table in
// steps as descriptors are opened (64, 128, 256, ...), and in a process
// of several threads each step waits for an RCU grace period, milliseconds
// during which every thread opening a file or a connection waits too: a
// download of many small files, whose open files and connections cross
// those steps, would stall on each. Best effort: it does nothing where it
// cannot.
func ReserveDescriptors(n int) {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && uint64(n) > lim.Cur {
		n = int(lim.Cur)
	}
	if n <= 64 {
		return // the table a process starts with
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	// The lowest free descriptor from n-1 up: never one in use.
	if high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, n-1); err == nil {
		unix.Close(high)
	}
}
