//go:build !linux && !darwin && !windows && !(freebsd && (amd64 || arm64 || riscv64))

package segdl

import "os"

// preallocate gives f its final size with ftruncate: a sparse file where
// the filesystem allows it. There is no portable way to reserve the blocks
// here, so a full disk is found when a write fails.
func preallocate(f *os.File, size int64) error { return f.Truncate(size) }
