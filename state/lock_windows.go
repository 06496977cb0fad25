//go:build windows

package state

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock takes a LockFileEx lock on every byte of f, failing immediately
// instead of waiting. Windows locks are mandatory for the region they
// cover, which is harmless here: the lock file holds no data.
func tryLock(f *os.File, exclusive bool) error {
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	const all = ^uint32(0)
	ol := new(windows.Overlapped)
	err := windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, all, all, ol)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION):
		return errLockHeld
	}
	return fmt.Errorf("state: LockFileEx %s: %w", f.Name(), err)
}
