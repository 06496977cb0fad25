package manifest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadManifests loads every file in testdata/bad and checks that the
// errors reported are exactly those its "# want: LINE:COL: message-prefix"
// comments list, in order.
func TestBadManifests(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test manifests: %v", err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					want = append(want, name+":"+w)
				}
			}
			_, err = Parse(name, data)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse(%s) error = %v; want manifest.Errors", name, err)
			}
			var got []string
			for _, e := range es {
				got = append(got, strings.Replace(e.Error(), name+": ", name+":0:0: ", 1))
				if e.File != name {
					t.Errorf("error %q names file %q; want %q", e, e.File, name)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("Parse(%s) errors:\n%s\nwant:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for i := range want {
				if !strings.HasPrefix(got[i], want[i]) {
					t.Errorf("error %d = %q; want prefix %q", i, got[i], want[i])
				}
			}
		})
	}
}

func TestValidManifest(t *testing.T) {
	t.Setenv("BULKDL_TEST_TOKEN", "s3cret")
	m, err := Load("testdata/full.toml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	s := m.Settings
	if s.Connections != 8 || s.PerHost != 4 || s.PerFile != 8 || s.MinSegment != 1<<20 ||
		s.Rate != 50e6 || s.Retries != 3 || s.Timeout != 10*time.Second || s.UserAgent != "mirror/1" || !s.SkipExisting {
		t.Errorf("settings = %+v", s)
	}
	if got, want := m.Dest, filepath.Join("testdata", "downloads"); got != want {
		t.Errorf("Dest = %q; want %q", got, want)
	}
	h := m.HostConfig("example.com:443")
	if h == nil || h.Connections != 2 || h.Rate != 5<<20 || h.Headers["Authorization"] != "Bearer s3cret" {
		t.Errorf("HostConfig(example.com:443) = %+v", h)
	}
	if got := m.HostConfig("other.org"); got != nil {
		t.Errorf("HostConfig(other.org) = %+v; want nil", got)
	}
	if len(m.Files) != 3 {
		t.Fatalf("len(Files) = %d; want 3", len(m.Files))
	}
	cases := []struct {
		i    int
		path string
		size int64
		algo string
		line int
	}{
		{0, "data/a.tar.gz", 1234567, "sha256", 20},
		{1, "b c.bin", -1, "", 28},
		{2, "sub/c.bin", 3 << 20, "md5", 31},
	}
	for _, c := range cases {
		f := m.Files[c.i]
		if f.Path != c.path || f.Size != c.size || f.Checksum.Algo != c.algo || f.Line != c.line {
			t.Errorf("Files[%d] = {Path %q Size %d Algo %q Line %d}; want {%q %d %q %d}",
				c.i, f.Path, f.Size, f.Checksum.Algo, f.Line, c.path, c.size, c.algo, c.line)
		}
	}
	if got := m.Secrets(); len(got) != 1 || got[0] != "s3cret" {
		t.Errorf("Secrets() = %q; want [s3cret]", got)
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0].Msg, "per_file = 12 is above connections = 8") {
		t.Errorf("Warnings = %v; want the per_file clamp", m.Warnings)
	}
}

