package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
)

// outputMode chooses the display for -progress: the bar is drawn only on a
// terminal that takes escape codes (never TERM=dumb, never with -v or
// -timestamps, whose lines would tear it: lines says so), plain lines
// elsewhere, nothing with -q.
func outputMode(progress string, tty bool, term string, lines, quiet bool) string {
	mode := progress
	if mode == "auto" {
		mode = "plain"
		if tty {
			mode = "bar"
		}
	}
	if mode == "bar" && (term == "dumb" || lines) {
		mode = "plain"
	}
	if quiet {
		mode = "none"
	}
	return mode
}

// stampWriter puts a timestamp at the start of every line written through
// it. Writes may hold part of a line; the stamp goes before its first byte.
type stampWriter struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
	mid bool // inside a line
}

func newStampWriter(w io.Writer, now func() time.Time) *stampWriter {
	return &stampWriter{w: w, now: now}
}

// stampLayout is RFC 3339 in UTC with milliseconds, as CI logs show time.
const stampLayout = "2006-01-02T15:04:05.000Z07:00"

func (s *stampWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bytes.Buffer
	for rest := p; len(rest) > 0; {
		if !s.mid {
			b.WriteString(s.now().UTC().Format(stampLayout))
			b.WriteByte(' ')
			s.mid = true
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			b.Write(rest)
			break
		}
		b.Write(rest[:i+1])
		s.mid = false
		rest = rest[i+1:]
	}
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// startLine is what a plain run says first: what it will do, where, and
// with which budget.
func startLine(files, toFetch int, known int64, unknown, hosts int, dest, budget string, rate manifest.Rate) string {
	size := manifest.Size(known).String()
	if unknown > 0 {
		size += fmt.Sprintf(" known, %d of unknown size", unknown)
	}
	return fmt.Sprintf("start: %d file(s) (%d to fetch, %d complete), %s, %d host(s), into %s; budget %s; rate %v",
		files, toFetch, files-toFetch, size, hosts, dest, budget, rate)
}
