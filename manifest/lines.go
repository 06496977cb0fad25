package manifest

import (
	"bytes"
	"strconv"
	"strings"
)

// lineIndex locates keys in the manifest text. BurntSushi/toml reports
// positions only for the first error it meets itself, so validation that
// reports every error needs its own map from keys to lines. It is built in
// one pass and keeps only line offsets and the lines of [[file]] headers;
// key lookups rescan one table's lines, which happens only on error.
type lineIndex struct {
	data   []byte
	starts []int          // byte offset of each line (0-based line numbers)
	tables map[string]int // "settings", "hosts\x00example.com" -> header line (1-based)
	files  []int          // 1-based header line of the i-th [[file]]
	header []uint8        // header[l]: what 0-based line l is (noHeader, fileHeader, …)
}

const (
	noHeader    = iota
	fileHeader  // [[file]], or a table below it such as [file.headers]
	otherHeader // any other table header
	contLine    // a line that starts inside an array or inline table
	strLine     // a line that starts inside a multi-line string
)

// newLineIndex scans data as TOML lexically: comments, strings of every
// kind and values that span lines (arrays, inline tables) are skipped, so
// that a line is a table header exactly when the decoder reads one there.
// Quote triples in a comment or a one-line string, or a line of a
// multi-line string that looks like [settings], must neither hide a header
// nor make one, or the split into batches would mix tables.
func newLineIndex(data []byte) *lineIndex {
	n := bytes.Count(data, []byte{'\n'}) + 1
	ix := &lineIndex{data: data, tables: map[string]int{}, starts: make([]int, 1, n), header: make([]uint8, 0, n)}
	depth := 0 // open brackets and braces of a value
	kind, start := ix.lineStart(0, depth), 0
	if kind == fileHeader || kind == otherHeader {
		start = ix.headerEnd(0) + 1
	}
	for i := start; i < len(data); i++ {
		c := data[i]
		if !lexSyntax[c] {
			continue
		}
		switch c {
		case '\n':
			ix.header = append(ix.header, kind)
			ix.starts = append(ix.starts, i+1)
			kind = ix.lineStart(i+1, depth)
			if kind == fileHeader || kind == otherHeader {
				// Skip the header itself: its brackets are not a value's.
				i = ix.headerEnd(i + 1)
			}
		case '#':
			if k := bytes.IndexByte(data[i:], '\n'); k >= 0 {
				i += k - 1
			} else {
				i = len(data)
			}
		case '"', '\'':
			end := stringEnd(data, i)
			for k := i; ; k++ {
				nl := bytes.IndexByte(data[k:end], '\n')
				if nl < 0 {
					break
				}
				k += nl
				ix.header = append(ix.header, kind)
				ix.starts = append(ix.starts, k+1)
				kind = strLine
			}
			i = end - 1
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	ix.header = append(ix.header, kind)
	return ix
}

// utf8BOM is UTF-8's byte order mark, which a manifest may start with.
var utf8BOM = []byte("\xef\xbb\xbf")

// lexSyntax marks the bytes newLineIndex acts on.
var lexSyntax = [256]bool{'\n': true, '#': true, '"': true, '\'': true, '[': true, '{': true, ']': true, '}': true}

// lineStart classifies the line starting at off, which the scan reached
// outside any string, with depth brackets of a value open, and records a
// header's table.
func (ix *lineIndex) lineStart(off, depth int) uint8 {
	if depth > 0 {
		return contLine
	}
	if off == 0 && bytes.HasPrefix(ix.data, utf8BOM) {
		off = len(utf8BOM) // a byte order mark, which the decoder skips too
	}
	for off < len(ix.data) && (ix.data[off] == ' ' || ix.data[off] == '\t') {
		off++
	}
	if off == len(ix.data) || ix.data[off] != '[' {
		return noHeader
	}
	t := ix.data[off:]
	if bytes.HasPrefix(t, []byte("[[file]]")) { // the usual spelling: no key to split
		ix.files = append(ix.files, len(ix.starts))
		return fileHeader
	}
	if bytes.HasPrefix(t, []byte("[[")) {
		name, ok := headerName(t[2:], "]]")
		if ok && name == "file" {
			ix.files = append(ix.files, len(ix.starts))
			return fileHeader
		}
		if strings.HasPrefix(name, "file\x00") {
			return fileHeader
		}
		return otherHeader
	}
	name, ok := headerName(t[1:], "]")
	if !ok {
		return otherHeader
	}
	if _, dup := ix.tables[name]; !dup {
		ix.tables[name] = len(ix.starts)
	}
	if strings.HasPrefix(name, "file\x00") {
		return fileHeader
	}
	return otherHeader
}

// headerEnd returns the offset of the last byte of the table header on
// the line that starts at off: its closing bracket, or the byte before the
// line's end when it has none (the decoder reports that).
func (ix *lineIndex) headerEnd(off int) int {
	d := ix.data
	for i := off; i < len(d); i++ {
		switch d[i] {
		case '\n', '#':
			return i - 1
		case '"', '\'':
			i = stringEnd(d, i) - 1
		case ']':
			if i+1 < len(d) && d[i+1] == ']' {
				i++
			}
			return i
		}
	}
	return len(d) - 1
}

// headerName returns the key parts of a table header joined by NUL, given
// the text after the opening bracket(s): a quoted part may hold a bracket,
// as an IPv6 host's does ([hosts."[::1]:8080"]).
func headerName(t []byte, closer string) (string, bool) {
	i := 0
	for i < len(t) && t[i] != '\n' && t[i] != '#' {
		if t[i] == '"' || t[i] == '\'' {
			i = stringEnd(t, i)
			continue
		}
		if bytes.HasPrefix(t[i:], []byte(closer)) {
			parts, ok := splitKey(string(t[:i]))
			return strings.Join(parts, "\x00"), ok
		}
		i++
	}
	return "", false
}

// splitKey splits a TOML key (bare, quoted or dotted) into its parts.
func splitKey(s string) ([]string, bool) {
	var parts []string
	s = strings.TrimSpace(s)
	for s != "" {
		var part string
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, false
			}
			u, err := strconv.Unquote(s[:end+1])
			if err != nil {
				return nil, false
			}
			part, s = u, s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, false
			}
			part, s = s[1:end+1], s[end+2:]
		default:
			end := strings.IndexAny(s, ". \t")
			if end < 0 {
				end = len(s)
			}
			part, s = s[:end], s[end:]
		}
		parts = append(parts, part)
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, ".") {
			s = strings.TrimSpace(s[1:])
		} else if s != "" {
			return nil, false
		}
	}
	return parts, len(parts) > 0
}

