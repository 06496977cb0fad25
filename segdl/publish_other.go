//go:build !linux

package segdl

import (
	"io/fs"
	"os"
)

// syncFiles makes the data and inodes of files durable: one fsync each,
// issued together. (Only Linux has syncfs.)
func syncFiles(files []*os.File, _ []fs.FileInfo, _ []uint64, sync func(*os.File) error) []error {
	return syncEach(files, sync)
}
