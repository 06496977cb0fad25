package robustio

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRenameOntoAFileAReaderHolds: Windows refuses to replace a file that
// another program holds open, for as long as it does; Rename waits for it
// to close the file (elsewhere the rename succeeds at once).
func TestRenameOntoAFileAReaderHolds(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	os.WriteFile(filepath.Join(dir, "f"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(dir, "f.part"), []byte("new"), 0o644)
	reader, err := os.Open(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		time.Sleep(200 * time.Millisecond) // a virus scanner's look at the file
		reader.Close()
	}()
	err = Rename(root, "f.part", "f")
	<-closed
	if err != nil {
		t.Fatalf("rename onto a file held for 200 ms: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "new" {
		t.Errorf("the path holds %q; want the new file", b)
	}
}

// TestRenameOntoAFileHeldForGood: where the OS refuses to replace an open
// file, a holder that never lets go makes Rename fail within the bound,
// leaving the old file and the new bytes as they were.
func TestRenameOntoAFileHeldForGood(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	os.WriteFile(filepath.Join(dir, "f"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(dir, "probe"), []byte("probe"), 0o644)
	reader, err := os.Open(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if root.Rename("probe", "f") == nil {
		t.Skip("this OS replaces a file that is open (POSIX rename)")
	}
	os.WriteFile(filepath.Join(dir, "f.part"), []byte("new"), 0o644)
	start := time.Now()
	if err := Rename(root, "f.part", "f"); err == nil {
		t.Fatal("rename onto a file held open succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("rename gave up after %v; want about 2 s", d)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "old" {
		t.Errorf("the path holds %q; want the old file untouched", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f.part")); string(b) != "new" {
		t.Errorf("the new file holds %q; want it kept", b)
	}
}
