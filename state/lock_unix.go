//go:build unix

package state

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an flock on f, shared or exclusive, without waiting; a
// lock f already holds is converted. Closing f releases it.
func tryLock(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLockHeld
	}
	return err
}
