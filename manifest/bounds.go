package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// maxDepth bounds how deeply arrays, inline tables and dotted keys nest. A
// manifest needs two or three levels; the decoder's memory grows with the
// square of the depth (a 32 KB file of dotted keys took 2.9 GB), so a
// small file could otherwise exhaust it.
const maxDepth = 16

// readManifest reads at most maxManifest bytes of name, failing at the
// first NUL byte (no TOML text has one; /dev/zero is all of them) and at
// the size limit, so that no input makes it exhaust memory. A regular
// file is read into one buffer of its size.
func readManifest(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	size := 0
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= maxManifest {
		size = int(fi.Size())
	}
	return readBounded(name, f, size)
}

// readBounded reads a manifest named name from r, size bytes long if
// known (else 0): it stops at maxManifest and at the first NUL byte, so
// that an endless stream (a pipe, /dev/zero) fails at once instead of
// filling memory.
func readBounded(name string, r io.Reader, size int) ([]byte, error) {
	data := make([]byte, 0, size+512) // room to read EOF without growing
	for {
		if len(data) == cap(data) {
			data = slices.Grow(data, 256<<10)
		}
		n, rerr := r.Read(data[len(data):cap(data)])
		if i := bytes.IndexByte(data[len(data):len(data)+n], 0); i >= 0 {
			line := 1 + bytes.Count(data[:len(data)+i], []byte{'\n'})
			return nil, Errors{{File: name, Line: line, Msg: "contains a NUL byte: not a TOML text file"}}
		}
		if len(data)+n > maxManifest {
			return nil, Errors{{File: name, Msg: fmt.Sprintf("manifest is larger than %v, the limit: split it", Size(maxManifest))}}
		}
		data = data[:len(data)+n]
		if errors.Is(rerr, io.EOF) {
			return data, nil
		}
		if rerr != nil {
			return nil, fmt.Errorf("manifest: %w", rerr)
		}
	}
}

// checkDepth returns an error at the first place where arrays, inline
// tables or dotted keys (a.b.c, [a.b.c]) nest deeper than maxDepth,
// skipping strings and comments. The column is in bytes.
func checkDepth(name string, data []byte) *Error {
	var stack []byte // the open brackets
	line, lineStart := 1, 0
	inKey, keyDots := true, 0 // in a key (before its '='), and its dots so far
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !depthSyntax[c] {
			continue // most bytes: names, numbers, spaces
		}
		switch c {
		case '\n':
			line, lineStart = line+1, i+1
			if len(stack) == 0 {
				inKey, keyDots = true, 0
			}
		case '#':
			if k := bytes.IndexByte(data[i:], '\n'); k >= 0 {
				i += k - 1
			} else {
				i = len(data)
			}
		case '"', '\'':
			end := stringEnd(data, i)
			if nl := bytes.LastIndexByte(data[i:end], '\n'); nl >= 0 {
				line += bytes.Count(data[i:end], []byte{'\n'})
				lineStart = i + nl + 1
			}
			i = end - 1
		case '=':
			inKey = false
		case '.':
			if inKey {
				if keyDots++; keyDots >= maxDepth {
					return depthError(name, line, i-lineStart+1, "dotted keys")
				}
			}
		case '[', '{':
			stack = append(stack, c)
			if len(stack) > maxDepth {
				return depthError(name, line, i-lineStart+1, "arrays and inline tables")
			}
			if c == '{' {
				inKey, keyDots = true, 0
			}
		case ',':
			if len(stack) > 0 && stack[len(stack)-1] == '{' {
				inKey, keyDots = true, 0
			}
		case ']', '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if c == '}' {
				inKey = false
			}
		}
	}
	return nil
}

// depthSyntax marks the bytes checkDepth acts on.
var depthSyntax = [256]bool{'\n': true, '#': true, '"': true, '\'': true, '=': true, '.': true,
	'[': true, '{': true, ',': true, ']': true, '}': true}

func depthError(name string, line, col int, what string) *Error {
	return &Error{File: name, Line: line, Col: col, Msg: fmt.Sprintf("%s nest deeper than %d levels here; a manifest needs two or three", what, maxDepth)}
}

// stringEnd returns the offset just past the TOML string that starts with
// the quote at data[i]: basic or literal, single- or multi-line, with
// escapes in basic strings. An unterminated one-line string ends before
// its newline, a multi-line one at the end of data; the decoder reports
// both.
func stringEnd(data []byte, i int) int {
	c := data[i]
	n := 1
	if i+2 < len(data) && data[i+1] == c && data[i+2] == c {
		n = 3
	}
	j := i + n
	if n == 1 {
		// The usual string, a URL or a checksum on one line with no
		// escapes, is skipped at once. (A miss costs at most the
		// distance to the next such quote, where the next string of
		// this kind can start at the earliest: linear in all.)
		if k := bytes.IndexByte(data[j:], c); k >= 0 {
			s := data[j : j+k]
			if bytes.IndexByte(s, '\n') < 0 && (c == '\'' || bytes.IndexByte(s, '\\') < 0) {
				return j + k + 1
			}
		}
	}
	for j < len(data) {
		b := data[j]
		if b == '\\' && c == '"' {
			j += 2
			continue
		}
		if b == c && n == 1 {
			return j + 1
		}
		if b == c {
			// A multi-line string may end in up to two more quotes
			// ("""a"""""): the delimiter is the last three of the run.
			// Counted up to 5 only: counting a long run to its end
			// at every string would take time quadratic in it.
			r := 1
			for r < 5 && j+r < len(data) && data[j+r] == c {
				r++
			}
			if r >= 3 {
				return j + min(r, 5)
			}
			j += r
			continue
		}
		if b == '\n' && n == 1 {
			return j // unterminated: the decoder reports it
		}
		j++
	}
	return len(data)
}
