package main

import (
	"os"
	"runtime/debug"
)

// The collector during a run. A large run's heap is mostly the manifest
// and the files' results, which live to the end: collecting at 2x that
// (GOGC=100) keeps a 100,000-file run of 1 KiB files at about 100 MB RSS,
// -report included, within its 150 MiB budget; GOGC=50 (75 MB) took twice
// the collector's CPU (0.50 s against 0.25 s, gctrace). A run whose
// connections' buffers make most of its heap (over a quarter of gcLimit,
// whatever its files) collects at 1.5x (GOGC=50). A run of few files
// keeps little and allocates a little per request: at GOGC=50 it collected
// some 40 times in 5000 files of 4 KiB, a tenth of its user CPU. Such a
// run's heap may grow to five times what is live, within gcLimit.
//
// gcLimit is a soft limit: were the live heap near it, the collector would
// run back to back (a run of 512 connections, whose read and transport
// buffers alone are 170 MiB, took five times the CPU). So the small-run
// setting applies only while what the run can hold live, estimated from
// its connections and files, stays under a quarter of gcLimit. GOGC and
// GOMEMLIMIT in the environment decide what they set.
const (
	smallRun = 32 << 10
	gcLimit  = 128 << 20
	// liveConn is what one connection holds live: segdl's 256 KiB read
	// buffer and the transport's 64 KiB read and 16 KiB write buffers.
	liveConn = 336 << 10
	// liveFile is what one file holds live: its manifest entry, its
	// download while it runs, its result.
	liveFile = 2 << 10
)

// gcSetting returns the GOGC percentage and the memory limit (negative:
// leave it as it is) for a run of files files over connections
// connections; ok is false when the environment's GOGC decides.
func gcSetting(files, connections int, getenv func(string) string) (pct int, limit int64, ok bool) {
	if getenv("GOGC") != "" {
		return 0, -1, false
	}
	live := int64(connections)*liveConn + int64(files)*liveFile
	if files > smallRun {
		if int64(connections)*liveConn > gcLimit/4 {
			// Many connections: their buffers, not the manifest, are
			// most of what is live, and 2x of them would not fit the
			// budget.
			return 50, -1, true
		}
		return 100, -1, true
	}
	if live > gcLimit/4 {
		return 50, -1, true
	}
	limit = gcLimit
	if getenv("GOMEMLIMIT") != "" {
		limit = -1
	}
	return 400, limit, true
}

// freeBeforeRun reports whether a run of files files first gives the
// manifest decoder's garbage back to the OS. Only a large manifest leaves
// enough to matter, a garbage several times its size held as RSS through
// the run. A small one leaves a few MiB, which the run reuses; giving them
// back would cost a forced collection before the first request (some 2 to
// 8 ms for 5000 files) and a page fault for each page the run then takes
// back (some 1700 for 5000 files of 4 KiB).
func freeBeforeRun(files int) bool { return files > smallRun }

// gcForRun sets the collector for a run of files files over connections
// connections and returns the function that restores it.
func gcForRun(files, connections int) (restore func()) {
	if freeBeforeRun(files) {
		debug.FreeOSMemory()
	}
	pct, limit, ok := gcSetting(files, connections, os.Getenv)
	if !ok {
		return func() {}
	}
	oldPct := debug.SetGCPercent(pct)
	oldLimit := debug.SetMemoryLimit(limit)
	return func() {
		debug.SetGCPercent(oldPct)
		debug.SetMemoryLimit(oldLimit)
	}
}
