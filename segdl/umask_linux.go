package segdl

import (
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
)

// umask returns the process's file mode creation mask, read from
// /proc/self/status (Linux 4.7+) because syscall.Umask can only be read by
// setting it, which races with other goroutines creating files. It falls
// back to 022.
var umask = sync.OnceValue(func() fs.FileMode {
	data, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return fs.FileMode(m)
				}
			}
		}
	}
	return 0o022
})
