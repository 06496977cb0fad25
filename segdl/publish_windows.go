package segdl

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// renameTimeout bounds how long rename waits for another program to close
// the file, as the Go toolchain's robustio does.
const renameTimeout = 2 * time.Second

// rename moves from to to under root, retrying for up to renameTimeout
// while another program holds either open without sharing deletion: a
// virus scanner or the search indexer looking at the new file, a viewer
// holding the old one. Windows refuses the rename meanwhile with
// ERROR_ACCESS_DENIED or ERROR_SHARING_VIOLATION.
func rename(root *os.Root, from, to string) error {
	return retryBusy(func() error { return root.Rename(from, to) }, isBusy, renameTimeout, time.Sleep)
}

func isBusy(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}

// syncDir does nothing: Windows cannot fsync a directory (FlushFileBuffers
// on a directory handle is "Access is denied"), and NTFS journals a
// rename's metadata itself.
func syncDir(root *os.Root, dir string) error { return nil }
