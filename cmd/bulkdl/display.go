package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
)

// display shows a run's progress: a bar redrawn in place on a terminal,
// plain lines for logs, or nothing. Failures and the summary are printed in
// every mode.
type display struct {
	r        *runner
	w        io.Writer
	mode     string // bar, plain, none
	interval time.Duration
	quiet    bool // -q: no summary when every file completed

	mu     sync.Mutex // serializes writes
	lines  int        // lines of the live area on screen
	stopc  chan struct{}
	wg     sync.WaitGroup
	last   time.Time
	lastB  int64
	rate   float64 // bytes per second, smoothed
	total  int64   // known total bytes, -1 if some sizes are unknown
	totalN int
}

func newDisplay(r *runner, mode string, interval time.Duration) *display {
	return &display{r: r, w: r.c.stderr, mode: mode, interval: interval, stopc: make(chan struct{})}
}

func (d *display) start() {
	if d.mode == "none" {
		return
	}
	every := d.interval
	if d.mode == "bar" {
		every = 100 * time.Millisecond // at most 10 redraws a second
	}
	d.last = time.Now()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-d.stopc:
				return
			case <-t.C:
				d.tick()
			}
		}
	}()
}

func (d *display) stop() {
	close(d.stopc)
	d.wg.Wait()
	d.mu.Lock()
	d.clearLocked()
	d.mu.Unlock()
}

// snapshot is the run's state for one frame.
type snapshot struct {
	doneBytes, totalBytes int64 // totalBytes -1 if unknown
	files, done, failed   int
	active                []activeFile
	received              int64
}

type activeFile struct {
	path          string
	written, size int64
	conns         int
}

func (d *display) snapshot() snapshot {
	r := d.r
	r.mu.Lock()
	defer r.mu.Unlock()
	s := snapshot{files: r.inShard, done: len(r.done), failed: r.failed, received: r.fetched}
	var known int64
	unknown := false
	for i := range r.results {
		res := &r.results[i]
		switch {
		case res.status == "other-shard":
		case res.status == "downloaded" || res.status == "skipped":
			s.doneBytes += res.size
			known += res.size
		case res.size >= 0:
			known += res.size
		default:
			unknown = true
		}
	}
	for i, dl := range r.active {
		p := dl.Progress()
		s.doneBytes += p.Written
		s.received += p.Received
		if r.results[i].size < 0 && p.Size >= 0 {
			known += p.Size
		}
		s.active = append(s.active, activeFile{path: r.m.Files[i].Path, written: p.Written, size: p.Size, conns: p.Active})
	}
	s.totalBytes = known
	if unknown {
		s.totalBytes = -1
	}
	sort.Slice(s.active, func(i, j int) bool {
		return s.active[i].conns > s.active[j].conns || s.active[i].conns == s.active[j].conns && s.active[i].path < s.active[j].path
	})
	return s
}

func (d *display) tick() {
	s := d.snapshot()
	now := time.Now()
	if dt := now.Sub(d.last).Seconds(); dt > 0 {
		inst := float64(s.received-d.lastB) / dt
		if d.rate == 0 {
			d.rate = inst
		} else {
			d.rate = 0.7*d.rate + 0.3*inst
		}
	}
	d.last, d.lastB = now, s.received
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.mode {
	case "bar":
		d.drawLocked(s)
	case "plain":
		fmt.Fprintf(d.w, "progress: %s\n", d.overall(s))
	}
}

func (d *display) overall(s snapshot) string {
	var b strings.Builder
	if s.totalBytes > 0 {
		fmt.Fprintf(&b, "%3.0f%%  %v/%v", 100*float64(s.doneBytes)/float64(s.totalBytes), manifest.Size(s.doneBytes), manifest.Size(s.totalBytes))
	} else {
		fmt.Fprintf(&b, "%v", manifest.Size(s.doneBytes))
	}
	fmt.Fprintf(&b, "  %v", manifest.Rate(int64(d.rate)))
	if s.totalBytes > 0 && d.rate > 1 {
		eta := time.Duration(float64(s.totalBytes-s.doneBytes) / d.rate * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(&b, "  ETA %v", eta)
	}
	fmt.Fprintf(&b, "  files %d/%d", s.done, s.files)
	if s.failed > 0 {
		fmt.Fprintf(&b, ", %d failed", s.failed)
	}
	return b.String()
}

// drawLocked redraws the live area in place: move up over the previous
// frame, rewrite each line, clear what is left. Nothing flickers because
// lines are overwritten, not erased first.
func (d *display) drawLocked(s snapshot) {
	width := 80
	if f, ok := d.w.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 10 {
			width = w
		}
	}
	lines := []string{bar(s, width) + " " + d.overall(s)}
	for k, a := range s.active {
		if k == 4 {
			lines = append(lines, fmt.Sprintf("  … and %d more", len(s.active)-4))
			break
		}
		pct := "   ?"
		if a.size > 0 {
			pct = fmt.Sprintf("%3.0f%%", 100*float64(a.written)/float64(a.size))
		}
		lines = append(lines, fmt.Sprintf("  %s %s  %d conn", pct, path.Base(a.path), a.conns))
	}
	var b strings.Builder
	if d.lines > 1 {
		fmt.Fprintf(&b, "\x1b[%dA", d.lines-1)
	}
	b.WriteString("\r")
	for k, l := range lines {
		if k > 0 {
			b.WriteString("\n")
		}
		b.WriteString(truncate(l, width-1))
		b.WriteString("\x1b[K")
	}
	for k := len(lines); k < d.lines; k++ {
		b.WriteString("\n\x1b[2K")
	}
	if extra := d.lines - len(lines); extra > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", extra)
	}
	d.lines = len(lines)
	io.WriteString(d.w, b.String())
}