func TestDefaults(t *testing.T) {
	m, err := Parse("m.toml", []byte("[[file]]\nurl = \"http://h/x\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := m.Settings
	if s.Connections != DefaultConnections || s.PerHost != DefaultPerHost || s.PerFile != DefaultPerFile ||
		s.MinSegment != DefaultMinSegment || s.Retries != DefaultRetries || s.Timeout != DefaultTimeout || s.Rate != 0 {
		t.Errorf("defaults = %+v", s)
	}
	if m.Files[0].Path != "x" || m.Files[0].Size != -1 || m.Dest != "." {
		t.Errorf("file = %+v, dest %q", m.Files[0], m.Dest)
	}
}

func TestClampIsSilentForDefaults(t *testing.T) {
	m, err := Parse("m.toml", []byte("[settings]\nconnections = 2\n[[file]]\nurl = \"http://h/x\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Settings.PerHost != 2 || m.Settings.PerFile != 2 || len(m.Warnings) != 0 {
		t.Errorf("PerHost %d PerFile %d warnings %v; want 2 2 none", m.Settings.PerHost, m.Settings.PerFile, m.Warnings)
	}
}

func TestEmptySecretIsAnError(t *testing.T) {
	t.Setenv("BULKDL_TEST_EMPTY", "")
	_, err := Parse("m.toml", []byte("[settings]\nheaders = { X-Key = \"${BULKDL_TEST_EMPTY}\" }\n[[file]]\nurl = \"http://h/x\"\n"))
	if err == nil || !strings.Contains(err.Error(), "m.toml:2:11: header \"X-Key\": environment variable BULKDL_TEST_EMPTY is empty") {
		t.Errorf("err = %v", err)
	}
}

func TestErrorsNeverShowSecrets(t *testing.T) {
	t.Setenv("BULKDL_TEST_TOKEN", "hunter2")
	_, err := Parse("m.toml", []byte("[settings]\nheaders = { Authorization = \"${BULKDL_TEST_TOKEN}\\n\" }\n[[file]]\nurl = \"http://h/x\"\n"))
	if err == nil {
		t.Fatal("header with a newline accepted")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the secret: %v", err)
	}
}

// TestBatchBoundaries checks that decoding [[file]] tables in batches gives
// the same result as one document would: sub-tables stay with their entry,
// tables after the files are still read, and positions stay right.
func TestBatchBoundaries(t *testing.T) {
	var b strings.Builder
	n := batchSize*2 + 3
	for i := range n {
		fmt.Fprintf(&b, "[[file]]\nurl = \"http://h/f%d\"\n[file.headers]\nX-N = \"%d\"\n", i, i)
	}
	b.WriteString("[settings]\nconnections = 3\n")
	m, err := Parse("m.toml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != n || m.Settings.Connections != 3 {
		t.Fatalf("got %d files, connections %d; want %d, 3", len(m.Files), m.Settings.Connections, n)
	}
	for i, f := range m.Files {
		if f.Headers["X-N"] != fmt.Sprint(i) || f.Line != 4*i+1 || f.Path != fmt.Sprintf("f%d", i) {
			t.Fatalf("Files[%d] = %+v", i, f)
		}
	}
	bad := strings.Replace(b.String(), "url = \"http://h/f2001\"", "url = \"http://h/f2001\"\nurll = 1", 1)
	_, err = Parse("m.toml", []byte(bad))
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("m.toml:%d:1: unknown key \"urll\"", 4*2001+3)) {
		t.Errorf("err = %v", err)
	}
}

func TestBoundsOnHostileInput(t *testing.T) {
	deep := "[[file]]\nurl = \"https://example.com/a\"\nmirrors = " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n"
	cases := []struct {
		name, data, want string
	}{
		{"deep nesting is refused where it starts", deep, "m.toml:3:27: arrays and inline tables nest deeper than 16 levels"},
		{"deep dotted keys are refused", "a" + strings.Repeat(".a", 16000) + " = 1\n", "m.toml:1:32: dotted keys nest deeper than 16 levels"},
		{"deep table headers are refused", "[" + strings.Repeat("a.", 16000) + "a]\n", "m.toml:1:33: dotted keys nest deeper than 16 levels"},
		{"deep dotted keys in an inline table are refused", "x = {" + strings.Repeat("a.", 20) + "a = 1}\n", "m.toml:1:37: dotted keys nest deeper than 16 levels"},
		{"dots in values and URLs do not count", "[[file]]\nurl = \"https://a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s/x\"\nsize = 1.2\n[hosts.\"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r\"]\n", ""},
		{"brackets in multi-line strings do not count, nor a lone quote in them", "[[file]]\nurl = \"https://example.com/a\"\npath = \"\"\"x\" " + strings.Repeat("[", 20) + "\n" + strings.Repeat("{", 20) + "\"\"\"\nsize = '''a' " + strings.Repeat("[", 20) + "'''\n", ""},
		{"an escaped quote does not end a string", "[[file]]\nurl = \"https://example.com/a\"\npath = \"x\\\" " + strings.Repeat("[", 20) + "\"\n", ""},
		{"an unterminated string ends at its line for counting", "x = \"a\ny = " + strings.Repeat("[", 20) + "\"\n", "m.toml:2:21: arrays and inline tables nest deeper than 16 levels"},
		{"the column counts the bytes of strings before it", "a = [\"s\", " + strings.Repeat("[", 20) + "\n", "m.toml:1:26: arrays and inline tables nest deeper than 16 levels"},
		{"brackets inside strings do not count", "[[file]]\nurl = \"https://example.com/a\"\npath = \"" + strings.Repeat("[", 100) + "\" # [[[[[[[[[[[[[[[[[[[[[[[\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("m.toml", []byte(c.data))
			if c.want == "" {
				if err != nil && strings.Contains(err.Error(), "nest deeper") {
					t.Fatalf("Parse = %v; want no nesting error", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Parse = %v; want %q", err, c.want)
			}
		})
	}
	t.Run("a NUL byte is reported at its line", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "m.toml")
		if err := os.WriteFile(name, []byte("[[file]]\nurl = \"https://example.com/a\"\n# \x00\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(name); err == nil || !strings.Contains(err.Error(), "m.toml:3: contains a NUL byte") {
			t.Fatalf("Load = %v; want a NUL byte error at line 3", err)
		}
	})
	t.Run("an endless file of NUL bytes fails at once", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		_, err := Load("/dev/zero")
		if err == nil || !strings.Contains(err.Error(), "/dev/zero:1: contains a NUL byte") {
			t.Fatalf("Load(/dev/zero) = %v; want a NUL byte error", err)
		}
	})
}

// TestFileKeysInAnotherCase: a [[file]] key written in another case stands
// for the key, as in [settings], so manifests that loaded before still do.
func TestFileKeysInAnotherCase(t *testing.T) {
	m, err := Parse("m.toml", []byte("[settings]\nConnections = 3\n[[file]]\nURL = \"http://h/x\"\nSize = 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f := m.Files[0]; f.URL != "http://h/x" || f.Path != "x" || f.Size != 5 || m.Settings.Connections != 3 {
		t.Errorf("file %+v, connections %d; want URL and Size read, connections 3", f, m.Settings.Connections)
	}
}

// TestProblemsComeInOneOrder: warnings and errors that come from maps
// (hosts, header names) are listed in the same order on every load.
func TestProblemsComeInOneOrder(t *testing.T) {
	text := "[hosts.\"c.example\"]\n[hosts.\"a.example\"]\n[hosts.\"b.example\"]\n" +
		"[[file]]\nurl = \"https://h/x\"\nheaders = { \"b b\" = \"1\", Host = \"h\", \"a a\" = \"2\", Range = \"0-\" }\n"
	var first string
	for i := range 20 {
		m, err := Options{}.Parse("m.toml", []byte(strings.Replace(text, "[[file]]\nurl = \"https://h/x\"\nheaders", "[[file]]\nurl = \"https://h/y\"\n#", 1)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse("m.toml", []byte(text))
		got := fmt.Sprint(m.Warnings, err)
		if i == 0 {
			first = got
			if !strings.Contains(got, "a.example") || strings.Index(got, "a.example") > strings.Index(got, "b.example") {
				t.Fatalf("warnings %v; want a.example's first", m.Warnings)
			}
		} else if got != first {
			t.Fatalf("load %d listed\n%s\nload 0 listed\n%s", i, got, first)
		}
	}
}

// TestHeaderValuesAreWhatNetHTTPSends: a header value that net/http would
// refuse to send is an error at load time (a check, not six retries of
// every file), at its line, naming the header but not the value. Every
// byte is tried, through the environment, against a real request.
func TestHeaderValuesAreWhatNetHTTPSends(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	for b := 1; b < 256; b++ {
		val := "a" + string([]byte{byte(b)}) + "b"
		t.Setenv("BULKDL_T_HEADER", val)
		_, err := Parse("m.toml", []byte("[[file]]\nurl = \"http://h/x\"\nheaders = { X-Team = \"${BULKDL_T_HEADER}\" }\n"))
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("X-Team", val)
		resp, sendErr := http.DefaultClient.Do(req)
		if sendErr == nil {
			resp.Body.Close()
		}
		if (err == nil) != (sendErr == nil) {
			t.Errorf("byte %#x: Parse err = %v; net/http err = %v", b, err, sendErr)
			continue
		}
		if err != nil && (!strings.HasPrefix(err.Error(), `m.toml:3:11: header "X-Team": value (as expanded from the environment) contains `) || strings.Contains(err.Error(), val)) {
			t.Errorf("byte %#x: %v; want it at line 3, naming the header, not the value", b, err)
		}
	}
	if _, err := Parse("m.toml", []byte("[[file]]\nurl = \"http://h/x\"\nheaders = { X-Team = \"a\\u007fb\" }\n")); err == nil || !strings.Contains(err.Error(), `header "X-Team": value contains control character U+007F`) {
		t.Errorf("a literal DEL: Parse = %v", err)
	}
	if _, err := Parse("m.toml", []byte("[settings]\nuser_agent = \"a\\u0001b\"\n[[file]]\nurl = \"http://h/x\"\n")); err == nil || !strings.Contains(err.Error(), `m.toml:2:14: user_agent contains control character U+0001`) {
		t.Errorf("user_agent with a control character: Parse = %v", err)
	}
}
