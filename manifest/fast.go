package manifest

import (
	"bytes"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Decoding [[file]] batches.
//
// The TOML decoder costs about 4 µs per [[file]] entry of the usual shape
// (most of it in its lexer), which made decoding the bulk of loading a
// large manifest. Almost every batch is written in a small subset of TOML:
// [[file]] headers, bare keys set to basic strings without escapes, plain
// decimal integers or arrays of such strings, comments and blank lines.
// fastFiles reads exactly that subset, about ten times faster, and gives
// up on the whole batch at anything else, which the decoder then reads as
// before. It never decides that a batch is wrong: every error, with its
// position, is the decoder's. FuzzFastFilesMatchesDecoder holds it to the
// decoder's values.

// decodeBatch decodes the text of a batch of [[file]] tables into the
// decoder's representation: the top-level table. reference skips
// fastFiles: the decoder alone (tests compare with it).
func decodeBatch(text []byte, reference bool) (map[string]any, error) {
	if !reference {
		if top, ok := fastFiles(text); ok {
			return top, nil
		}
	}
	var fb any
	if _, err := toml.NewDecoder(bytes.NewReader(text)).Decode(&fb); err != nil {
		return nil, err
	}
	top, _ := fb.(map[string]any)
	return top, nil
}

// fastFiles decodes text as the TOML decoder would when text holds only
// [[file]] tables of the usual shape, and returns false for any other
// text, valid or not. The values it returns are the decoder's: strings,
// int64s and []any of strings in map[string]any tables, under "file" as a
// []map[string]any.
func fastFiles(text []byte) (map[string]any, bool) {
	s := string(text) // values are substrings, as the decoder's are
	var (
		files []map[string]any
		cur   map[string]any
		ok    bool
	)
	for i := 0; i < len(s); {
		i = skipBlank(s, i)
		if i == len(s) {
			break
		}
		switch c := s[i]; {
		case c == '\n' || c == '\r' || c == '#':
			// A blank line, or one with only a comment: the line end
			// below reads it.
		case c == '[':
			if len(s)-i < 8 || s[i:i+8] != "[[file]]" {
				return nil, false // another table, or a spelling left to the decoder
			}
			i += 8
			cur = map[string]any{}
			files = append(files, cur)
		case cur == nil:
			return nil, false // a key before the first header
		default:
			j := i
			for j < len(s) && bareKeyChar[s[j]] {
				j++
			}
			if j == i {
				return nil, false // a quoted key, or not a key
			}
			key := s[i:j]
			if i = skipBlank(s, j); i == len(s) || s[i] != '=' {
				return nil, false // a dotted key, or no '='
			}
			var val any
			if val, i, ok = fastValue(s, skipBlank(s, i+1)); !ok {
				return nil, false
			}
			n := len(cur)
			if cur[key] = val; len(cur) == n {
				return nil, false // a duplicate key: the decoder reports it
			}
		}
		if i, ok = lineEnd(s, skipBlank(s, i)); !ok {
			return nil, false
		}
	}
	if len(files) == 0 {
		return nil, false
	}
	return map[string]any{"file": files}, true
}

// bareKeyChar marks the bytes of a bare key: A-Z a-z 0-9 _ -.
var bareKeyChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	return t
}()

// plainByte marks the bytes a basic string holds as they are: printable
// ASCII but the quote and the backslash, and tab.
var plainByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= ' ' && c < 0x7f && c != '"' && c != '\\' || c == '\t'
	}
	return t
}()

// skipBlank returns the offset of the first byte at or after i that is not
// a space or a tab.
func skipBlank(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// lineEnd reads an optional comment and the end of the line at i, and
// returns the offset of the next line.
func lineEnd(s string, i int) (int, bool) {
	if i < len(s) && s[i] == '#' {
		var ok bool
		if i, ok = comment(s, i+1); !ok {
			return 0, false
		}
	}
	switch {
	case i == len(s):
		return i, true
	case s[i] == '\n':
		return i + 1, true
	case s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n':
		return i + 2, true
	}
	return 0, false
}

// comment reads the text of a comment from i up to its line's end, and
// returns the offset of that end. A comment may hold any character but a
// control character other than tab, in valid UTF-8, as all of a TOML text.
func comment(s string, i int) (int, bool) {
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\n' || c == '\r':
			return i, true // lineEnd checks a '\r'
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return 0, false
			}
			i += n
		case c < ' ' && c != '\t' || c == 0x7f:
			return 0, false
		default:
			i++
		}
	}
	return i, true
}

// fastValue reads the value at i: a basic string without escapes, a
// decimal integer without sign, underscores or leading zeros, or an array
// of such strings. It returns the offset after the value.
func fastValue(s string, i int) (any, int, bool) {
	if i == len(s) {
		return nil, 0, false
	}
	switch c := s[i]; {
	case c == '"':
		str, j, ok := basicString(s, i)
		return str, j, ok
	case '0' <= c && c <= '9':
		j := i
		var n int64
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			n = n*10 + int64(s[j]-'0')
			j++
		}
		// Up to 18 digits cannot overflow. Any byte after them but a
		// blank, a comment or the line's end (a float's '.', a date's
		// '-', a hex number's 'x', '_') fails at lineEnd.
		if j-i > 18 || c == '0' && j-i > 1 {
			return nil, 0, false
		}
		return n, j, true
	case c == '[':
		list := make([]any, 0, 2)
		j, ok := arraySpace(s, i+1)
		for ok && j < len(s) && s[j] != ']' {
			var str string
			if str, j, ok = basicString(s, j); !ok {
				return nil, 0, false
			}
			list = append(list, str)
			if j, ok = arraySpace(s, j); !ok || j == len(s) {
				return nil, 0, false
			}
			switch s[j] {
			case ',':
				j, ok = arraySpace(s, j+1)
			case ']':
			default:
				return nil, 0, false
			}
		}
		if !ok || j == len(s) {
			return nil, 0, false
		}
		return list, j + 1, true
	}
	return nil, 0, false
}

// arraySpace skips what may stand between the values of an array: blanks,
// line ends and comments.
func arraySpace(s string, i int) (int, bool) {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n':
			i++
		case '\r':
			if i+1 == len(s) || s[i+1] != '\n' {
				return 0, false
			}
			i += 2
		case '#':
			var ok bool
			if i, ok = comment(s, i+1); !ok {
				return 0, false
			}
		default:
			return i, true
		}
	}
	return i, true
}

// basicString reads the basic string that starts with the quote at i, if
// it has no escapes, and returns its text and the offset after it.
func basicString(s string, i int) (string, int, bool) {
	if i == len(s) || s[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(s); {
		for j < len(s) && plainByte[s[j]] {
			j++
		}
		if j == len(s) {
			break
		}
		c := s[j]
		switch {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\':
			return "", 0, false // an escape: the decoder's to replace
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && n == 1 {
				return "", 0, false
			}
			j += n
		default:
			return "", 0, false // a line end or a control character
		}
	}
	return "", 0, false
}
