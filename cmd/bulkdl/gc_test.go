package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

// The collector's setting by a run's size: a small run may grow its heap
// within a soft limit; a run that could hold a quarter of that limit live
// (many connections, many files) must not get the limit, or the collector
// runs back to back: a large manifest collects at twice its live heap, many
// connections' buffers at 1.5 times; the environment's GOGC and GOMEMLIMIT
// win.
func TestGCSetting(t *testing.T) {
	for _, c := range []struct {
		name               string
		files, connections int
		env                map[string]string
		pct                int
		limit              int64
		ok                 bool
	}{
		{"5000 small files, budget 16", 5000, 16, nil, 400, gcLimit, true},
		{"one file", 1, 8, nil, 400, gcLimit, true},
		{"100k files", 100000, 32, nil, 100, -1, true},
		{"just over smallRun", smallRun + 1, 16, nil, 100, -1, true},
		{"512 connections", 20000, 512, nil, 50, -1, true},
		{"100k files, 512 connections", 100000, 512, nil, 50, -1, true},
		{"100k files, 128 connections", 100000, 128, nil, 50, -1, true},
		{"100k files, 64 connections", 100000, 64, nil, 100, -1, true},
		{"96 connections and 20k files", 20000, 96, nil, 50, -1, true},
		{"64 connections, few files", 100, 64, nil, 400, gcLimit, true},
		{"GOGC set", 5000, 16, map[string]string{"GOGC": "100"}, 0, -1, false},
		{"GOMEMLIMIT set", 5000, 16, map[string]string{"GOMEMLIMIT": "1GiB"}, 400, -1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pct, limit, ok := gcSetting(c.files, c.connections, func(k string) string { return c.env[k] })
			if pct != c.pct || limit != c.limit || ok != c.ok {
				t.Errorf("gcSetting(%d files, %d connections) = %d, %d, %v; want %d, %d, %v", c.files, c.connections, pct, limit, ok, c.pct, c.limit, c.ok)
			}
		})
	}
}

// A manifest of a few files leaves little garbage: the run starts without
// a forced collection (debug.FreeOSMemory), which would delay its first
// request and make it fault back in every page it gave away. A large
// manifest gives its garbage back first.
func TestSmallRunForcesNoCollection(t *testing.T) {
	_, dir, data := origin(t, 3, 1000, "")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, _, stderr := bulkdl("run", "-q", filepath.Join(dir, "m.toml"))
	runtime.ReadMemStats(&after)
	if code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	for i, d := range data {
		if got, err := os.ReadFile(filepath.Join(dir, "out", fmt.Sprintf("f%d.bin", i))); err != nil || !bytes.Equal(got, d) {
			t.Fatalf("f%d.bin: %v, %d bytes; want %d", i, err, len(got), len(d))
		}
	}
	if n := after.NumForcedGC - before.NumForcedGC; n != 0 {
		t.Errorf("a run of 3 files forced %d collection(s); want none", n)
	}
	for _, c := range []struct {
		files int
		want  bool
	}{{1, false}, {5000, false}, {smallRun, false}, {smallRun + 1, true}, {100000, true}} {
		if got := freeBeforeRun(c.files); got != c.want {
			t.Errorf("freeBeforeRun(%d) = %v; want %v", c.files, got, c.want)
		}
	}
}

// A run's report is written under the run's collector setting, not the
// default one: at 100,000 files the default let the heap grow by 45 MB
// while the report was written, past the 150 MiB RSS budget.
func TestReportIsWrittenUnderTheRunsGCSetting(t *testing.T) {
	t.Setenv("GOGC", "") // gcSetting decides
	_, dir, _ := origin(t, 3, 1000, "")
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	want, _, _ := gcSetting(3, 4, func(string) string { return "" })
	got := -1
	var o, e bytes.Buffer
	c := newCLI(&o, &e)
	c.beforeReport = func() {
		got = debug.SetGCPercent(-1)
		debug.SetGCPercent(got)
	}
	if code := c.main([]string{"run", "-q", "-report", filepath.Join(dir, "r.json"), filepath.Join(dir, "m.toml")}); code != 0 {
		t.Fatalf("run = %d: %s", code, e.String())
	}
	if got != want {
		t.Errorf("GOGC while the report was written = %d; want the run's %d", got, want)
	}
	if now := debug.SetGCPercent(100); now != 100 {
		t.Errorf("GOGC after the run = %d; want it restored to 100", now)
	}
}
