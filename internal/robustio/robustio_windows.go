package robustio

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// timeout bounds how long rename waits for another program to close the
// file, as the Go toolchain's robustio does.
const timeout = 2 * time.Second

// rename retries while Windows refuses the rename with ERROR_ACCESS_DENIED
// or ERROR_SHARING_VIOLATION, which it does while another program holds
// from or to open without FILE_SHARE_DELETE. A file that is read-only, or
// a directory at to, also gets ERROR_ACCESS_DENIED: that costs the wait,
// then fails as it would have.
func rename(root *os.Root, from, to string) error {
	return retry(func() error { return root.Rename(from, to) }, isBusy, timeout, time.Sleep)
}

func isBusy(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}
