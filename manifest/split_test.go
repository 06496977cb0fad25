package manifest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
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

// TestBatchHoldsOnlyFiles feeds the batch check what a line index that
// missed the [settings] header would have cut: the manifest must be
// rejected rather than lose its settings.
func TestBatchHoldsOnlyFiles(t *testing.T) {
	data, err := os.ReadFile("testdata/split/comment_basic_triple.toml")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(data, []byte("[[file]]"))
	b := fileBatch{text: data[start:], first: bytes.Count(data[:start], []byte{'\n'})}
	var top map[string]any
	if _, err := toml.Decode(string(b.text), &top); err != nil {
		t.Fatal(err)
	}
	e := batchOnlyFiles("m.toml", b, top)
	if e == nil || e.Line != 3 || !strings.Contains(e.Msg, `"settings"`) {
		t.Fatalf("batchOnlyFiles = %v; want an error at line 3 naming settings", e)
	}
	delete(top, "settings")
	if e := batchOnlyFiles("m.toml", b, top); e != nil {
		t.Errorf("batchOnlyFiles(only files) = %v; want nil", e)
	}
}
