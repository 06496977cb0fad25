package state

import "errors"

// errLockHeld is what tryLock returns when another open file holds a
// conflicting lock: another bulkdl run, in this process or another.
var errLockHeld = errors.New("state: lock held")

// tryLock, in lock_unix.go, lock_windows.go and lock_other.go, takes an
// advisory lock on the whole of f without waiting: exclusive, or shared
// with other shared locks. It fails with an error wrapping errLockHeld when
// another open file holds a conflicting lock. Closing f releases the lock,
// and so does the end of the process that holds it, however it ends: the
// kernel drops the locks of a killed process. To change a lock, close f
// and lock a new handle: a second tryLock on the same f converts an flock
// but adds a second lock with LockFileEx.
//
// The lock is only as good as the filesystem's: on some network
// filesystems (NFS without a lock manager, CIFS mounted with nobrl, Lustre
// without -o flock, some GPFS setups) flock either fails with an error
// other than errLockHeld, which Open reports, or silently succeeds on every
// host, which nothing can detect; two runs on different hosts may then
// both write one destination.
