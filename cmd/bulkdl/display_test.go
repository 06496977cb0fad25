package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
)

// The sums themselves are tested in package job (TestSnapshotSizes).
func TestSnapshotDisplay(t *testing.T) {
	t.Run("sizes the server gave make a percentage", func(t *testing.T) {
		s := snapshot{totalBytes: 2000, doneBytes: 1500, files: 3, done: 2, failed: 1, active: []activeFile{{path: "fff", written: 500, size: 1000}}}
		d := &display{now: time.Now}
		if lead, _, _, _, _ := d.parts(s); lead != " 75%" {
			t.Errorf("lead = %q; want a percentage, 75%%", lead)
		}
	})
	t.Run("the manifest's size shows before the server's", func(t *testing.T) {
		a := activeFile{path: "f", size: 64 << 20, conns: 1}
		if got := activeLine(a, time.Now()); !strings.Contains(got, "0 B/64.0 MiB") || strings.Contains(got, "?") {
			t.Errorf("active line %q; want the manifest's size, no ?", got)
		}
	})
	t.Run("a file not started, of unknown size, keeps the bar on files, labelled", func(t *testing.T) {
		s := snapshot{totalBytes: 1000, doneBytes: 999, unknown: 1, files: 2, active: []activeFile{{path: "f", written: 999, size: 1000}}}
		d := &display{now: time.Now}
		lead, bytes, _, eta, _ := d.parts(s)
		if lead != "files 0/2" || !strings.Contains(bytes, "1 file(s) of unknown size") || eta != "" {
			t.Errorf("parts = %q %q ETA %q; want files counted and labelled, no ETA", lead, bytes, eta)
		}
	})
}

func TestPercentIs100OnlyAtTheEnd(t *testing.T) {
	cases := []struct {
		done, total int64
		filesDone   int
		want        int
	}{
		{999, 1000, 0, 99},
		{9995, 10000, 1, 99},
		{1000, 1000, 1, 99}, // bytes all written, a file still verifying
		{1000, 1000, 2, 100},
	}
	for _, c := range cases {
		if got := percent(snapshot{doneBytes: c.done, totalBytes: c.total, files: 2, done: c.filesDone}); got != c.want {
			t.Errorf("percent(%d/%d, %d of 2 files done) = %d; want %d", c.done, c.total, c.filesDone, got, c.want)
		}
	}
}

// The ETA of a steady 10 MB/s that arrives in bursts holds still.
func TestETAIsSmoothed(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	d := &display{now: func() time.Time { return now }}
	var got int64
	var etas []time.Duration
	for k := 0; k <= 100; k++ { // 10 s at 10 ticks a second
		now = t0.Add(time.Duration(k) * 100 * time.Millisecond)
		if k%5 == 0 {
			got += 5e6 // 5 MB every half second
		}
		d.sampleLocked(got, now)
		_, _, _, eta, _ := d.parts(snapshot{doneBytes: got, totalBytes: 200e6, files: 2, active: []activeFile{{path: "a", conns: 2}}})
		if k*100 >= int(etaAfter/time.Millisecond) {
			v, err := time.ParseDuration(strings.TrimPrefix(eta, "ETA "))
			if err != nil {
				t.Fatalf("tick %d: ETA %q", k, eta)
			}
			etas = append(etas, v)
		}
	}
	lo, hi := etas[0], etas[0]
	for _, e := range etas {
		lo, hi = min(lo, e), max(hi, e)
	}
	// From 17 s left (at 3 s) to 10 s left (at 10 s): it may only fall, at
	// about the pace of time, never jump by minutes.
	for k := 1; k < len(etas); k++ {
		if etas[k] > etas[k-1]+2*time.Second {
			t.Errorf("ETA rose from %v to %v in 100ms: %v", etas[k-1], etas[k], etas)
			break
		}
	}
	if lo < 5*time.Second || hi > 30*time.Second {
		t.Errorf("ETA ranged %v..%v; want within 5s..30s (steady 10 MB/s, 170..100 MB left): %v", lo, hi, etas)
	}
}

func TestStallAndWaitAreSaid(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	d := &display{now: func() time.Time { return now }}
	d.sampleLocked(0, t0)
	now = t0.Add(time.Second)
	d.sampleLocked(10e6, now)
	now = t0.Add(5 * time.Second)
	d.sampleLocked(10e6, now)
	s := snapshot{doneBytes: 10e6, totalBytes: 20e6, files: 1, active: []activeFile{{path: "a", conns: 1}}}
	if _, _, rate, eta, _ := d.parts(s); rate != "stalled 4s" || eta != "" {
		t.Errorf("no byte for 4s: rate %q, ETA %q; want stalled and no ETA", rate, eta)
	}
	s.active[0] = activeFile{path: "a", waitUntil: now.Add(7 * time.Second), waitFor: &segdl.StatusError{Code: 503}}
	if _, _, rate, _, _ := d.parts(s); rate != "waiting 7s for a retry (503 Service Unavailable)" {
		t.Errorf("waiting out a 503: rate %q", rate)
	}
	if got := activeLine(s.active[0], now); !strings.Contains(got, "waiting 7s for a retry (503 Service Unavailable)") || strings.Contains(got, "0 conn") {
		t.Errorf("active line %q; want the wait and its reason", got)
	}
	if strings.Contains(manifest.Rate(0).String(), "unlimited") && strings.Contains(d.overall(s), "unlimited") {
		t.Errorf("a rate of 0 reads as unlimited: %q", d.overall(s))
	}
}

func TestNarrowTerminalKeepsETAAndFailures(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	d := &display{now: func() time.Time { return now }}
	d.sampleLocked(0, t0)
	now = t0.Add(4 * time.Second)
	d.sampleLocked(40e6, now)
	s := snapshot{doneBytes: 40e6, totalBytes: 100e6, files: 1000, done: 500, failed: 12, active: []activeFile{{path: "a", conns: 1}}}
	for _, width := range []int{120, 80, 60, 45} {
		line := d.fitLine(s, width)
		if !strings.Contains(line, "ETA ") || !strings.Contains(line, "12 failed") || len([]rune(line)) > width-1 {
			t.Errorf("width %d: %q; want the ETA and the failure count within the width", width, line)
		}
	}
}

func TestShortTerminalNeverScrolls(t *testing.T) {
	for _, height := range []int{1, 2, 3, 4, 24} {
		var buf bytes.Buffer
		d := &display{w: &buf, mode: "bar", now: time.Now, termSize: func() (int, int) { return 80, height }}
		s := snapshot{doneBytes: 1, totalBytes: 100, files: 10}
		for k := range 8 {
			s.active = append(s.active, activeFile{path: strings.Repeat("x", k+1), conns: 1, size: 100})
		}
		for range 3 {
			d.drawLocked(s)
		}
		if d.lines > max(height-1, 1) {
			t.Errorf("height %d: live area of %d lines; want at most %d", height, d.lines, max(height-1, 1))
		}
		// Every frame moves up over exactly the lines it drew before.
		if n := strings.Count(buf.String(), "\n"); n > 3*max(height-2, 0) {
			t.Errorf("height %d: %d newlines in 3 frames; frames are piling up", height, n)
		}
	}
}

func TestFmtETA(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{4400 * time.Millisecond, "4s"}, {59 * time.Second, "59s"}, {7*time.Minute + 20*time.Second, "7m"},
		{65 * time.Minute, "1h5m"}, {3 * time.Hour, "3h"},
	}
	for _, c := range cases {
		if got := fmtETA(c.in); got != c.want {
			t.Errorf("fmtETA(%v) = %q; want %q", c.in, got, c.want)
		}
	}
}
