package segdl

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fdSize returns the size of this process's descriptor table (FDSize in
// /proc/self/status).
func fdSize(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "FDSize:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no FDSize in /proc/self/status")
	return 0
}

// The table grows to the size asked at once, and no descriptor is left
// open.
func TestReserveDescriptorsGrowsTheTable(t *testing.T) {
	n := roomFor(t, 4*fdSize(t))
	ReserveDescriptors(n)
	if got := fdSize(t); got < n {
		t.Errorf("FDSize %d after ReserveDescriptors(%d)", got, n)
	}
	// The descriptor it made, n-1 (the lowest free from there), is closed
	// again. (Counting /proc/self/fd would see other tests' connections
	// close meanwhile.)
	if _, err := unix.FcntlInt(uintptr(n-1), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("descriptor %d after ReserveDescriptors(%d): %v, want it closed (EBADF)", n-1, n, err)
	}
}

// A descriptor in use at n-1 is left as it is.
func TestReserveDescriptorsTakesNoneInUse(t *testing.T) {
	n := roomFor(t, 4*fdSize(t))
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	if err := unix.Dup3(p[1], n-1, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(n - 1)
	ReserveDescriptors(n)
	if _, err := unix.Write(n-1, []byte("x")); err != nil {
		t.Fatalf("the pipe at %d: %v", n-1, err)
	}
	buf := make([]byte, 1)
	if k, err := unix.Read(p[0], buf); k != 1 || err != nil {
		t.Errorf("read %d bytes from the pipe written at %d: %v", k, n-1, err)
	}
}

// roomFor skips the test unless the descriptor limit allows n.
func roomFor(t *testing.T, n int) int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if uint64(n) > lim.Cur {
		t.Skipf("the limit of %d descriptors leaves no room to grow the table to %d", lim.Cur, n)
	}
	return n
}
