//go:build unix

package state

import "syscall"

// oNonblock makes opening a FIFO fail or return at once instead of
// waiting for its other end; it changes nothing for regular files.
const oNonblock = syscall.O_NONBLOCK
