package manifest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzParse checks that no input makes Parse panic and that every failure
// is reported as positioned manifest errors naming the file.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.toml")
	more, _ := filepath.Glob("testdata/*.toml")
	for _, name := range append(seeds, more...) {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("file = [{url = \"http://h/a\"}, {url = \"http://h/a\"}]"))
	f.Add([]byte("a = " + strings.Repeat("[", 40) + `"]]]\"" '''[[[''' # [[\n`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("m.toml", data)
		if err == nil {
			if len(m.Files) == 0 {
				t.Fatal("valid manifest with no files")
			}
			for _, f := range m.Files {
				if f.Path == "" || f.URL == "" {
					t.Fatalf("valid manifest with file %+v", f)
				}
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("Parse error %T %v; want manifest.Errors", err, err)
		}
		for _, e := range es {
			if e.File != "m.toml" || e.Msg == "" {
				t.Fatalf("error %+v lacks file or message", e)
			}
		}
	})
}

// FuzzSplitMatchesWhole checks the batched path against the decoder
// reading the manifest whole: a manifest Parse accepts must decode whole,
// with the same files (urls, in order, and their headers), the same
// connections, hosts and settings headers. A table header the line index
// misses or invents shows up here as a difference.
func FuzzSplitMatchesWhole(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.toml")
	for _, name := range seeds {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
			f.Add(bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))
		}
	}
	f.Add([]byte("[[file]]\nurl = \"http://h/a\" # '''\n[settings]\nconnections = 3\n[[file]]\nurl = \"http://h/b\"\n"))
	f.Add([]byte("[[file]]\nurl = \"http://h/a\"\nmirrors = [\n\"http://h/c\", # \"\"\"\n]\n[hosts.h]\nconnections = 1\n[[file]]\nurl = \"http://h/b\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("m.toml", data)
		if err != nil {
			return
		}
		var whole map[string]any
		if _, err := toml.Decode(string(data), &whole); err != nil {
			t.Fatalf("Parse accepted a manifest the decoder rejects whole: %v", err)
		}
		files, _ := fold(whole, "file").([]map[string]any)
		if anys, ok := fold(whole, "file").([]any); ok {
			for _, x := range anys {
				tb, _ := x.(map[string]any)
				files = append(files, tb)
			}
		}
		if len(files) != len(m.Files) {
			t.Fatalf("Parse read %d files; the whole decode has %d", len(m.Files), len(files))
		}
		for i, wf := range files {
			hs, _ := fold(wf, "headers").(map[string]any)
			if fold(wf, "url") != m.Files[i].URL || len(hs) != len(m.Files[i].Headers) {
				t.Fatalf("file %d = %q with %d headers; the whole decode has %v with %d", i, m.Files[i].URL, len(m.Files[i].Headers), fold(wf, "url"), len(hs))
			}
		}
		settings, _ := fold(whole, "settings").(map[string]any)
		if c, ok := fold(settings, "connections").(int64); ok && int64(m.Settings.Connections) != c {
			t.Fatalf("connections = %d; the whole decode has %d", m.Settings.Connections, c)
		}
		hs, _ := fold(settings, "headers").(map[string]any)
		if len(hs) != len(m.Settings.Headers) {
			t.Fatalf("settings has %d headers; the whole decode has %d", len(m.Settings.Headers), len(hs))
		}
		hosts, _ := fold(whole, "hosts").(map[string]any)
		if len(hosts) != len(m.Hosts) {
			t.Fatalf("Parse read %d hosts; the whole decode has %d", len(m.Hosts), len(hosts))
		}
	})
}

// fold returns the value of key in t, matched without regard to case as
// the decoder matches the manifest's struct fields.
func fold(t map[string]any, key string) any {
	if v, ok := t[key]; ok {
		return v
	}
	for k, v := range t {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}
