//go:build !unix

package job

import "errors"

// mkfifo fails: there are no named pipes in a directory here (Windows'
// named pipes live in \\.\pipe\, not beside files), so the tests that
// plant one skip.
func mkfifo(name string, mode uint32) error { return errors.ErrUnsupported }
