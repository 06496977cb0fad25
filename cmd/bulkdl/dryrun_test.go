package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDryRunReadsTheStateAndListsPrunes(t *testing.T) {
	srv, dir, _ := origin(t, 3, 1000, "")
	m := filepath.Join(dir, "m.toml")
	if code, _, stderr := bulkdl("run", "-q", m); code != 0 {
		t.Fatalf("run = %d: %s", code, stderr)
	}
	// f2 leaves the manifest; f0 is changed on disk behind bulkdl's back.
	text, _ := os.ReadFile(m)
	cut := strings.Index(string(text), "[[file]]\nurl = \""+srv.URLOf("/f2.bin"))
	os.WriteFile(m, text[:cut], 0o644)
	os.WriteFile(filepath.Join(dir, "out", "f0.bin"), []byte("changed"), 0o644)
	logBefore, _ := os.ReadFile(filepath.Join(dir, "out", ".bulkdl", "state.jsonl"))
	before := srv.Stats().Requests

	code, out, stderr := bulkdl("run", "-dry-run", "-prune", m)
	if code != 0 {
		t.Fatalf("dry run = %d: %s", code, stderr)
	}
	for _, want := range []string{
		"verify (hash it), fetch if different\tf0.bin",
		"skip (recorded complete and unchanged; no request)\tf1.bin",
		"prune\tf2.bin",
		"dry run: 2 file(s)",
		"1 to prune",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Errorf("dry run sent %d requests", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "f2.bin")); err != nil {
		t.Errorf("dry run deleted f2.bin: %v", err)
	}
	logAfter, _ := os.ReadFile(filepath.Join(dir, "out", ".bulkdl", "state.jsonl"))
	if !bytes.Equal(logBefore, logAfter) {
		t.Error("dry run wrote to the state log")
	}
	// An unlisted file changed since bulkdl wrote it is the user's now: a
	// run keeps it, so the dry run does not list it.
	os.WriteFile(filepath.Join(dir, "out", "f2.bin"), []byte("mine now"), 0o644)
	if _, out, _ := bulkdl("run", "-dry-run", "-prune", m); strings.Contains(out, "prune\tf2.bin") {
		t.Errorf("dry run lists a changed file that -prune keeps:\n%s", out)
	}
	// Without -prune, nothing is said of pruning.
	if _, out, _ := bulkdl("run", "-dry-run", m); strings.Contains(out, "prune") {
		t.Errorf("dry run without -prune lists prunes:\n%s", out)
	}
}
