package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/segdl"
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

// verboseDoer logs every request and response (redirect hops included,
// since segdl follows them itself) for -v. Only the method, the redacted
// URL and the Range header are shown: never other headers, which may hold
// credentials.
type verboseDoer struct {
	next   segdl.Doer
	log    func(string)
	redact func(string) string // secrets the manifest expanded
}

var _ segdl.Doer = (*verboseDoer)(nil)

func (v *verboseDoer) Do(req *http.Request) (*http.Response, error) {
	u := v.redact(redact.URL(req.URL.String()))
	line := "request: " + req.Method + " " + u
	if rg := req.Header.Get("Range"); rg != "" {
		line += " (Range: " + rg + ")"
	}
	v.log(line)
	start := time.Now()
	resp, err := v.next.Do(req)
	el := time.Since(start).Round(time.Millisecond)
	switch {
	case err != nil:
		v.log(fmt.Sprintf("response: %s: %s after %v", u, v.redact(err.Error()), el))
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "":
		loc := resp.Header.Get("Location")
		if next, err := req.URL.Parse(loc); err == nil {
			loc = next.String()
		}
		v.log(fmt.Sprintf("redirect: %s: %s to %s after %v", u, resp.Status, v.redact(redact.URL(loc)), el))
	default:
		line := fmt.Sprintf("response: %s: %s", u, resp.Status)
		if cr := resp.Header.Get("Content-Range"); cr != "" {
			line += " (" + cr + ")"
		} else if resp.ContentLength >= 0 {
			line += fmt.Sprintf(" (%d bytes)", resp.ContentLength)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			line += ", Retry-After " + ra
		}
		v.log(line + fmt.Sprintf(" after %v", el))
	}
	return resp, err
}
