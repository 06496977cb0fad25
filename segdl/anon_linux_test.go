package segdl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestLinkWithoutPrivilege: without CAP_DAC_READ_SEARCH (most users), a
// file without a name is named through /proc/self/fd; both ways give the
// name the file's bytes, and a taken name is reported as fs.ErrExist.
func TestLinkWithoutPrivilege(t *testing.T) {
	for _, c := range []struct {
		name string
		mode int32
	}{{"AT_EMPTY_PATH, or /proc when refused", 0}, {"/proc/self/fd", 2}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			if !anonSupported(t, root) {
				t.Skip("no files without a name here")
			}
			old := linkMode.Load()
			linkMode.Store(c.mode)
			defer linkMode.Store(old)
			os.WriteFile(filepath.Join(dir, "taken"), []byte("old"), 0o644)
			h, err := root.Open(".")
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			f, err := openAnon(h, "new", 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			f.WriteString("new")
			if err := linkAnon(h, f, "taken"); !errorsIsExist(err) {
				t.Errorf("linking onto a taken name: %v; want fs.ErrExist", err)
			}
			if err := linkAnon(h, f, "out"); err != nil {
				t.Fatalf("link: %v", err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != "new" {
				t.Errorf("the name holds %q; want %q", b, "new")
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "taken")); string(b) != "old" {
				t.Errorf("the taken name holds %q; want it untouched", b)
			}
		})
	}
}

func errorsIsExist(err error) bool { return errors.Is(err, fs.ErrExist) }
