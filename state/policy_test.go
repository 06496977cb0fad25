package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLockPolicy(t *testing.T) {
	cases := []struct {
		name          string
		first, second string
		together      bool
	}{
		{"two plain runs exclude each other", "", "", false},
		{"a plain run excludes a shard", "", "shard-0-of-2", false},
		{"a shard excludes a plain run", "shard-1-of-2", "", false},
		{"shards of one split run side by side", "shard-0-of-2", "shard-1-of-2", true},
		{"one shard twice is excluded", "shard-0-of-2", "shard-0-of-2", false},
		{"shards of different splits exclude each other", "shard-0-of-2", "shard-1-of-4", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, _ := os.OpenRoot(t.TempDir())
			defer root.Close()
			a, err := Open(root, c.first)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Open(root, c.second)
			if c.together {
				if err != nil {
					t.Fatalf("Open(%q) beside %q = %v; want both to run", c.second, c.first, err)
				}
				b.Close()
			} else if !errors.Is(err, ErrLocked) {
				if err == nil {
					b.Close()
				}
				t.Fatalf("Open(%q) beside %q = %v; want ErrLocked", c.second, c.first, err)
			}
			a.Close()
			// Once the first has gone, the second may run.
			b, err = Open(root, c.second)
			if err != nil {
				t.Fatalf("Open(%q) after %q closed = %v", c.second, c.first, err)
			}
			b.Close()
		})
	}
}

func TestShardsOfOneSplitStartTogether(t *testing.T) {
	root, _ := os.OpenRoot(t.TempDir())
	defer root.Close()
	errs := make(chan error, 8)
	stores := make(chan *Store, 8)
	for k := range 8 {
		go func() {
			s, err := Open(root, "shard-"+string(rune('0'+k))+"-of-8")
			errs <- err
			stores <- s
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("a shard of the split could not start beside the others: %v", err)
		}
		if s := <-stores; s != nil {
			defer s.Close()
		}
	}
}

func TestFIFOIsRefusedNotWaitedOn(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, Dir), 0o755)
	if err := mkfifo(filepath.Join(dir, Dir, "state.jsonl"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	done := make(chan error, 1)
	go func() {
		s, err := Open(root, "")
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Open succeeded with a FIFO as the log")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Open blocked on a FIFO")
	}
}

// What an earlier split left in lock-split, a longer N or a file cut short
// by a kill, never refuses the next split once no shard holds the lock.
func TestLockSplitRewritesWhatItFinds(t *testing.T) {
	for _, old := range []string{"", "16", "1234567890123456789012345678901234567890\n"} {
		root, _ := os.OpenRoot(t.TempDir())
		if err := root.MkdirAll(Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := root.WriteFile(Dir+"/lock-split", []byte(old), 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := Open(root, "shard-0-of-4")
		if err != nil {
			t.Fatalf("lock-split holding %q: Open(shard-0-of-4) = %v", old, err)
		}
		b, err := Open(root, "shard-3-of-4")
		if err != nil {
			t.Fatalf("lock-split holding %q: second shard of the split = %v; want it to run", old, err)
		}
		b.Close()
		a.Close()
		root.Close()
	}
}
