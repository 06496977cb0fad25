//go:build unix

package job

import "syscall"

// mkfifo makes a named pipe at name, for the tests that plant one.
func mkfifo(name string, mode uint32) error { return syscall.Mkfifo(name, mode) }
