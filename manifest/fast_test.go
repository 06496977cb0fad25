package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// decodeWhole decodes text with the TOML decoder alone.
func decodeWhole(text []byte) (map[string]any, error) {
	var v any
	if _, err := toml.NewDecoder(bytes.NewReader(text)).Decode(&v); err != nil {
		return nil, err
	}
	top, _ := v.(map[string]any)
	return top, nil
}

// files is the decoder's value of a batch of [[file]] tables.
func files(tables ...map[string]any) map[string]any {
	return map[string]any{"file": tables}
}

// TestFastFilesReadsTheUsualShape checks that the batches manifests are
// usually made of take the fast path, with the decoder's values.
func TestFastFilesReadsTheUsualShape(t *testing.T) {
	sum := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		name, text string
		want       map[string]any
	}{
		{"the bench's entries", "[[file]]\nurl = \"http://127.0.0.1:8080/f/1\"\nchecksum = \"" + sum + "\"\n\n[[file]]\nurl = \"http://127.0.0.1:8080/f/2\"\n",
			files(map[string]any{"url": "http://127.0.0.1:8080/f/1", "checksum": sum}, map[string]any{"url": "http://127.0.0.1:8080/f/2"})},
		{"sizes and paths", "[[file]]\nurl = \"https://h/a\"\npath = \"x/a.bin\"\nsize = 4096\n[[file]]\nurl = \"https://h/b\"\nsize = 0\n",
			files(map[string]any{"url": "https://h/a", "path": "x/a.bin", "size": int64(4096)}, map[string]any{"url": "https://h/b", "size": int64(0)})},
		{"the largest size it reads", "[[file]]\nsize = 999999999999999999\n",
			files(map[string]any{"size": int64(999999999999999999)})},
		{"comments, blanks and tabs", "  [[file]]  # one\n\t# a comment: \"x\" [[y]] \\ ü\n\nurl\t=\t\"https://h/a\"\t# \"b\"\n   \n",
			files(map[string]any{"url": "https://h/a"})},
		{"CRLF", "[[file]]\r\nurl = \"https://h/a\"\r\n# c\r\n\r\n[[file]]\r\n",
			files(map[string]any{"url": "https://h/a"}, map[string]any{})},
		{"no newline at the end", "[[file]]\nurl = \"https://h/a\"",
			files(map[string]any{"url": "https://h/a"})},
		{"mirrors on one line", "[[file]]\nmirrors = [\"https://m/a\", \"https://n/a\",]\nm2 = []\nm3 = [ ]\n",
			files(map[string]any{"mirrors": []any{"https://m/a", "https://n/a"}, "m2": []any{}, "m3": []any{}})},
		{"mirrors on lines with comments", "[[file]]\nmirrors = [ # first\n  \"https://m/a\", # \"x\"\r\n\t\"https://n/a\"\n]\n",
			files(map[string]any{"mirrors": []any{"https://m/a", "https://n/a"}})},
		{"empty strings, unicode and tabs in strings", "[[file]]\nurl = \"\"\npath = \"dür/\u00a0\u0085\t.bin\"\n",
			files(map[string]any{"url": "", "path": "dür/\u00a0\u0085\t.bin"})},
		{"keys the schema does not know", "[[file]]\nURL = \"a\"\nx-y_1 = \"b\"\n1 = 2\n",
			files(map[string]any{"URL": "a", "x-y_1": "b", "1": int64(2)})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := fastFiles([]byte(c.text))
			if !ok {
				t.Fatalf("fastFiles(%q) fell back to the decoder; want it read", c.text)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("fastFiles(%q) = %#v; want %#v", c.text, got, c.want)
			}
			whole, err := decodeWhole([]byte(c.text))
			if err != nil || !reflect.DeepEqual(got, whole) {
				t.Fatalf("fastFiles(%q) = %#v; the decoder gives %#v, %v", c.text, got, whole, err)
			}
		})
	}
}

