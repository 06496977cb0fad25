package main

import (
	"os"
	"runtime/debug"
)

// The collector during a run. A large run's heap is mostly the manifest
// and the files' results, which live to the end: collecting at 1.5x that
// (GOGC=50), not 2x, keeps a 100,000-file run under 150 MiB for no
// measurable CPU. A run of few files keeps little and allocates a little
// per request: at GOGC=50 it collected some 40 times in 5000 files of
// 4 KiB, a tenth of its user CPU. Up to smallRun files the heap may grow
// to five times what is live, within gcLimit. GOGC and GOMEMLIMIT in the
// environment decide what they set.
const (
	smallRun = 32 << 10
	gcLimit  = 128 << 20
)

// gcForRun sets the collector for a run of files files and returns the
// function that restores it.
func gcForRun(files int) (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	pct, limit := 50, int64(-1) // a negative limit leaves it as it is
	if files <= smallRun {
		pct = 400
		if os.Getenv("GOMEMLIMIT") == "" {
			limit = gcLimit
		}
	}
	oldPct := debug.SetGCPercent(pct)
	oldLimit := debug.SetMemoryLimit(limit)
	return func() {
		debug.SetGCPercent(oldPct)
		debug.SetMemoryLimit(oldLimit)
	}
}
