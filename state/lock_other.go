//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || windows)

package state

import (
	"errors"
	"fmt"
	"os"
)

// tryLock fails: this platform has no lock bulkdl knows how to take, and a
// run that cannot lock its destination does not start.
func tryLock(f *os.File, exclusive bool) error {
	return fmt.Errorf("state: locking %s: %w", f.Name(), errors.ErrUnsupported)
}