// fallbacks are batches fastFiles must leave to the decoder: anything it
// does not read exactly as the decoder does, valid TOML or not.
var fallbacks = []struct{ name, text string }{
	{"an escape", "[[file]]\nurl = \"a\\\"b\"\n"},
	{"an escaped backslash", "[[file]]\nurl = \"a\\\\b\"\n"},
	{"a unicode escape", "[[file]]\nurl = \"\\u00e9\"\n"},
	{"a literal string", "[[file]]\nurl = 'https://h/a'\n"},
	{"a multi-line string", "[[file]]\nurl = \"\"\"https://h/a\"\"\"\n"},
	{"an empty multi-line string", "[[file]]\nurl = \"\"\"\"\"\"\n"},
	{"a multi-line literal string", "[[file]]\nurl = '''a'''\n"},
	{"a duplicate key", "[[file]]\nurl = \"a\"\nurl = \"b\"\n"},
	{"a duplicate key in another case only", "[[file]]\nurl = \"a\"\nURL = \"b\"\nurl = \"c\"\n"},
	{"a dotted key", "[[file]]\nheaders.X-A = \"b\"\n"},
	{"a quoted key", "[[file]]\n\"url\" = \"a\"\n"},
	{"a sub-table", "[[file]]\nurl = \"a\"\n[file.headers]\nX-A = \"b\"\n"},
	{"an inline table", "[[file]]\nheaders = { X-A = \"b\" }\n"},
	{"another table", "[[file]]\nurl = \"a\"\n[settings]\n"},
	{"a spaced header", "[[ file ]]\nurl = \"a\"\n"},
	{"a quoted header", "[[\"file\"]]\nurl = \"a\"\n"},
	{"a key before any header", "url = \"a\"\n[[file]]\n"},
	{"no header at all", "# only a comment\n"},
	{"an empty text", ""},
	{"trailing garbage after a string", "[[file]]\nurl = \"a\" \"b\"\n"},
	{"trailing garbage after a header", "[[file]] x\n"},
	{"a third bracket", "[[file]]]\n"},
	{"a missing value", "[[file]]\nurl =\n"},
	{"a missing equals", "[[file]]\nurl \"a\"\n"},
	{"an unterminated string", "[[file]]\nurl = \"a\n"},
	{"an unterminated string at the end", "[[file]]\nurl = \"a"},
	{"a lone CR", "[[file]]\nurl = \"a\"\r[[file]]\n"},
	{"a CR in a string", "[[file]]\nurl = \"a\rb\"\n"},
	{"a lone CR in a comment", "[[file]]\n# a\rb\n"},
	{"a NUL in a string", "[[file]]\nurl = \"a\x00b\"\n"},
	{"a NUL in a comment", "[[file]]\n# a\x00\n"},
	{"DEL in a string", "[[file]]\nurl = \"a\x7f\"\n"},
	{"a control character in a comment", "[[file]]\n# \x1b[31m\n"},
	{"invalid UTF-8 in a string", "[[file]]\nurl = \"a\xff\"\n"},
	{"invalid UTF-8 in a comment", "[[file]]\n# \xc3\n"},
	{"a surrogate in a string", "[[file]]\nurl = \"\xed\xa0\x80\"\n"},
	{"a byte-order mark", "\ufeff[[file]]\nurl = \"a\"\n"},
	{"a boolean", "[[file]]\nx = true\n"},
	{"a float", "[[file]]\nsize = 1.5\n"},
	{"an exponent", "[[file]]\nsize = 1e3\n"},
	{"a signed integer", "[[file]]\nsize = -1\n"},
	{"a plus sign", "[[file]]\nsize = +1\n"},
	{"underscores", "[[file]]\nsize = 1_000\n"},
	{"a leading zero", "[[file]]\nsize = 0123\n"},
	{"two zeros", "[[file]]\nsize = 00\n"},
	{"a hex integer", "[[file]]\nsize = 0x10\n"},
	{"a date", "[[file]]\nsize = 1979-05-27\n"},
	{"a time", "[[file]]\nsize = 07:32:00\n"},
	{"a number with a unit", "[[file]]\nsize = 10MiB\n"},
	{"19 digits", "[[file]]\nsize = 9223372036854775807\n"},
	{"an overflow", "[[file]]\nsize = 99999999999999999999\n"},
	{"an overflow in 19 digits", "[[file]]\nsize = 9999999999999999999\n"},
	{"an array of integers", "[[file]]\nmirrors = [1, 2]\n"},
	{"a nested array", "[[file]]\nmirrors = [[\"a\"]]\n"},
	{"an array with an escape", "[[file]]\nmirrors = [\"a\\tb\"]\n"},
	{"an array with only a comma", "[[file]]\nmirrors = [,]\n"},
	{"an array missing a comma", "[[file]]\nmirrors = [\"a\" \"b\"]\n"},
	{"an unterminated array", "[[file]]\nmirrors = [\"a\",\n"},
	{"an array ending the text", "[[file]]\nmirrors = [\"a\""},
	{"a lone CR in an array", "[[file]]\nmirrors = [\"a\",\r\"b\"]\n"},
	{"garbage after an array", "[[file]]\nmirrors = [\"a\"] x\n"},
	{"a bare value", "[[file]]\nurl = https://h/a\n"},
}

