package manifest

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"testing"
)

// parse is Parse with the name rules of plat.
func parse(name string, data []byte, plat platform) (*Manifest, error) {
	return Options{plat: &plat}.Parse(name, data)
}

func TestWindowsName(t *testing.T) {
	cases := []struct {
		path string
		ok   bool
	}{
		{"data.bin", true},
		{"logs/console.txt", true},
		{"COM0", true},
		{"COM10", true},
		{"CONFIG.SYS", true},
		{"CON", false},
		{"con.txt", false},
		{"dir/nul.tar.gz", false},
		{"Aux .txt", false},
		{"COM1", false},
		{"lpt9.log", false},
		{"LPT¹", false},
		{"CONIN$", false},
		{"conout$.x", false},
		{"con\u0131n$", false}, // dotless i upper-cases to I, as NTFS compares
		{"coN\u0131", true},
		{"nul/x", false},
		{"a.", false},
		{"a ", false},
		{"dir./x", false},
		{"2024-01-01T00:00:00.csv", false},
		{"a<b", false},
		{"a>b", false},
		{`a"b`, false},
		{"a|b", false},
		{"a?b", false},
		{"a*b", false},
		{`a\b`, false},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a", 256), false},
		{strings.Repeat("€", 255), true},  // 765 bytes, 255 UTF-16 units
		{strings.Repeat("😀", 128), false}, // 256 UTF-16 units
	}
	for _, c := range cases {
		if why := windowsName(c.path); (why == "") != c.ok {
			t.Errorf("windowsName(%q) = %q; want ok = %v", c.path, why, c.ok)
		}
	}
}

// TestNamesPerPlatform: a name Windows cannot hold is an error, with its
// line, where the manifest is loaded on Windows and a warning elsewhere;
// paths equal but for case are an error on Windows and macOS and a
// warning elsewhere.
func TestNamesPerPlatform(t *testing.T) {
	const text = `[[file]]
url = "https://example.com/a"
path = "logs/CON.txt"
[[file]]
url = "https://example.com/b"
path = "a:b"
[[file]]
url = "https://example.com/Data.bin"
[[file]]
url = "https://example.com/c"
path = "data.bin"
[[file]]
url = "https://example.com/d"
path = "LOGS/x"
`
	windows := platform{windowsNames: true, foldCase: true}
	darwin := platform{foldCase: true}
	linux := platform{}
	cases := []struct {
		name           string
		plat           platform
		errors, warned []int // lines
	}{
		{"on Windows everything is an error", windows, []int{3, 6, 11}, nil},
		// A manifest with errors returns no warnings to print.
		{"on macOS case is an error", darwin, []int{11}, nil},
		{"on Linux everything warns", linux, nil, []int{3, 6, 11}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := parse("m.toml", []byte(text), c.plat)
			var gotErrs, gotWarns []int
			var es Errors
			if errors.As(err, &es) {
				for _, e := range es {
					gotErrs = append(gotErrs, e.Line)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if m != nil {
				for _, w := range m.Warnings {
					gotWarns = append(gotWarns, w.Line)
				}
			}
			if fmt.Sprint(gotErrs) != fmt.Sprint(c.errors) || fmt.Sprint(gotWarns) != fmt.Sprint(c.warned) {
				t.Errorf("error lines %v, warning lines %v; want %v and %v\n%v", gotErrs, gotWarns, c.errors, c.warned, err)
			}
		})
	}
}

// TestCaseCollisionWithADirectory: "Data" as a file and "data/x" need one
// name to be both a file and a directory where case is folded.
func TestCaseCollisionWithADirectory(t *testing.T) {
	text := "[[file]]\nurl = \"https://e.com/1\"\npath = \"Data\"\n[[file]]\nurl = \"https://e.com/2\"\npath = \"data/x\"\n"
	_, err := parse("m.toml", []byte(text), platform{foldCase: true})
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Line != 6 || !strings.Contains(es[0].Msg, "directory") {
		t.Errorf("parse = %v; want one error at line 6 about the directory", err)
	}
	m, err := parse("m.toml", []byte(text), platform{})
	if err != nil || len(m.Warnings) != 1 {
		t.Errorf("parse on a case-sensitive system = %v, warnings %v; want one warning", err, m.Warnings)
	}
}

// TestNameWarningsAreBounded: a manifest of timestamped names, valid on
// Linux, prints a few warnings and a count, not one line per file.
func TestNameWarningsAreBounded(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "[[file]]\nurl = \"https://e.com/%d\"\npath = \"12:%02d.csv\"\n", i, i)
	}
	m, err := parse("m.toml", []byte(b.String()), platform{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Warnings) != maxNameWarnings+1 || !strings.Contains(m.Warnings[maxNameWarnings].Msg, "95 more") {
		t.Errorf("%d warnings, the last %v; want %d and a count of 95 more", len(m.Warnings), m.Warnings[len(m.Warnings)-1], maxNameWarnings+1)
	}
}

// TestFoldIndexKeepsPathsWhoseHashIsTaken: two folded paths with one hash
// (forced here; in practice never) are both still found.
func TestFoldIndexKeepsPathsWhoseHashIsTaken(t *testing.T) {
	files := []File{{Path: "a/x"}, {Path: "b/y"}, {Path: "B/Y"}}
	x := newFoldIndex(files)
	x.byHash[maphash.Bytes(x.seed, appendFold(nil, "b/y"))] = 0 // b/y's hash, taken by a/x
	for i, want := range []int{-1, -1, 1} {
		if got := x.add(i); got != want {
			t.Errorf("add(%d) = %d; want %d", i, got, want)
		}
	}
	if j, ok := x.find("b/Y"); !ok || j != 1 {
		t.Errorf("find(b/Y) = %d, %v; want 1, true", j, ok)
	}
	if j, ok := x.find("A/X"); !ok || j != 0 {
		t.Errorf("find(A/X) = %d, %v; want 0, true", j, ok)
	}
	if _, ok := x.find("c"); ok {
		t.Errorf("find(c) found a file")
	}
}
