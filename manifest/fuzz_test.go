package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