// TestFastFilesLeavesTheRestToTheDecoder checks that every text outside
// the fast path's subset goes to the decoder: it alone reads escapes,
// other value types and table forms, and it alone reports errors.
func TestFastFilesLeavesTheRestToTheDecoder(t *testing.T) {
	for _, c := range fallbacks {
		t.Run(c.name, func(t *testing.T) {
			if got, ok := fastFiles([]byte(c.text)); ok {
				whole, err := decodeWhole([]byte(c.text))
				t.Fatalf("fastFiles(%q) = %#v; want a fallback to the decoder, which gives %#v, %v", c.text, got, whole, err)
			}
		})
	}
}

// FuzzFastFilesMatchesDecoder checks the fast path against the decoder on
// the same batch text: a batch fastFiles reads, the decoder must accept
// with the very same values.
func FuzzFastFilesMatchesDecoder(f *testing.F) {
	for _, c := range fallbacks {
		f.Add([]byte(c.text))
	}
	for _, s := range []string{
		"[[file]]\nurl = \"a\" # \"b\"\n",
		"[[file]]\nurl = \"a\"\nurl = \"a\"\n",
		"[[file]]\nurl = \"a\"\n[[file]]\nurl = \"a\"\n",
		"[[file]]\r\nurl = \"a\"\r\nchecksum = \"sha256:00\"\r\n",
		"[[file]]\n\turl\t=\t\"\t\"\t#\t\n",
		"[[file]]\nurl = \"\u00e9\u2028\U0001F600\"\n# \u00e9\n",
		"[[file]]\nurl = \"\"\n\"\" = \"\"\n",
		"[[file]]\nurl = \"\\\"\"\n",
		"[[file]]\nurl = \"a\xff\"\n",
		"[[file]]\nurl = \"a\x00\"\n",
		"[[file]]\nsize = 0\nn = 123456789012345678\n",
		"[[file]]\nmirrors = [\n\"a\", # c\n\"b\",\n# d\n]\n",
		"[[file]]\nx = [\"\"\"a\"\"\"]\n",
		"[[file]]\nu-r_l = \"a\"\n",
	} {
		f.Add([]byte(s))
	}
	// The batches of the manifests in testdata, as Parse splits them.
	seeds, _ := filepath.Glob("testdata/*/*.toml")
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		_, batches := newLineIndex(data).split(2)
		for _, b := range batches {
			f.Add(b.text)
		}
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		got, ok := fastFiles(text)
		if !ok {
			return
		}
		whole, err := decodeWhole(text)
		if err != nil {
			t.Fatalf("fastFiles(%q) = %#v; the decoder rejects it: %v", text, got, err)
		}
		if !reflect.DeepEqual(got, whole) {
			t.Fatalf("fastFiles(%q) = %#v; the decoder gives %#v", text, got, whole)
		}
	})
}

