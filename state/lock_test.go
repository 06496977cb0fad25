package state

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// lockFile opens name for locking, as Open does, with its own handle.
func lockFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestTryLock: a conflicting second lock is refused with errLockHeld,
// shared locks coexist, and closing the holder releases its lock. Two
// handles in one process conflict just as two processes do, on every
// platform (flock locks belong to the open file, LockFileEx locks to the
// handle).
func TestTryLock(t *testing.T) {
	cases := []struct {
		name          string
		first, second bool // exclusive?
		conflict      bool
	}{
		{"exclusive refuses exclusive", true, true, true},
		{"exclusive refuses shared", true, false, true},
		{"shared refuses exclusive", false, true, true},
		{"shared admits shared", false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "lock")
			a, b := lockFile(t, name), lockFile(t, name)
			if err := tryLock(a, c.first); err != nil {
				t.Fatalf("first tryLock = %v", err)
			}
			err := tryLock(b, c.second)
			if c.conflict && !errors.Is(err, errLockHeld) {
				t.Fatalf("second tryLock = %v; want errLockHeld", err)
			}
			if !c.conflict && err != nil {
				t.Fatalf("second tryLock = %v; want nil", err)
			}
			a.Close()
			if c.conflict {
				if err := tryLock(b, c.second); err != nil {
					t.Errorf("tryLock after the holder closed = %v; want nil", err)
				}
			}
		})
	}
}

// TestLockOfAKilledProcessIsReleased holds the lock in a child process
// (this test binary, run again), checks that it is held, kills the child
// and takes the lock.
func TestLockOfAKilledProcessIsReleased(t *testing.T) {
	name := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolder$")
	cmd.Env = append(os.Environ(), "BULKDL_TEST_LOCK_HOLDER="+name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe() // the child waits on it; never written
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child did not take the lock: %q %v", line, err)
	}
	f := lockFile(t, name)
	if err := tryLock(f, true); !errors.Is(err, errLockHeld) {
		t.Errorf("tryLock while the child holds the lock = %v; want errLockHeld", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := tryLock(f, true); err != nil {
		t.Errorf("tryLock after the holder was killed = %v; want nil", err)
	}
}

// TestLockHolder is the child of TestLockOfAKilledProcessIsReleased: it
// locks the file, says so, and waits to be killed.
func TestLockHolder(t *testing.T) {
	name := os.Getenv("BULKDL_TEST_LOCK_HOLDER")
	if name == "" {
		t.Skip("run by TestLockOfAKilledProcessIsReleased")
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := tryLock(f, true); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	os.Stdin.Read(make([]byte, 1)) // until killed, or the parent goes away
	f.Close()
}
