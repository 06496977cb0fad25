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
// every quoted value after an "=" is replaced by "***".
func Line(s string, credentials bool) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			break
		}
		start := i
		for start > 0 && isSchemeByte(s[start-1]) {
			start--
		}
		end := i + 3
		for end < len(s) && !strings.ContainsRune("\"' \t,]}", rune(s[end])) {
			end++
		}
		b.WriteString(s[:start])
		if start < i {
			b.WriteString(URL(s[start:end]))
		} else {
			b.WriteString(s[start:end])
		}
		s = s[end:]
	}
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

// maskValues replaces each quoted string that follows an '=' by "***".
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
		if j >= len(s) || (s[j] != '"' && s[j] != '\'') {
			continue
		}
		q := s[j]
		k := j + 1
		for k < len(s) && s[k] != q {
			if q == '"' && s[k] == '\\' {
				k++
			}
			k++
		}
		b.WriteString(s[i+1 : j])
		b.WriteByte(q)
		b.WriteString("***")
		if k < len(s) {
			b.WriteByte(q)
		}
		i = k
	}
	return b.String()
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