// parseBoth loads data as Parse does, and as it did before the fast path
// and the parallel work (reference), with per [[file]] tables per
// batch, and fails the test when the two differ in anything: the
// manifest, or the errors with their order, positions and text.
func parseBoth(t *testing.T, data []byte, per int) (*Manifest, error) {
	t.Helper()
	m, err := Options{batch: per}.Parse("m.toml", data)
	mOld, errOld := Options{batch: per, reference: true}.Parse("m.toml", data)
	if !reflect.DeepEqual(err, errOld) {
		t.Fatalf("Parse(%s) errors:\n%v\nwithout the fast path:\n%v", short(data), err, errOld)
	}
	if reflect.DeepEqual(m, mOld) {
		return m, err
	}
	if len(m.Files) != len(mOld.Files) {
		t.Fatalf("Parse(%s) has %d files; without the fast path %d", short(data), len(m.Files), len(mOld.Files))
	}
	for i := range m.Files {
		if !reflect.DeepEqual(m.Files[i], mOld.Files[i]) {
			t.Fatalf("Parse(%s) file %d = %+v; without the fast path %+v", short(data), i, m.Files[i], mOld.Files[i])
		}
	}
	m.Files, mOld.Files = nil, nil
	t.Fatalf("Parse(%s) =\n%+v\nwithout the fast path:\n%+v", short(data), m, mOld)
	return nil, nil
}

// short quotes data for a failure message, at most its first 300 bytes.
func short(data []byte) string {
	if len(data) > 300 {
		return fmt.Sprintf("%q… (%d bytes)", data[:300], len(data))
	}
	return fmt.Sprintf("%q", data)
}

// FuzzParseMatchesReference checks Parse against loading without the
// fast path and the parallel work, batches of 1 to 8 tables: the same
// manifest, or the same errors in the same order.
func FuzzParseMatchesReference(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.toml")
	more, _ := filepath.Glob("testdata/*.toml")
	for _, name := range append(seeds, more...) {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data, uint8(1))
			f.Add(data, uint8(3))
		}
	}
	for _, c := range batchErrorCases {
		f.Add([]byte(c.text), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, per uint8) {
		parseBoth(t, data, 1+int(per%8))
	})
}

// entries returns n [[file]] entries of the usual shape, the i-th with
// bad[i] in place of its url line when there is one.
func entries(n int, bad map[int]string) string {
	var b strings.Builder
	b.WriteString("[settings]\nconnections = 4\n\n")
	for i := range n {
		u := fmt.Sprintf("url = \"https://h/f/%d\"", i)
		if s, ok := bad[i]; ok {
			u = s
		}
		fmt.Fprintf(&b, "[[file]]\n%s\nchecksum = \"sha256:%064x\"\n\n", u, i)
	}
	return b.String()
}

// batchErrorCases are manifests of 12 entries with problems in several
// batches of two: line 4 + 4i is the i-th entry's [[file]] header, line
// 5 + 4i its url.
var batchErrorCases = []struct {
	name, text string
	want       []string
}{
	{"a syntax error in a later batch wins over validation errors before it",
		entries(12, map[int]string{0: `url = "ftp://h/a"`, 7: `url = "a`}),
		[]string{"m.toml:33:9: strings cannot contain newlines"}},
	{"the first of two syntax errors in document order",
		entries(12, map[int]string{5: `url = "a\q"`, 9: `url = 'x`, 10: "url = ]"}),
		[]string{`m.toml:25:8: invalid escape in string '\q'`}},
	{"a syntax error in the first batch",
		entries(12, map[int]string{1: `url = "a" "b"`, 11: `url = "a`}),
		[]string{`m.toml:9:10: expected a top-level item to end with a newline, comment, or EOF, but got '"' instead`}},
	{"validation errors of every batch, in line order",
		entries(12, map[int]string{2: `url = "ftp://h/a"`, 3: `url = "https://h/f/\u00e9"`, 11: `url = 5`, 6: `url = "h\\tp://h"`}),
		[]string{
			`m.toml:13:7: url: "ftp://h/a": only http and https URLs are supported`,
			`m.toml:29:7: url: "h\\tp://h" is not a valid URL`,
			`m.toml:49:7: url must be a string in quotes, not an integer`,
		}},
	{"a duplicate key in one batch",
		entries(12, map[int]string{4: "url = \"https://h/x\"\nurl = \"https://h/y\""}),
		[]string{`m.toml:22:21: Key 'file.url' has already been defined.`}},
}