// clearLocked erases the live area and leaves the cursor at its start.
func (d *display) clearLocked() {
	if d.mode != "bar" || d.lines == 0 {
		return
	}
	var b strings.Builder
	if d.lines > 1 {
		fmt.Fprintf(&b, "\x1b[%dA", d.lines-1)
	}
	b.WriteString("\r\x1b[J")
	io.WriteString(d.w, b.String())
	d.lines = 0
}

// bar draws the progress bar in the room the status text leaves (about 70
// columns), so that the text, with its failure count, is never cut.
func bar(s snapshot, width int) string {
	n := min(30, max(8, width-72))
	frac := 0.0
	if s.totalBytes > 0 {
		frac = float64(s.doneBytes) / float64(s.totalBytes)
	} else if s.files > 0 {
		frac = float64(s.done) / float64(s.files)
	}
	full := int(frac * float64(n))
	return "[" + strings.Repeat("=", min(full, n)) + strings.Repeat(" ", n-min(full, n)) + "]"
}

func truncate(s string, n int) string {
	if n <= 1 || len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// failed prints one line for a failed file, in every mode.
func (d *display) failed(i int) {
	d.r.mu.Lock()
	msg := d.r.results[i].err
	d.r.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clearLocked()
	fmt.Fprintf(d.w, "failed: %s\n", msg)
}

// line prints one line above the live area, in every mode.
func (d *display) line(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clearLocked()
	fmt.Fprintln(d.w, s)
}

// log prints a -v line.
func (d *display) log(s string) { d.line(s) }

// hostDown says once, in every mode, that a host is down and its files
// are failed without more tries.
func (d *display) hostDown(host string, failures int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clearLocked()
	fmt.Fprintf(d.w, "host down: %s: %d connections in a row failed, none succeeded; failing its remaining files now (other hosts carry on)\n", redact.Escape(host), failures)
}

// summary prints the end-of-run summary.
func (d *display) summary(interrupted bool) {
	r := d.r
	r.mu.Lock()
	var fetched, skipped, pending int
	var bytes int64
	for _, res := range r.results {
		switch res.status {
		case "downloaded":
			fetched++
			bytes += res.size
		case "skipped":
			skipped++
		case "pending":
			pending++
		}
	}
	failed, received := r.failed, r.fetched
	r.mu.Unlock()
	el := time.Since(r.started)
	if d.quiet && failed == 0 && !interrupted && pending == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	word := "done"
	if interrupted {
		word = "interrupted"
	}
	fmt.Fprintf(d.w, "%s: %d file(s): %d fetched, %d skipped, %d failed", word, r.inShard, fetched, skipped, failed)
	if r.pruned > 0 {
		fmt.Fprintf(d.w, ", %d pruned", r.pruned)
	}
	if pending > 0 {
		fmt.Fprintf(d.w, ", %d not finished (resume with the same command)", pending)
	}
	fmt.Fprintf(d.w, "; %v received in %v", manifest.Size(received), el.Round(10*time.Millisecond))
	if received > 0 {
		fmt.Fprintf(d.w, " (%v)", manifest.Rate(int64(float64(received)/max(el.Seconds(), 1e-3))))
	}
	fmt.Fprintln(d.w)
	for _, h := range r.sched.Hosts() {
		if h.MinCap < h.ConfigCap {
			fmt.Fprintf(d.w, "slowed: %s answered 429/503; its connections went down to %d of %d (now %d)\n", redact.Escape(h.Host), h.MinCap, h.ConfigCap, h.Cap)
		}
	}
}
