package job

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// defaultNetrc returns, as curl does on Windows, the first file that
// exists of .netrc and _netrc in %HOME%, then in %USERPROFILE%; if none
// does, the first of them, for the error that names it.
func defaultNetrc() (string, error) {
	first := ""
	for _, env := range []string{"HOME", "USERPROFILE"} {
		home := os.Getenv(env)
		if home == "" {
			continue
		}
		for _, base := range []string{".netrc", "_netrc"} {
			name := filepath.Join(home, base)
			if first == "" {
				first = name
			}
			if _, err := os.Stat(name); err == nil {
				return name, nil
			}
		}
	}
	if first == "" {
		return "", errors.New("netrc = true, but neither %HOME% nor %USERPROFILE% is set")
	}
	return first, nil
}

// netrcPrivate accepts any netrc: Windows has no mode bits (Go reports
// every writable file as 0666), so there is nothing to check that would
// mean anything. Who can read the file is decided by its ACL, which in a
// user's profile admits that user, SYSTEM and administrators.
func netrcPrivate(string, fs.FileInfo) error { return nil }
