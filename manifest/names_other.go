//go:build !windows && !darwin

package manifest

// hostPlatform: case-sensitive filesystems, no reserved names. (A
// case-insensitive mount, such as vfat or ext4 with casefold, only gets
// the warning.)
var hostPlatform = platform{}
