//go:build !windows

package job

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// defaultNetrc returns ~/.netrc.
func defaultNetrc() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("netrc: %w", err)
	}
	return filepath.Join(home, ".netrc"), nil
}

// netrcPrivate refuses a netrc that other users can read or write.
func netrcPrivate(name string, st fs.FileInfo) error {
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s can be read by other users (mode %04o); run chmod 600 %s", name, st.Mode().Perm(), name)
	}
	return nil
}
