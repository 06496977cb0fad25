package segdl

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
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

// TestSyncDir: making a rename durable is not an error on any platform
// (on Windows, which cannot fsync a directory, it is skipped on purpose;
// only a real Windows runner would see "Access is denied" if it were not:
// Wine allows it).
func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	root := openRoot(t, dir)
	for _, d := range []string{".", "sub"} {
		if err := SyncDir(root, d); err != nil {
			t.Errorf("SyncDir(%q) = %v", d, err)
		}
	}
}

// TestUmask: umask is the mask the OS applies to new files, read without
// changing it (on Windows, no mask: Go reports 0666 for a writable file).
func TestUmask(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Mode().Perm(), 0o666&^umask(); got != want {
		t.Errorf("a file created 0666 has mode %o; umask() = %o predicts %o", got, umask(), want)
	}
}
