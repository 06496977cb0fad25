//go:build !windows

package robustio

import "os"

// rename is one rename(2): no open file can block it here.
func rename(root *os.Root, from, to string) error { return root.Rename(from, to) }
