package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://example.com/a.tar.gz", "https://example.com/a.tar.gz"},
		{"https://TOKEN@example.com/a", "https://xxxxx@example.com/a"},
		{"https://user:pw@example.com/a", "https://xxxxx@example.com/a"},
		{"https://user:@example.com/a", "https://xxxxx@example.com/a"},
		{"https://h/a?X-Amz-Signature=abc&X-Amz-Date=1", "https://h/a?X-Amz-Signature=xxxxx&X-Amz-Date=xxxxx"},
		{"https://h/a?TOKEN", "https://h/a?xxxxx"},
		{"https://h/a?TOKEN&k=v&", "https://h/a?xxxxx&k=xxxxx&"},
		{"https://h/a?", "https://h/a"},
		{"https://h/a#access_token=t", "https://h/a#xxxxx"},
		{"https://[::1]:8080/a?t=s", "https://[::1]:8080/a?t=xxxxx"},
		// Unparsable: nothing after '?' or before the last '@' survives.
		{"https://u:p%zz@h/a?sig=secret", "https://xxxxx@h/a?xxxxx"},
		{"http://u:pa/ss@h/x?sig=secret", "http://xxxxx@h/x?xxxxx"},
		{"http://h:port/x?TOKEN", "http://h:port/x?xxxxx"},
		{"https:tok@h/x", "https:xxxxx@h/x"},
		{"%zz?secret#frag", "%zz?xxxxx"},
		{"http://h/\x1b[2J\u202e?q", "http://h/\\x1b[2J\\u202e?xxxxx"},
	}
	for _, c := range cases {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

func TestLine(t *testing.T) {
	cases := []struct {
		in    string
		creds bool
		want  string
	}{
		{`url = "https://u:pw@h/a?X-Amz-Signature=abc"`, false, `url = "https://xxxxx@h/a?X-Amz-Signature=xxxxx"`},
		{`mirrors = ["https://TOK@a/x", 'http://b/y?tok']`, false, `mirrors = ["https://xxxxx@a/x", 'http://b/y?xxxxx']`},
		{`headers = { Authorization = "Bearer lit", "X-Api-Key" = 'k' }`, true, `headers = { Authorization = "***", "X-Api-Key" = '***' }`},
		{`PRIVATE-TOKEN = "glpat-x\"y"`, true, `PRIVATE-TOKEN = "***"`},
		{`path = "a` + "\u202e" + `gnp.exe"`, false, `path = "a\u202egnp.exe"`},
		{`headers = { A = "unterminated`, true, `headers = { A = "***`},
		{`[hosts."tok@example.com"]`, false, `[hosts."xxxxx@example.com"]`},
		// Inside a string a URL runs to its end.
		{`url = "http://u:ab,cd@h/x" # a, b`, false, `url = "http://xxxxx@h/x" # a, b`},
		{`url = 'http://h/x?a=1,2&t=s"q' x`, false, `url = 'http://h/x?a=xxxxx&t=xxxxx' x`},
		{`mirrors = ["http://u:p w@h/x?t=s", "http://h/y?k=v"]`, false, `mirrors = ["http://xxxxx@h/x?xxxxx", "http://h/y?k=xxxxx"]`},
		{`got "http://h/a?t=s" instead`, false, `got "http://h/a?t=xxxxx" instead`},
		{`bare = http://h/a?t=s, x`, false, `bare = http://h/a?t=xxxxx, x`},
		// Every form of a value is masked.
		{`headers = { A = Bearer tok, B = 'k' }`, true, `headers = { A = ***, B = '***' }`},
		{`A = """Bearer tok""" x`, true, `A = """***""" x`},
		{`A = '''tok`, true, `A = '''***`},
		{`headers = { A = "v" } # ok`, true, `headers = { A = "***" } # ok`},
	}
	for _, c := range cases {
		if got := Line(c.in, c.creds); got != c.want {
			t.Errorf("Line(%q, %v) = %q; want %q", c.in, c.creds, got, c.want)
		}
	}
}

func TestQuoted(t *testing.T) {
	cases := []struct{ in, want string }{
		{`expected four hexadecimal digits after '\u', but got "Bearer tok \\u00z" instead`, `expected four hexadecimal digits after '\u', but got "xxxxx" instead`},
		{`but got 'x' instead`, `but got 'x' instead`},
		{`found "a\"b" and 'abc'`, `found "xxxxx" and 'xxxxx'`},
		{`unterminated "tok`, `unterminated "xxxxx`},
	}
	for _, c := range cases {
		if got := Quoted(c.in); got != c.want {
			t.Errorf("Quoted(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

func TestEscape(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain name.bin\tok", "plain name.bin\tok"},
		{"rtl-\u202egnp.exe", `rtl-\u202egnp.exe`},
		{"csi\u009b31m", `csi\u009b31m`},
		{"esc\x1b]0;title\x07", `esc\x1b]0;title\x07`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"iso\u2066x\u2069 lrm\u200e alm\u061c", `iso\u2066x\u2069 lrm\u200e alm\u061c`},
		{"日本語", "日本語"},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

func FuzzURL(f *testing.F) {
	for _, s := range []string{"https://u:p@h/a?x=y", "http://u:pa/ss@h/x?s", "%zz?q", "https:tok@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := URL(s)
		for _, r := range got {
			if r != '\t' && Unsafe(r) {
				t.Fatalf("URL(%q) = %q has an unsafe rune", s, got)
			}
		}
		// Nothing after a '?' survives.
		if i := strings.IndexByte(s, '?'); i >= 0 {
			q := s[i+1:]
			if len(q) >= 6 && !strings.ContainsAny(q, "&=#?@/:%") && strings.Contains(got, q) {
				t.Fatalf("URL(%q) = %q keeps the query %q", s, got, q)
			}
		}
	})
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{`url = "https://u:p@h/a?x=y"`, `headers = { A = "v" }`, `[hosts."t@h"]`, "path = \"\u202e\""} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, creds bool) {
		got := Line(s, creds)
		for _, r := range got {
			if r != '\t' && Unsafe(r) {
				t.Fatalf("Line(%q) = %q has an unsafe rune", s, got)
			}
		}
	})
}