// keyIn returns the 1-based line and the column of the value of key in the
// table whose header is on line hdr (0 for the top level), or 0, 0.
func (ix *lineIndex) keyIn(hdr int, key string) (line, col int) {
	// hdr is 1-based, so as a 0-based index it is the line after the header.
	for l := hdr; l < len(ix.starts); l++ {
		if ix.header[l] == contLine || ix.header[l] == strLine {
			continue // a value's continuation, or a string's text
		}
		if ix.header[l] != noHeader {
			return 0, 0
		}
		end := len(ix.data)
		if l+1 < len(ix.starts) {
			end = ix.starts[l+1] - 1
		}
		text := string(ix.data[ix.starts[l]:end])
		k, _, ok := strings.Cut(text, "=")
		if !ok {
			continue
		}
		// A dotted key (key.sub = …) is written where its first part is.
		parts, ok := splitKey(k)
		if ok && parts[0] == key {
			eq := strings.IndexByte(text, '=') + 1
			for eq < len(text) && (text[eq] == ' ' || text[eq] == '\t') {
				eq++
			}
			return l + 1, eq + 1
		}
	}
	return 0, 0
}

// table returns the header line of the table named by parts, or 0.
func (ix *lineIndex) table(parts ...string) int {
	return ix.tables[strings.Join(parts, "\x00")]
}

// file returns the header line of the i-th [[file]] table, or 0 when files
// were written in another form (an inline array).
func (ix *lineIndex) file(i int) int {
	if i < len(ix.files) {
		return ix.files[i]
	}
	return 0
}

// lineText returns the text of 1-based line n without its newline.
func (ix *lineIndex) lineText(n int) string {
	if n < 1 || n > len(ix.starts) {
		return ""
	}
	end := len(ix.data)
	if n < len(ix.starts) {
		end = ix.starts[n] - 1
	}
	return strings.TrimRight(string(ix.data[ix.starts[n-1]:end]), "\r")
}

// inHeaders reports whether 1-based line n is inside a headers table, such
// as [settings.headers] or [file.headers].
func (ix *lineIndex) inHeaders(n int) bool {
	for l := n - 1; l >= 0 && l < len(ix.header); l-- {
		if k := ix.header[l]; k == noHeader || k == contLine || k == strLine {
			continue
		}
		t := strings.TrimLeft(strings.TrimSpace(ix.lineText(l+1)), "[")
		name, ok := headerName([]byte(t), "]")
		return ok && (name == "headers" || strings.HasSuffix(name, "\x00headers"))
	}
	return false
}

// inString reports whether 1-based line n starts inside a multi-line
// string.
func (ix *lineIndex) inString(n int) bool {
	return n >= 1 && n <= len(ix.header) && ix.header[n-1] == strLine
}

// lineEnd returns the offset just past 0-based line l, its newline included.
func (ix *lineIndex) lineEnd(l int) int {
	if l+1 < len(ix.starts) {
		return ix.starts[l+1]
	}
	return len(ix.data)
}

// fileBatch is a run of [[file]] tables, decoded on its own so that the
// decoder's per-key maps for one batch can be freed before the next.
type fileBatch struct {
	text  []byte // lines of the manifest's data, not a copy
	first int    // 0-based line of text's first line in the manifest
}

// split separates the [[file]] tables from the rest of the manifest. The
// rest keeps every line in place (file lines are blanked) so that its
// positions are the manifest's; batches hold up to per [[file]] tables each.
func (ix *lineIndex) split(per int) (rest string, batches []fileBatch) {
	var b strings.Builder
	inFile, count, start, next := false, 0, -1, 0
	flush := func(l int) {
		if start >= 0 {
			batches = append(batches, fileBatch{text: ix.data[ix.starts[start]:ix.starts[l]], first: start})
		}
		start = -1
	}
	for l := range ix.starts {
		switch ix.header[l] {
		case fileHeader:
			// A batch may only start at a [[file]] header proper, never at
			// a sub-table such as [file.headers] of the entry before.
			entry := next < len(ix.files) && ix.files[next] == l+1
			if entry {
				next++
			}
			if !inFile || (entry && count == per) {
				flush(l)
				start, count = l, 0
			}
			inFile = true
			if entry {
				count++
			}
		case otherHeader:
			flush(l)
			inFile = false
		}
		if inFile {
			b.WriteByte('\n')
		} else {
			b.Write(ix.data[ix.starts[l]:ix.lineEnd(l)])
		}
	}
	if start >= 0 {
		batches = append(batches, fileBatch{text: ix.data[ix.starts[start]:], first: start})
	}
	return b.String(), batches
}
