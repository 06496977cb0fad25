package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// The lock policy. A destination is written by one plain run, or by the
// shards of one split (-shard K/N, same N) side by side, each shard once:
//
//	plain run:        exclusive  DEST/.bulkdl/lock
//	shard K of N:     shared     DEST/.bulkdl/lock
//	                  shared     DEST/.bulkdl/lock-split, which names N
//	                  exclusive  DEST/.bulkdl/lock-shard-K-of-N
//
// A plain run and a shard exclude each other through lock; shards of
// different N through lock-split: the first shard to take it writes its N
// there while it holds it exclusively, then shares it; a later shard
// shares it only if it names the same N.
type lockSet struct{ files []*os.File }

func (l *lockSet) release() {
	for _, f := range l.files {
		f.Close()
	}
	l.files = nil
}

// splitWait bounds how long a shard waits for another shard that holds
// lock-split exclusively for the moment it takes to write N.
const splitWait = 2 * time.Second

func (l *lockSet) take(root *os.Root, name string, exclusive bool) (*os.File, error) {
	f, err := OpenRegular(root, Dir+"/"+name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if err := tryLock(f, exclusive); err != nil {
		f.Close()
		if errors.Is(err, errLockHeld) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("state: locking: %w", err)
	}
	l.files = append(l.files, f)
	return f, nil
}

// lock takes the locks of a plain run (n == 0) or of shard k of n.
func lock(root *os.Root, k, n int) (*lockSet, error) {
	l := &lockSet{}
	if _, err := l.take(root, "lock", n == 0); err != nil {
		if errors.Is(err, ErrLocked) && n > 0 {
			err = fmt.Errorf("%w (a run of the whole manifest)", err)
		}
		return nil, err
	}
	if n == 0 {
		return l, nil
	}
	if err := l.split(root, n); err != nil {
		l.release()
		return nil, err
	}
	if _, err := l.take(root, fmt.Sprintf("lock-shard-%d-of-%d", k, n), true); err != nil {
		l.release()
		if errors.Is(err, ErrLocked) {
			err = fmt.Errorf("%w (shard %d/%d is already running)", err, k, n)
		}
		return nil, err
	}
	return l, nil
}

func (l *lockSet) split(root *os.Root, n int) error {
	const name = Dir + "/lock-split"
	f, err := OpenRegular(root, name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if tryLock(f, true) == nil {
		// No shard runs: name this split, then share the lock. The
		// exclusive lock is released and a shared one taken afresh
		// rather than converted, which not every platform's locks do;
		// whoever names the split in between is read below.
		// One write of a fixed width, then a truncate that changes
		// nothing unless an older file was longer: a kill at any point
		// leaves the old N or the new one, never an empty file that
		// would refuse every shard until the lock is retaken.
		_, err := f.WriteAt(splitRecord(n), 0)
		if err == nil {
			err = f.Truncate(int64(len(splitRecord(n))))
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("state: %w", err)
		}
		if f, err = OpenRegular(root, name, os.O_RDWR, 0); err != nil {
			return fmt.Errorf("state: %w", err)
		}
	}
	deadline := time.Now().Add(splitWait)
	for {
		err := tryLock(f, false)
		if err == nil {
			break
		}
		if !errors.Is(err, errLockHeld) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, errLockHeld) {
				return ErrLocked
			}
			return fmt.Errorf("state: locking: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if err != nil {
		f.Close()
		return fmt.Errorf("state: %w", err)
	}
	if got, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || got != n {
		f.Close()
		return fmt.Errorf("%w (shards of another split, -shard K/%s, are running)", ErrLocked, strings.TrimSpace(string(b)))
	}
	l.files = append(l.files, f)
	return nil
}

// splitRecord is what lock-split holds: N, padded to a fixed width.
func splitRecord(n int) []byte { return fmt.Appendf(nil, "%20d\n", n) }

// parseShardName parses "shard-K-of-N".
func parseShardName(name string) (k, n int, ok bool) {
	rest, found := strings.CutPrefix(name, "shard-")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, "-of-")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !found || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n {
		return 0, 0, false
	}
	return k, n, true
}

// OpenRegular opens name under root and fails, rather than block, unless
// it is a regular file: a FIFO planted at a name bulkdl reads or writes
// would otherwise hang the run beyond the reach of a signal.
func OpenRegular(root *os.Root, name string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := root.OpenFile(name, flag|oNonblock, perm)
	if err != nil {
		return nil, err
	}
	if flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL {
		return f, nil // created by this call, so a regular file: no fstat
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: name, Err: ErrNotRegular}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ErrNotRegular is the error, inside an *fs.PathError, that OpenRegular
// returns for a name that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")
