package manifest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSplitFindsTablesExactly loads manifests whose comments and strings
// hold quote triples, '#', and text that looks like table headers, each
// with LF and CRLF line endings. The tables after them must be honoured
// (or the manifest rejected at the right line), never dropped, and every
// [[file]] entry must keep its own line.
func TestSplitFindsTablesExactly(t *testing.T) {
	cases := []struct {
		file   string
		dest   string            // relative to testdata/split; "" when the manifest is rejected
		conns  int               // settings.connections
		host   string            // a [hosts] key that must be present
		header map[string]string // headers of that host
		lines  []int             // the [[file]] lines
		errs   []string          // "line:col: message prefix" when rejected
	}{
		{file: "comment_basic_triple.toml", dest: "mirror", conns: 3, lines: []int{3, 12}},
		{file: "comment_literal_triple.toml", dest: ".", conns: DefaultConnections,
			host: "h", header: map[string]string{"Authorization": "Bearer tok"}, lines: []int{3, 11}},
		{file: "strings_with_syntax.toml", dest: "mirror", conns: 3,
			host: "h", header: map[string]string{"X-Host": "yes"}, lines: []int{1, 19}},
		{file: "escaped_quotes.toml", dest: "mirror", conns: 3,
			host: "h", header: map[string]string{"X-Host": "yes"}, lines: []int{1, 10}},
		{file: "multiline_holds_headers.toml", errs: []string{
			`4:1: header "X-Note": value contains a line break`,
			`18:8: size: bad size "big"`,
		}},
		{file: "ipv6_host.toml", errs: []string{`7:8: rate: bad rate "bad"`}},
		{file: "nested_array.toml", errs: []string{
			`3:11: mirrors must be a list of strings`,
			`12:8: size: bad size "big"`,
		}},
	}
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join("testdata", "split", c.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, eol := range []string{"\n", "\r\n"} {
			name := c.file + map[string]string{"\n": " with LF", "\r\n": " with CRLF"}[eol]
			t.Run(name, func(t *testing.T) {
				text := bytes.ReplaceAll(data, []byte("\n"), []byte(eol))
				m, err := Parse(filepath.Join("testdata", "split", c.file), text)
				if c.errs != nil {
					var es Errors
					if !errors.As(err, &es) {
						t.Fatalf("Parse = %v; want errors %q", err, c.errs)
					}
					var got []string
					for _, e := range es {
						got = append(got, strings.TrimPrefix(e.Error(), e.File+":"))
					}
					if len(got) != len(c.errs) {
						t.Fatalf("Parse errors = %q; want %q", got, c.errs)
					}
					for i := range got {
						if !strings.HasPrefix(got[i], c.errs[i]) {
							t.Errorf("error %d = %q; want prefix %q", i, got[i], c.errs[i])
						}
					}
					return
				}
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				dest := filepath.Join("testdata", "split", c.dest)
				if m.Dest != dest || m.Settings.Connections != c.conns {
					t.Errorf("dest, connections = %q, %d; want %q, %d", m.Dest, m.Settings.Connections, dest, c.conns)
				}
				if c.host != "" {
					h := m.Hosts[c.host]
					if h == nil {
						t.Fatalf("Hosts[%q] missing; hosts = %v", c.host, m.Hosts)
					}
					for k, v := range c.header {
						if h.Headers[k] != v {
							t.Errorf("Hosts[%q].Headers[%q] = %q; want %q", c.host, k, h.Headers[k], v)
						}
					}
				}
				var lines []int
				for _, f := range m.Files {
					lines = append(lines, f.Line)
				}
				if !slices.Equal(lines, c.lines) {
					t.Errorf("file lines = %v; want %v", lines, c.lines)
				}
			})
		}
	}
}

// TestWrongIndexIsAnError hands parse a line index that missed a table
// header: the manifest must be rejected rather than run with its settings
// dropped or its entries' lines shifted.
func TestWrongIndexIsAnError(t *testing.T) {
	data := []byte("[[file]]\nurl = \"https://h/a\"\n\n[settings]\nconnections = 3\n\n" +
		"[[file]]\nurl = \"https://h/b\"\n[[file]]\nurl = \"https://h/c\"\n")
	cases := []struct {
		name string
		miss int // 1-based line of the header the index misses
		want string
	}{
		{"a missed [settings] is decoded in a batch and reported", 4, `"settings"`},
		{"a missed [[file]] makes the count of entries differ", 9, "found 2 [[file]] headers but decoded 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Parse("m.toml", data); err != nil {
				t.Fatalf("Parse with a right index: %v", err)
			}
			ix := newLineIndex(data)
			ix.header[c.miss-1] = noHeader
			ix.files = slices.DeleteFunc(ix.files, func(l int) bool { return l == c.miss })
			m, err := Options{}.parse("m.toml", ix)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("parse with header %d missed = %+v, %v; want an error containing %s", c.miss, m, err, c.want)
			}
		})
	}
}
