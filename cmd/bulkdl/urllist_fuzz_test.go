package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
)

// FuzzURLList checks that no list makes the reader or the manifest made
// from it panic, that a list read without error always makes a manifest
// that loads or reports manifest errors, and that errors name the list.
func FuzzURLList(f *testing.F) {
	for _, s := range []string{
		"http://h.example/a\n# c\n\nhttps://h.example/b/c.tar.gz\n",
		"\ufeffhttp://h.example/a\r\nhttp://h.example/a\n",
		"ftp://x\nhttp://h.example/ a\n",
		"http://h.example/\"quote\"\\\n",
		"http://h.example/%2e%2e/x\nhttp://[::1]:8080/f\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		m, err := parseURLList("urls.txt", strings.NewReader(list), manifest.Options{})
		if err != nil {
			var es manifest.Errors
			if errors.As(err, &es) {
				for _, e := range es {
					if e.File != "urls.txt" || e.Msg == "" {
						t.Fatalf("error %+v does not name the list", e)
					}
				}
			}
			return
		}
		if len(m.Files) == 0 || m.Dest != "." {
			t.Fatalf("manifest from %q: %d files, dest %q", list, len(m.Files), m.Dest)
		}
	})
}
