//go:build !windows

package segdl

import "os"

// syncDir fsyncs directory dir under root, making renames in it durable.
func syncDir(root *os.Root, dir string) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
