//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package state

// oDirectory: no such flag here; oNonblock keeps a FIFO from blocking, and
// listing what is not a directory fails.
const oDirectory = 0
