//go:build !windows

package segdl

import "os"

// rename moves from to to under root: one rename(2), which no open file
// can block here.
func rename(root *os.Root, from, to string) error { return root.Rename(from, to) }

// syncDir fsyncs directory dir under root, making renames in it durable.
func syncDir(root *os.Root, dir string) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
