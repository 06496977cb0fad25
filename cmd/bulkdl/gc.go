package main

import (
	"os"
	"runtime/debug"
)

// GC settings for a run of few files. A run of many small files allocates
// a little per request and keeps little: at the runtime's default
// (GOGC=100) a tenth of its CPU went to collecting. Up to smallRun files
// the collector lets the heap grow to five times what is live, within
// gcLimit; a larger manifest keeps the defaults, since what it keeps live
// grows with its entries and the limit would make the collector run
// without pause. GOGC or GOMEMLIMIT in the environment always win.
const (
	smallRun = 32 << 10
	gcLimit  = 128 << 20
)

// tuneGC applies the settings above for a run of files files.
func tuneGC(files int) {
	if files > smallRun || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(gcLimit)
}
