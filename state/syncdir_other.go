//go:build !windows

package state

import "os"

// SyncDir fsyncs directory dir under root, making renames in it durable.
func SyncDir(root *os.Root, dir string) error {
	f, err := OpenDir(root, dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// SyncOpenDir fsyncs the open directory dir.
func SyncOpenDir(dir *os.File) error { return dir.Sync() }
