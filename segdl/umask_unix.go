//go:build unix && !linux

package segdl

import (
	"io/fs"
	"syscall"
)

// startUmask is the process's file mode creation mask. These systems have
// no way to read it but to set it and set it back, and a file created by
// another goroutine in between would get the wrong mode; package
// initialisation runs before main starts any goroutine, so it is read then,
// once. A program that changes its umask later is not seen.
var startUmask = func() fs.FileMode {
	m := syscall.Umask(0o077)
	syscall.Umask(m)
	return fs.FileMode(m)
}()

// umask returns the process's file mode creation mask.
func umask() fs.FileMode { return startUmask }
