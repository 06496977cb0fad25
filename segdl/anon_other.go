//go:build !linux

package segdl

import (
	"io/fs"
	"os"
)

// openAnon fails: only Linux has files without a name (O_TMPFILE) that a
// link can name later; elsewhere a download writes a named temporary file.
func openAnon(*os.File, string, fs.FileMode) (*os.File, error) { return nil, errNoAnon }

func linkAnon(_, _ *os.File, _ string) error { return errNoAnon }

// anonUsable is false: downloads go straight to a named temporary file.
func anonUsable() bool { return false }
