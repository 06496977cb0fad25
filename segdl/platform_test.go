package segdl

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPreallocate: the file gets its final size at once, bytes not yet
// written read as zeros (never what the disk held before), and writes at
// scattered offsets land where they were written.
func TestPreallocate(t *testing.T) {
	const size = 64 << 20
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := preallocate(f, size); err != nil {
		t.Fatalf("preallocate: %v", err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != size {
		t.Fatalf("size after preallocate = %v, %v; want %d", st.Size(), err, size)
	}
	mark := []byte("bulkdl")
	for _, off := range []int64{size - int64(len(mark)), size / 2, 0} {
		if _, err := f.WriteAt(mark, off); err != nil {
			t.Fatalf("WriteAt(%d): %v", off, err)
		}
	}
	got := make([]byte, 1<<20)
	for _, off := range []int64{1 << 20, size/2 - 1<<20, size - 2<<20} {
		if _, err := f.ReadAt(got, off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(got, make([]byte, len(got))) {
			t.Errorf("unwritten bytes at %d are not zeros", off)
		}
	}
	for _, off := range []int64{0, size / 2, size - int64(len(mark))} {
		b := make([]byte, len(mark))
		if _, err := f.ReadAt(b, off); err != nil || !bytes.Equal(b, mark) {
			t.Errorf("ReadAt(%d) = %q, %v; want %q", off, b, err, mark)
		}
	}
	if st, _ := f.Stat(); st.Size() != size {
		t.Errorf("size after the writes = %d; want %d", st.Size(), size)
	}
}

// TestPublishOntoAFileAReaderHolds: Windows refuses to replace a file that
// another program holds open, for as long as it does; publishing waits for
// it to close the file (elsewhere the rename succeeds at once).
func TestPublishOntoAFileAReaderHolds(t *testing.T) {
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
	err = rename(root, "f.part", "f")
	<-closed
	if err != nil {
		t.Fatalf("rename onto a file held for 200 ms: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f")); string(b) != "new" {
		t.Errorf("the path holds %q; want the new file", b)
	}
}

// TestPublishOntoAFileHeldForGood: where the OS refuses to replace an open
// file, a holder that never lets go makes publishing fail within the bound,
// leaving the old file and the new bytes as they were.
func TestPublishOntoAFileHeldForGood(t *testing.T) {
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
	if err := rename(root, "f.part", "f"); err == nil {
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

// TestSyncDir: making a rename durable is not an error on any platform
// (on Windows, which cannot fsync a directory, it is skipped on purpose;
// only a real Windows runner would see "Access is denied" if it were not:
// Wine allows it).
func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, d := range []string{".", "sub"} {
		if err := SyncDir(root, d); err != nil {
			t.Errorf("SyncDir(%q) = %v", d, err)
		}
	}
}