// TestParseReportsTheFirstErrorInDocumentOrder checks that decoding
// batches ahead, in parallel, changes no error: the first syntax error in
// the document wins, as when batches were decoded one after another.
func TestParseReportsTheFirstErrorInDocumentOrder(t *testing.T) {
	for _, c := range batchErrorCases {
		t.Run(c.name, func(t *testing.T) {
			for range 20 { // the goroutines finish in another order each time
				_, err := parseBoth(t, []byte(c.text), 2)
				var es Errors
				if !errors.As(err, &es) {
					t.Fatalf("Parse = %v; want %q", err, c.want)
				}
				var got []string
				for _, e := range es {
					got = append(got, e.Error())
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Fatalf("Parse errors = %q; want %q", got, c.want)
				}
			}
		})
	}
}

// TestParseInBatchesKeepsEveryEntry checks that a manifest of many batches
// loads every entry once, in order, with its own line.
func TestParseInBatchesKeepsEveryEntry(t *testing.T) {
	for _, per := range []int{1, 3, 1000} {
		m, err := parseBoth(t, []byte(entries(1001, nil)), per)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Files) != 1001 {
			t.Fatalf("batches of %d: %d files; want 1001", per, len(m.Files))
		}
		for i, f := range m.Files {
			if want := fmt.Sprintf("https://h/f/%d", i); f.URL != want || f.Line != 4+4*i {
				t.Fatalf("batches of %d: file %d = %s at line %d; want %s at line %d", per, i, f.URL, f.Line, want, 4+4*i)
			}
		}
	}
}

// TestBatchDecoderStopsWhenTold checks that the decoding goroutines end
// when the reader stops early or never starts, and that the reader gets
// every batch's own decoding.
func TestBatchDecoderStopsWhenTold(t *testing.T) {
	ix := newLineIndex([]byte(entries(200, nil)))
	_, batches := ix.split(1)
	for _, stop := range []int{0, 1, 57, len(batches)} {
		dec := decodeAhead(batches, false)
		for i := range stop {
			top, err := dec.get(i)
			if err != nil {
				t.Fatal(err)
			}
			tables, _ := top["file"].([]map[string]any)
			if want := fmt.Sprintf("https://h/f/%d", i); len(tables) != 1 || tables[0]["url"] != want {
				t.Fatalf("batch %d = %v; want the table of %s", i, top, want)
			}
		}
		dec.close() // returns: the test would time out otherwise
	}
}

// TestCrossChecksKeepTheirOrder checks that crossFiles and checkNames,
// run at once, report as when run one after the other: here both find a
// problem with the same entry, on every platform's rules.
func TestCrossChecksKeepTheirOrder(t *testing.T) {
	data := []byte(`
[[file]]
url = "https://h/1"
path = "a"
[[file]]
url = "https://h/2"
path = "A/B"
[[file]]
url = "https://h/3"
path = "a/b"
[[file]]
url = "https://h/4"
path = "x/con.txt"
[[file]]
url = "https://h/5"
path = "x/con.txt"
`)
	for _, plat := range []platform{{}, {foldCase: true}, {windowsNames: true, foldCase: true}} {
		m, err := Options{plat: &plat}.Parse("m.toml", data)
		mRef, errRef := Options{plat: &plat, reference: true}.Parse("m.toml", data)
		if err == nil {
			t.Fatalf("%+v: Parse accepted %s", plat, data)
		}
		if !reflect.DeepEqual(err, errRef) || !reflect.DeepEqual(m, mRef) {
			t.Fatalf("%+v: Parse errors:\n%v\none after the other:\n%v", plat, err, errRef)
		}
	}
}

// TestFileKeyIsFileKeys checks fileKey against the list it stands for.
func TestFileKeyIsFileKeys(t *testing.T) {
	for j, k := range fileKeys {
		if got := fileKey(k); got != j {
			t.Errorf("fileKey(%q) = %d; want %d", k, got, j)
		}
	}
	for _, k := range []string{"URL", "Path", "", "file", "url "} {
		if got := fileKey(k); got != -1 {
			t.Errorf("fileKey(%q) = %d; want -1", k, got)
		}
	}
}
