package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/segdl"
)

// display shows a run's progress: a bar redrawn in place on a terminal,
// plain lines for logs, or nothing. Failures and the summary are printed in
// every mode.
type display struct {
	m        *manifest.Manifest
	budget   string // the budget, for the start line
	w        io.Writer
	mode     string // bar, plain, none
	interval time.Duration
	quiet    bool // -q: no summary when every file completed
	// now and termSize are seams for tests; nil means the clock and the
	// terminal's size (80x24 if it has none).
	now      func() time.Time
	termSize func() (width, height int)

	mu      sync.Mutex  // serializes writes
	lines   int         // lines of the live area on screen
	status  *job.Status // the run's, once planned
	started time.Time
	stopc   chan struct{}
	wg      sync.WaitGroup

	// The rate, for the display and the ETA: an exponentially weighted
	// average over about rateTau, so that the ETA does not swing with
	// every burst; lastByte is when bytes last arrived, for "stalled".
	first, last time.Time
	lastB       int64
	rate        float64 // bytes per second, smoothed
	ewma        float64 // the average before its correction for a short history
	lastByte    time.Time
}

const (
	rateTau    = 5 * time.Second // the rate's averaging time
	stallAfter = 3 * time.Second // no byte for this long is a stall
	etaAfter   = 3 * time.Second // no ETA before the rate has this much history
)

func newDisplay(w io.Writer, mode string, interval time.Duration) *display {
	return &display{w: w, mode: mode, interval: interval, stopc: make(chan struct{}), started: time.Now()}
}

var _ job.Observer = (*display)(nil)

// Observe shows a run's events: it subscribes the display to the run.
func (d *display) Observe(e job.Event) {
	switch e.Kind {
	case job.EventPlanned:
		d.mu.Lock()
		d.status = e.Status
		d.mu.Unlock()
		if d.mode == "plain" {
			p := e.Plan
			d.line(startLine(p.Files, p.ToFetch, p.KnownBytes, p.Unknown, p.Hosts, d.m.Dest, d.budget, d.m.Settings.Rate))
		}
		d.start()
	case job.EventFailed:
		d.failed(e.Text)
	case job.EventHostDown:
		d.hostDown(e.Host, e.Failures)
	case job.EventLog:
		d.line(e.Text)
	case job.EventWarning:
		d.line("bulkdl: " + e.Text)
	}
}

func (d *display) clock() time.Time {
	if d.now != nil {
		return d.now()
	}
	return time.Now()
}

func (d *display) start() {
	if d.mode == "none" {
		return
	}
	every := d.interval
	if d.mode == "bar" {
		every = 100 * time.Millisecond // at most 10 redraws a second
	}
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
	doneBytes  int64 // bytes complete: finished files and what active ones wrote
	totalBytes int64 // the sizes known: from the manifest or the server
	unknown    int   // files whose size nobody has said yet
	files      int
	done       int
	failed     int
	active     []activeFile
	received   int64
}

type activeFile struct {
	path          string
	written, size int64 // size -1 if unknown
	conns         int
	waitUntil     time.Time // waiting for a retry until then
	waitFor       error
}

func (d *display) snapshot() snapshot {
	d.mu.Lock()
	st := d.status
	d.mu.Unlock()
	if st == nil {
		return snapshot{}
	}
	js := st.Snapshot()
	s := snapshot{doneBytes: js.DoneBytes, totalBytes: js.TotalBytes, unknown: js.Unknown, files: js.Files,
		done: js.Done, failed: js.Failed, received: js.Received, active: make([]activeFile, len(js.Active))}
	for k, a := range js.Active {
		s.active[k] = activeFile{path: a.Path, written: a.Written, size: a.Size, conns: a.Conns, waitUntil: a.WaitUntil, waitFor: a.WaitFor}
	}
	return s
}

func (d *display) tick() {
	s := d.snapshot()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sampleLocked(s.received, d.clock())
	switch d.mode {
	case "bar":
		d.drawLocked(s)
	case "plain":
		fmt.Fprintf(d.w, "progress: %s\n", d.overall(s))
	}
}

// sampleLocked updates the smoothed rate with the bytes received by now.
func (d *display) sampleLocked(received int64, now time.Time) {
	if d.first.IsZero() {
		d.first, d.last, d.lastB, d.lastByte = now, now, received, now
		return
	}
	dt := now.Sub(d.last)
	if dt <= 0 {
		return
	}
	inst := float64(received-d.lastB) / dt.Seconds()
	d.ewma += (1 - math.Exp(-dt.Seconds()/rateTau.Seconds())) * (inst - d.ewma)
	// The average starts at 0: divide by the weight its history has had,
	// so that the first seconds are not taken for a slow start.
	d.rate = d.ewma / (1 - math.Exp(-now.Sub(d.first).Seconds()/rateTau.Seconds()))
	if received > d.lastB {
		d.lastByte = now
	}
	d.last, d.lastB = now, received
}

