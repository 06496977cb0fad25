package state

import "os"

// OpenDir opens the directory dir under root, to list it or to sync it.
// Something else at dir fails at once (ENOTDIR where the platform can say
// so): a FIFO there would otherwise block the open until a writer came,
// with no way for a context to stop it.
func OpenDir(root *os.Root, dir string) (*os.File, error) {
	return root.OpenFile(dir, os.O_RDONLY|oDirectory|oNonblock, 0)
}
