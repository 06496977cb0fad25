//go:build !linux

package segdl

// ReserveDescriptors does nothing here (see fds_linux.go).
func ReserveDescriptors(n int) {}
