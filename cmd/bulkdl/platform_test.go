package main

import (
	"runtime"
	"strings"
	"testing"
)

// TestCheckReportsWindowsNames: a device name and two paths equal but for
// case are reported by check with the manifest's file and line: errors
// (exit 2) where the OS cannot hold them, warnings (exit 0) elsewhere.
func TestCheckReportsWindowsNames(t *testing.T) {
	m := writeManifest(t, t.TempDir(), `[settings]
dest = "out"
[[file]]
url = "https://example.com/a"
path = "logs/nul.txt"
[[file]]
url = "https://example.com/Data.bin"
[[file]]
url = "https://example.com/b"
path = "data.bin"
`)
	code, _, stderr := bulkdl("check", m)
	want := 0 // warnings: a manifest written here may run on Windows
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		want = 2 // case-insensitive filesystems (and Windows names)
	}
	if code != want {
		t.Errorf("check = %d; want %d\n%s", code, want, stderr)
	}
	for _, line := range []string{"m.toml:5:", "m.toml:10:"} {
		if !strings.Contains(stderr, line) {
			t.Errorf("check did not report %s…:\n%s", line, stderr)
		}
	}
}
