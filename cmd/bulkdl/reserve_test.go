package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A large manifest has the descriptor table grown while it loads; a small
// one, stdin and a URL start nothing and wait for nothing.
func TestRunReservesDescriptorsForALargeManifest(t *testing.T) {
	var asked []int
	defer func(f func(int)) { reserve = f }(reserve)
	reserve = func(n int) { asked = append(asked, n) }
	dir := t.TempDir()
	small := filepath.Join(dir, "small.toml")
	large := filepath.Join(dir, "large.toml")
	entry := "[[file]]\nurl = \"http://127.0.0.1:1/a\"\n"
	os.WriteFile(small, []byte(entry), 0o644)
	os.WriteFile(large, []byte(strings.Repeat(entry, 400)), 0o644)
	for _, path := range []string{small, "-", "", "http://127.0.0.1:1/a", dir} {
		select {
		case <-reserveDescriptors(path):
		default:
			t.Errorf("reserveDescriptors(%q) started growing the table", path)
		}
	}
	if len(asked) != 0 {
		t.Errorf("reserved %v for small inputs; want nothing", asked)
	}
	<-reserveDescriptors(large)
	if len(asked) != 1 || asked[0] != reservedDescriptors {
		t.Errorf("a %d-byte manifest reserved %v; want [%d]", 400*len(entry), asked, reservedDescriptors)
	}
}
