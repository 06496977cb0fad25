package state

import "errors"

// errLockHeld is what tryLock returns when another process holds a
// conflicting lock.
var errLockHeld = errors.New("state: lock held")
