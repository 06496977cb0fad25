//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package state

import "syscall"

// oDirectory makes opening anything but a directory fail with ENOTDIR.
const oDirectory = syscall.O_DIRECTORY
