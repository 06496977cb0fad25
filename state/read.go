package state

import "os"

// Read loads the destination's state as Open does, without taking its lock
// and without writing anything, for a dry run. If a run holds the lock,
// what Read returns may already be out of date. name is as for Open. The
// Store must not be written or closed: it holds no file open.
func Read(root *os.Root, name string) (*Store, error) { return ReadPaths(root, name, nil) }
