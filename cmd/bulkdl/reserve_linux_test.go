package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fdTableSize returns FDSize from /proc/self/status.
func fdTableSize(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "FDSize:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Skip("no FDSize")
	return 0
}

// A large manifest has the descriptor table grown while it loads; a small
// one, stdin and a URL do not wait for anything.
func TestRunReservesDescriptorsForALargeManifest(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.toml")
	large := filepath.Join(dir, "large.toml")
	os.WriteFile(small, []byte("[[file]]\nurl = \"http://127.0.0.1:1/a\"\n"), 0o644)
	entries := strings.Repeat("[[file]]\nurl = \"http://127.0.0.1:1/a\"\n", 400)
	os.WriteFile(large, []byte(entries), 0o644)
	for _, paths := range [][]string{{"", small}, {"-", ""}, {"", "http://127.0.0.1:1/a"}} {
		select {
		case <-reserveDescriptors(paths...):
		default:
			t.Errorf("reserveDescriptors(%q) started growing the table", paths)
		}
	}
	if fdTableSize(t) >= reservedDescriptors {
		t.Skipf("the table holds %d descriptors already", fdTableSize(t))
	}
	<-reserveDescriptors("", large)
	if got := fdTableSize(t); got < reservedDescriptors {
		t.Errorf("FDSize %d after a %d-byte manifest, want %d", got, len(entries), reservedDescriptors)
	}
}