// overall is the status line's text.
func (d *display) overall(s snapshot) string {
	return strings.Join(nonEmpty(d.parts(s)), "  ")
}

// parts are the status line's pieces, in order: percentage (or files, when
// the bar counts files), bytes, rate, ETA, files and failures. fitLine
// drops the bar, then the rate, then the bytes on a narrow terminal; the
// ETA and the failure count stay.
func (d *display) parts(s snapshot) (lead, bytes, rate, eta, files string) {
	byBytes := s.unknown == 0 && s.totalBytes > 0
	files = fmt.Sprintf("files %d/%d", s.done, s.files)
	if s.failed > 0 {
		files += fmt.Sprintf(", %d failed", s.failed)
	}
	if byBytes {
		lead = fmt.Sprintf("%3d%%", percent(s))
		bytes = fmt.Sprintf("%v/%v", manifest.Size(s.doneBytes), manifest.Size(s.totalBytes))
	} else {
		// The bar counts files: say so where a percentage would be.
		lead, files = files, ""
		bytes = manifest.Size(s.doneBytes).String()
		switch {
		case s.unknown > 0 && s.totalBytes > 0:
			bytes += fmt.Sprintf(" of %v + %d file(s) of unknown size", manifest.Size(s.totalBytes), s.unknown)
		case s.unknown > 0:
			bytes += fmt.Sprintf(", %d file(s) of unknown size", s.unknown)
		}
	}
	now := d.clock()
	waiting := len(s.active) > 0
	var until time.Time
	var why error
	for _, a := range s.active {
		if a.waitUntil.IsZero() || a.conns > 0 {
			waiting = false
		} else if until.IsZero() || a.waitUntil.Before(until) {
			until, why = a.waitUntil, a.waitFor
		}
	}
	stalled := !d.first.IsZero() && now.Sub(d.lastByte) >= stallAfter && s.done < s.files
	switch {
	case waiting:
		rate = "waiting " + waitText(until.Sub(now), why)
	case stalled:
		rate = fmt.Sprintf("stalled %v", now.Sub(d.lastByte).Round(time.Second))
	default:
		rate = manifest.Rate(int64(d.rate)).String()
		if d.rate < 1 {
			rate = "0 B/s"
		}
	}
	if byBytes && !waiting && !stalled && d.rate >= 1 && now.Sub(d.first) >= etaAfter && s.doneBytes < s.totalBytes {
		secs := float64(s.totalBytes-s.doneBytes) / d.rate
		eta = "ETA " + fmtETA(time.Duration(min(secs, 1e7)*float64(time.Second)))
	}
	return lead, bytes, rate, eta, files
}

// percent is the share of known bytes done, rounded down: 100 only when
// every file has ended.
func percent(s snapshot) int {
	p := int(100 * float64(s.doneBytes) / float64(s.totalBytes))
	if s.done < s.files {
		p = min(p, 99)
	}
	return min(max(p, 0), 100)
}

// fmtETA rounds an ETA as people read it: seconds under a minute, else
// minutes ("7m", "1h5m").
func fmtETA(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	text := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(text, "h0m") {
		text = strings.TrimSuffix(text, "0m")
	}
	return text
}

// waitText says how long a file waits for its retry, and why.
func waitText(left time.Duration, why error) string {
	text := fmt.Sprintf("%v for a retry", max(left, 0).Round(time.Second))
	var se *segdl.StatusError
	if errors.As(why, &se) {
		text += fmt.Sprintf(" (%d %s)", se.Code, http.StatusText(se.Code))
	}
	return text
}

