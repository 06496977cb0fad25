package manifest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/bulkdl/bulkdl/redact"
)

// Error is a problem found in a manifest, at a position where known.
type Error struct {
	File      string
	Line, Col int // 1-based; 0 if unknown
	Msg       string
	// Text is the offending line's text, if known, fit to print: URLs in
	// it redacted, header values hidden, control characters escaped.
	Text string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in a manifest, in line order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// decodeError turns a decoding error in text that starts at 0-based
// manifest line first into positioned Errors.
func (v *validator) decodeError(err error, first int) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line := pe.Position.Line + first
		msg := redact.Line(pe.Message, false)
		if v.secretLine(line) {
			// The decoder quotes the text it stopped at: a header's value.
			msg = redact.Quoted(msg)
		}
		return Errors{{File: v.name, Line: line, Col: pe.Position.Col, Msg: msg, Text: v.text(line)}}
	}
	return Errors{{File: v.name, Msg: err.Error()}}
}

// at records an error at key in the table whose header is on line hdr.
func (v *validator) at(hdr int, key string, format string, args ...any) {
	v.errs = append(v.errs, v.pos(hdr, key, fmt.Sprintf(format, args...)))
}

func (v *validator) warn(hdr int, key string, msg string) {
	v.warns = append(v.warns, v.pos(hdr, key, msg))
}

func (v *validator) pos(hdr int, key, msg string) *Error {
	e := &Error{File: v.name, Msg: msg}
	if key != "" {
		e.Line, e.Col = v.ix.keyIn(hdr, key)
	}
	if e.Line == 0 && hdr > 0 {
		e.Line, e.Col = hdr, 1
	}
	e.Text = v.text(e.Line)
	return e
}

// text returns 1-based line n fit to print in an error: a line may carry
// a URL's credentials or a header's literal value. A line inside a
// multi-line string is not shown at all: no '=' on it says whether it is
// a header's value.
func (v *validator) text(n int) string {
	if v.ix.inString(n) {
		return redact.Mask
	}
	return redact.Line(v.ix.lineText(n), v.secretLine(n))
}

// secretLine reports whether 1-based line n may hold a header's value:
// it is in a headers table or a multi-line string, or names headers.
func (v *validator) secretLine(n int) bool {
	return v.ix.inString(n) || v.ix.inHeaders(n) || strings.Contains(strings.ToLower(v.ix.lineText(n)), "headers")
}
