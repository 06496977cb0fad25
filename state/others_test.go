package state

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLogsAndReadPaths(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if logs, err := Logs(root); err != nil || len(logs) != 0 {
		t.Errorf("Logs of a new dest = %q, %v; want none", logs, err)
	}
	for _, name := range []string{"shard-1-of-4", "shard-3-of-8"} {
		s, err := Open(root, name)
		if err != nil {
			t.Fatal(err)
		}
		s.Put(Record{Path: "a", Size: 1})
		s.Put(Record{Path: "b", Size: 2})
		s.Close()
	}
	// Not logs: a compaction's leftover, a name of no shard.
	os.WriteFile(filepath.Join(dir, Dir, "state-shard-1-of-4.jsonl.tmp"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, Dir, "state-shard-9-of-4.jsonl"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, Dir, "state.jsonl"), []byte(`{"p":"a","s":3}`+"\n"+`{"p":"b","s":`), 0o644)

	logs, err := Logs(root)
	if want := []string{"", "shard-1-of-4", "shard-3-of-8"}; err != nil || !slices.Equal(logs, want) {
		t.Errorf("Logs = %q, %v; want %q", logs, err, want)
	}
	for _, name := range logs {
		s, err := ReadPaths(root, name, func(p string) bool { return p == "a" })
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Paths(); !slices.Equal(got, []string{"a"}) {
			t.Errorf("ReadPaths(%q, only a) = %q", name, got)
		}
	}
	// Reading wrote nothing: the torn line of the plain log is still torn.
	if b, _ := os.ReadFile(filepath.Join(dir, Dir, "state.jsonl")); b[len(b)-1] == '\n' {
		t.Error("ReadPaths wrote to the log it read")
	}
	cases := []struct {
		name string
		k, n int
		ok   bool
	}{{"", 0, 0, true}, {"shard-3-of-8", 3, 8, true}, {"shard-8-of-8", 0, 0, false}, {"shard-x", 0, 0, false}}
	for _, c := range cases {
		if k, n, ok := ShardOf(c.name); ok != c.ok || ok && (k != c.k || n != c.n) {
			t.Errorf("ShardOf(%q) = %d, %d, %v; want %d, %d, %v", c.name, k, n, ok, c.k, c.n, c.ok)
		}
	}
}