func nonEmpty(ss ...string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// size returns the terminal's width and height.
func (d *display) size() (int, int) {
	if d.termSize != nil {
		return d.termSize()
	}
	if f, ok := d.w.(*os.File); ok {
		if w, h, err := term.GetSize(int(f.Fd())); err == nil && w > 0 && h > 0 {
			return w, h
		}
	}
	return 80, 24
}

// fitLine builds the status line for width columns: the whole of it if it
// fits, else without the bar, the rate, the bytes, in that order, so that
// the percentage, the ETA and the failure count are never cut.
func (d *display) fitLine(s snapshot, width int) string {
	lead, bytes, rate, eta, files := d.parts(s)
	try := []string{
		bar(s, width) + " " + strings.Join(nonEmpty(lead, bytes, rate, eta, files), "  "),
		strings.Join(nonEmpty(lead, bytes, rate, eta, files), "  "),
		strings.Join(nonEmpty(lead, bytes, eta, files), "  "),
		strings.Join(nonEmpty(lead, eta, files), "  "),
	}
	for _, l := range try {
		if utf8.RuneCountInString(l) <= width-1 {
			return l
		}
	}
	return truncate(try[len(try)-1], width-1)
}

// drawLocked redraws the live area in place: move up over the previous
// frame, rewrite each line, clear what is left. Nothing flickers because
// lines are overwritten, not erased first. The live area is never taller
// than the terminal less one line, so that no frame scrolls off the top
// into the scrollback.
func (d *display) drawLocked(s snapshot) {
	width, height := d.size()
	width = max(width, 10)
	room := max(height-1, 1)
	lines := []string{d.fitLine(s, width)}
	now := d.clock()
	show := min(len(s.active), 4, room-1)
	if len(s.active) > show && show > 0 {
		show = min(show, room-2) // keep a line for "… and N more"
	}
	for k := 0; k < show; k++ {
		lines = append(lines, "  "+activeLine(s.active[k], now))
	}
	if more := len(s.active) - max(show, 0); more > 0 && len(lines) < room {
		lines = append(lines, fmt.Sprintf("  … and %d more", more))
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

// activeLine describes one file being fetched.
func activeLine(a activeFile, now time.Time) string {
	pct, size := "   ?", manifest.Size(a.written).String()
	if a.size > 0 {
		p := int(100 * float64(a.written) / float64(a.size))
		if a.written < a.size {
			p = min(p, 99)
		}
		pct = fmt.Sprintf("%3d%%", p)
		size += "/" + manifest.Size(a.size).String()
	}
	how := fmt.Sprintf("%d conn", a.conns)
	if a.conns == 0 && !a.waitUntil.IsZero() {
		how = "waiting " + waitText(a.waitUntil.Sub(now), a.waitFor)
	}
	return fmt.Sprintf("%s %s  %s  %s", pct, redact.Escape(path.Base(a.path)), size, how)
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

// bar draws the progress bar: of bytes when every size is known, else of
// files (the text after it then says "files").
func bar(s snapshot, width int) string {
	n := min(30, max(8, width-72))
	frac := 0.0
	if s.unknown == 0 && s.totalBytes > 0 {
		frac = float64(percent(s)) / 100
	} else if s.files > 0 {
		frac = float64(s.done) / float64(s.files)
	}
	full := min(int(frac*float64(n)), n)
	return "[" + strings.Repeat("=", full) + strings.Repeat(" ", n-full) + "]"
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
func (d *display) failed(msg string) {
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
func (d *display) summary(res *job.Result) {
	fetched, skipped, pending, failed := res.Count(job.Downloaded), res.Count(job.Skipped), res.Count(job.Pending), res.Count(job.Failed)
	received, interrupted := res.Received, res.Interrupted
	var bytes int64
	for i := range res.Files {
		if res.Files[i].Outcome == job.Downloaded {
			bytes += res.Files[i].Size
		}
	}
	el := res.Duration
	if d.quiet && failed == 0 && !interrupted && pending == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	word := "done"
	if interrupted {
		word = "interrupted"
	}
	fmt.Fprintf(d.w, "%s: %d file(s): %d fetched, %d skipped, %d failed", word, res.InShard, fetched, skipped, failed)
	if res.Pruned > 0 {
		fmt.Fprintf(d.w, ", %d pruned", res.Pruned)
	}
	if pending > 0 {
		fmt.Fprintf(d.w, ", %d not finished (resume with the same command)", pending)
	}
	fmt.Fprintf(d.w, "; %v received in %v", manifest.Size(received), el.Round(10*time.Millisecond))
	if received > 0 {
		fmt.Fprintf(d.w, " (%v)", manifest.Rate(int64(float64(received)/max(el.Seconds(), 1e-3))))
	}
	fmt.Fprintln(d.w)
	for _, h := range res.Hosts {
		switch {
		case h.MinCap < h.ConfigCap:
			fmt.Fprintf(d.w, "slowed: %s answered 429/503 %d time(s); its connections went down to %d of %d (now %d)\n", redact.Escape(h.Host), h.Refusals, h.MinCap, h.ConfigCap, h.Cap)
		case h.Refusals > 0: // a cap of 1 cannot fall
			fmt.Fprintf(d.w, "slowed: %s answered 429/503 %d time(s) at its cap of %d; refused requests waited before their retries\n", redact.Escape(h.Host), h.Refusals, h.ConfigCap)
		}
	}
}
