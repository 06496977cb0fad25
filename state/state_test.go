package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func open(t *testing.T, dir string) (*Store, *os.Root) {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	s, err := Open(root, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func TestRecordsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	s.Put(Record{Path: "a", Size: 1, ModTime: 2, Checksum: "sha256:00"})
	s.Put(Record{Path: "b", Size: 3})
	s.Put(Record{Path: "a", Size: 5, ModTime: 6})
	s.Forget("b")
	s.Close()

	s, _ = open(t, dir)
	defer s.Close()
	if r, ok := s.Get("a"); !ok || r.Size != 5 || r.ModTime != 6 || r.Checksum != "" {
		t.Errorf("Get(a) = %+v, %v; want the latest record", r, ok)
	}
	if _, ok := s.Get("b"); ok {
		t.Errorf("Get(b) found a forgotten record")
	}
}

func TestTornLastLineIsIgnored(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	s.Put(Record{Path: "a", Size: 1})
	s.Close()
	f, _ := os.OpenFile(filepath.Join(dir, Dir, "state.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"p":"b","s":`) // a write cut short by a crash
	f.Close()

	s, _ = open(t, dir)
	if _, ok := s.Get("b"); ok {
		t.Error("a torn record was loaded")
	}
	s.Put(Record{Path: "c", Size: 3})
	s.Close()
	s, _ = open(t, dir)
	defer s.Close()
	if _, ok := s.Get("c"); !ok {
		t.Error("the record after a torn line was lost")
	}
	if _, ok := s.Get("a"); !ok {
		t.Error("the record before a torn line was lost")
	}
}

// TestOverlongLineIsSkippedAndCompactedAway: garbage that is one line of
// megabytes (no record comes near maxLine) is skipped without losing the
// records around it, and compacted away so that no later run reads it;
// also when it is the torn last line.
func TestOverlongLineIsSkippedAndCompactedAway(t *testing.T) {
	for _, last := range []bool{false, true} {
		dir := t.TempDir()
		s, _ := open(t, dir)
		s.Put(Record{Path: "a", Size: 1})
		s.Close()
		log := filepath.Join(dir, Dir, "state.jsonl")
		f, _ := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
		f.WriteString(`{"p":"x","e":"` + strings.Repeat("g", 3*maxLine))
		if !last {
			f.WriteString("\n" + `{"p":"b","s":2}` + "\n")
		}
		f.Close()

		s, _ = open(t, dir)
		if _, ok := s.Get("a"); !ok {
			t.Errorf("last %v: the record before the long line was lost", last)
		}
		if _, ok := s.Get("b"); !ok && !last {
			t.Errorf("the record after the long line was lost")
		}
		if _, ok := s.Get("x"); ok {
			t.Errorf("last %v: the long line was loaded", last)
		}
		s.Put(Record{Path: "c", Size: 3})
		s.Close()
		if st, err := os.Stat(log); err != nil || st.Size() > 4096 {
			t.Errorf("last %v: the log is %d bytes after Open (%v); want the long line compacted away", last, st.Size(), err)
		}
		s, _ = open(t, dir)
		if _, ok := s.Get("c"); !ok {
			t.Errorf("last %v: the record written after it was lost", last)
		}
		s.Close()
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	for i := range 3000 {
		s.Put(Record{Path: "same", Size: int64(i)})
	}
	s.Close()
	s, _ = open(t, dir)
	defer s.Close()
	data, _ := os.ReadFile(filepath.Join(dir, Dir, "state.jsonl"))
	if n := strings.Count(string(data), "\n"); n != 1 {
		t.Errorf("log has %d lines after compaction; want 1", n)
	}
	if r, _ := s.Get("same"); r.Size != 2999 {
		t.Errorf("compaction kept size %d; want the latest, 2999", r.Size)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	s, root := open(t, dir)
	if _, err := Open(root, ""); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open = %v; want ErrLocked", err)
	}
	s.Close()
	s2, err := Open(root, "")
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	s2.Close()
}

func TestNamedStoresAreSeparate(t *testing.T) {
	dir := t.TempDir()
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	a, err := Open(root, "shard-0-of-2")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(root, "shard-1-of-2")
	if err != nil {
		t.Fatalf("a second shard could not open its own state: %v", err)
	}
	defer b.Close()
	a.Put(Record{Path: "x"})
	if _, ok := b.Get("x"); ok {
		t.Error("shards share records")
	}
}

func TestPutAllWritesOneLinePerRecord(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	s.PutAll([]Record{{Path: "a", Size: 1}, {Path: "b", Size: 2, ETag: `"x"`}, {Path: "a", Size: 3}})
	s.Close()
	s, _ = open(t, dir)
	defer s.Close()
	if r, ok := s.Get("a"); !ok || r.Size != 3 {
		t.Errorf("Get(a) = %+v, %v; want the later record of the batch", r, ok)
	}
	if r, ok := s.Get("b"); !ok || r.ETag != `"x"` {
		t.Errorf("Get(b) = %+v, %v; want it recorded", r, ok)
	}
}

// TestRetain: after Retain, records of the paths it rejects are still
// written to the log (a later run finds them), but not kept in memory.
func TestRetain(t *testing.T) {
	dir := t.TempDir()
	s, root := open(t, dir)
	if err := s.PutAll([]Record{{Path: "old-kept", Size: 1}, {Path: "old-dropped", Size: 2}}); err != nil {
		t.Fatal(err)
	}
	s.Retain(func(p string) bool { return strings.HasSuffix(p, "kept") })
	if err := s.PutAll([]Record{{Path: "new-kept", Size: 3}, {Path: "new-dropped", Size: 4}}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(s.Paths(), " "), "new-kept old-kept"; got != want {
		t.Errorf("in memory after Retain: %s; want %s", got, want)
	}
	if _, ok := s.Get("new-dropped"); ok {
		t.Error("a record Retain rejects is kept in memory")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(root, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := strings.Join(s.Paths(), " "), "new-dropped new-kept old-dropped old-kept"; got != want {
		t.Errorf("in the log: %s; want %s", got, want)
	}
}

// TestCompactRefusedAfterRetain: after Retain the records in memory are
// not the whole log; a compaction from them would erase the others.
func TestCompactRefusedAfterRetain(t *testing.T) {
	s, _ := open(t, t.TempDir())
	defer s.Close()
	if err := s.PutAll([]Record{{Path: "a", Size: 1}}); err != nil {
		t.Fatal(err)
	}
	s.Retain(func(string) bool { return false })
	if err := s.compact(); err == nil {
		t.Error("compact after Retain rewrote the log from a partial memory")
	}
}
