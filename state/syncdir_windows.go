package state

import "os"

// SyncDir does nothing: Windows cannot fsync a directory (FlushFileBuffers
// on a directory handle is "Access is denied"), and NTFS journals a
// rename's metadata itself.
func SyncDir(root *os.Root, dir string) error { return nil }

// SyncOpenDir does nothing, as SyncDir.
func SyncOpenDir(dir *os.File) error { return nil }
