// Package redact makes text fit to print: it hides the credentials URLs
// and manifest lines carry, and escapes characters that would rewrite a
// terminal or disguise a name.
//
// It is the one place that decides what of a URL may be printed; the
// manifest, segdl and the command line all print URLs through [URL].
package redact

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Mask replaces every secret part [URL] hides.
const Mask = "xxxxx"

// URL returns s fit to print. The whole userinfo is hidden, whether it is a
// user name alone (a token passed as the user, as GitHub and GitLab tokens
// often are) or user:password; every query value is hidden, and so is a
// query part with no "=" (a bare ?TOKEN), and the fragment. The host and
// path are kept: a URL that carries a secret in its path cannot be told
// apart from one that does not.
//
// A string that does not parse as a URL is redacted conservatively:
// everything after the first '?' or '#', and everything before the last
// '@' of what looks like an authority, is hidden.
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return Escape(unparsable(s))
	}
	if u.User != nil {
		u.User = url.User(Mask)
	}
	u.RawQuery = query(u.RawQuery)
	u.ForceQuery = false
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = Mask, ""
	}
	return Escape(u.String())
}

// query hides every value of a raw query, and every part without "=".
func query(q string) string {
	if q == "" {
		return ""
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=" + Mask
		} else if p != "" {
			parts[i] = Mask
		}
	}
	return strings.Join(parts, "&")
}

// unparsable redacts a string that is not a URL net/url accepts.
func unparsable(s string) string {
	rest, tail := s, ""
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		rest, tail = s[:i], s[i:i+1]+Mask
	}
	// Whatever precedes the last '@' may be userinfo, even when a '/' in
	// an unescaped password makes the authority end early.
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		start := 0
		if i := strings.Index(rest, "://"); i >= 0 && i < at {
			start = i + 3
		} else if i := strings.IndexByte(rest, ':'); i >= 0 && i < at {
			start = i + 1
		}
		rest = rest[:start] + Mask + rest[at:]
	}
	return rest + tail
}

// Line returns a line of a manifest fit to print: every URL in it goes
// through [URL], a quoted string that starts like "user@host" loses what
// precedes its '@', and when credentials is true (the line sets headers)
// every value after an "=" is replaced by "***".
//
// A URL in a quoted string runs to the string's end: a ',', a quote of
// the other kind or a space there is part of a password or a query
// value. Elsewhere (a bare value, a message) it ends at the first of
// those.
func Line(s string, credentials bool) string {
	var b strings.Builder
	done := 0      // s[:done] is in b
	var quote byte // the quote of the string s[i] is in; 0 outside one
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0 && c == quote:
			quote = 0
			continue
		case quote == '"' && c == '\\':
			i++ // an escaped character, maybe a quote
			continue
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
			continue
		}
		if !strings.HasPrefix(s[i:], "://") {
			continue
		}
		start := i
		for start > done && isSchemeByte(s[start-1]) {
			start--
		}
		if start == i {
			continue // no scheme: not a URL
		}
		end := i + 3
		if quote != 0 {
			end = stringEnd(s, end, quote, quote == '"')
		} else {
			for end < len(s) && !strings.ContainsRune("\"' \t,]}", rune(s[end])) {
				end++
			}
		}
		b.WriteString(s[done:start])
		b.WriteString(URL(s[start:end]))
		done = end
		i = end - 1 // the closing quote, if any, is seen next
	}
	b.WriteString(s[done:])
	out := userinfo.ReplaceAllString(b.String(), "${1}"+Mask+"@")
	if credentials {
		out = maskValues(out)
	}
	return Escape(out)
}

// userinfo matches a quoted string that starts like "TOKEN@host".
var userinfo = regexp.MustCompile(`(["'])[^"'@/\s]+@`)

func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// maskValues replaces each value that follows an '=' by "***": a quoted
// string (a multi-line one to its end or the line's), or a bare value up
// to the next ',', '}' or '#' (quotes forgotten, or the decoder's own
// text). An array or inline table keeps its brackets; the values in it
// that follow an '=' are masked in turn.
func maskValues(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		b.WriteByte(c)
		if c != '=' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		b.WriteString(s[i+1 : j])
		i = j - 1
		if j >= len(s) || s[j] == '[' || s[j] == '{' {
			continue
		}
		var k int // the value is s[j:k]
		switch q := s[j]; {
		case strings.HasPrefix(s[j:], `"""`) || strings.HasPrefix(s[j:], "'''"):
			delim := s[j : j+3]
			b.WriteString(delim + "***")
			if e := strings.Index(s[j+3:], delim); e >= 0 {
				b.WriteString(delim)
				k = j + 3 + e + 3
			} else {
				k = len(s)
			}
		case q == '"' || q == '\'':
			k = stringEnd(s, j+1, q, q == '"')
			b.WriteByte(q)
			b.WriteString("***")
			if k < len(s) {
				b.WriteByte(q)
				k++
			}
		default:
			k = j
			for k < len(s) && !strings.ContainsRune(",}#", rune(s[k])) {
				k++
			}
			for k > j && (s[k-1] == ' ' || s[k-1] == '\t') {
				k-- // the spaces before a ',' or '}' are kept
			}
			b.WriteString("***")
		}
		i = k - 1
	}
	return b.String()
}

// Quoted returns msg, a message that may quote the text it is about
// ("…" with Go's escapes, or '…'), with what each quoted part holds
// replaced by Mask; a single character ('x', '\u') is kept.
func Quoted(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		q := msg[i]
		b.WriteByte(q)
		if q != '"' && q != '\'' {
			continue
		}
		k := stringEnd(msg, i+1, q, true)
		if q == '\'' && k < len(msg) && k-i <= 3 {
			b.WriteString(msg[i+1 : k+1])
		} else {
			b.WriteString(Mask)
			if k < len(msg) {
				b.WriteByte(q)
			}
		}
		i = k
	}
	return b.String()
}

// stringEnd returns the index of the quote q that ends the string whose
// text starts at s[from], skipping what a backslash escapes if escapes;
// len(s) if s ends first.
func stringEnd(s string, from int, q byte, escapes bool) int {
	k := from
	for k < len(s) && s[k] != q {
		if escapes && s[k] == '\\' {
			k++
		}
		k++
	}
	return min(k, len(s))
}

// Unsafe reports whether r must not reach a terminal as it is: C0 and C1
// control characters, DEL, and the Unicode bidirectional formatting
// characters that reorder what is displayed (U+061C, U+200E, U+200F,
// U+202A to U+202E, U+2066 to U+2069).
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Escape returns s with every [Unsafe] rune, and every byte that is not
// valid UTF-8, written as a Go escape (\x1b, \u202e); tabs are kept.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteRune(r)
		case r < 0x80 && Unsafe(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case Unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || (r != '\t' && Unsafe(r)) {
			return true
		}
		i += n
	}
	return false
}
