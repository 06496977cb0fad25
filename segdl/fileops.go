package segdl

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/bulkdl/bulkdl/internal/robustio"
	dest "github.com/bulkdl/bulkdl/state"
)

// fileOps are a download's file operations. Their order makes a download
// durable: data is written, then synced, and only then does a journal
// claim it or a rename publish it. None of them runs under Download.mu.
// Downloads use osOps; tests replace them to observe that order, to fail
// one of them, or to block one and see that the download still answers.
type fileOps struct {
	open func(root *os.Root, name string, flag int, perm fs.FileMode) (*os.File, error)
	// openAnon opens a file without a name in a directory, or fails with
	// errNoAnon; link names it in an open directory (see anon_linux.go).
	openAnon     func(dir *os.File, name string, perm fs.FileMode) (*os.File, error)
	link         func(dir, f *os.File, name string) error
	writeAt      func(f *os.File, b []byte, off int64) (int, error)
	sync         func(f *os.File) error
	writeJournal func(root *os.Root, name string, j *journal) error
	rename       func(root *os.Root, from, to string) error
	allocate     func(f *os.File, size int64) error
	truncate     func(f *os.File, size int64) error
	remove       func(root *os.Root, name string) error
	close        func(f *os.File) error
}

var osOps = fileOps{
	open:         dest.OpenRegular,
	openAnon:     openAnon,
	link:         linkAnon,
	writeAt:      (*os.File).WriteAt,
	sync:         (*os.File).Sync,
	writeJournal: writeJournal,
	rename:       robustio.Rename,
	allocate:     preallocate,
	truncate:     (*os.File).Truncate,
	remove:       (*os.Root).Remove,
	close:        (*os.File).Close,
}

// tooManyFiles reports whether err says the process or the system is out
// of file descriptors: a condition that passes as other files finish, not
// a failure of this file.
func tooManyFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// fdWaitLimit bounds how often a download waits for a file descriptor.
const fdWaitLimit = 30

var errNoFD = errors.New("segdl: out of file descriptors")

// errNoAnon: files without a name are not available here; a download
// writes a named temporary file instead.
var errNoAnon = errors.New("segdl: no unnamed temporary files here")
