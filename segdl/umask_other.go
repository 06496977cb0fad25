//go:build !unix

package segdl

import "io/fs"

// umask returns 0: Windows has no mode bits to mask. A new file gets the
// access the directory's ACL passes on; Chmod only sets or clears its
// read-only attribute.
func umask() fs.FileMode { return 0 }
