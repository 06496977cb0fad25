package segdl

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// TestNothingAtAnyNameUntilPublished: where files without a name exist
// (Linux), a download has no name in dest until it is published; what a
// kill leaves at any moment before, here while verified files wait for
// their batch, is nothing at all (the kernel frees them). A download that
// fails leaves nothing either.
func TestNothingAtAnyNameUntilPublished(t *testing.T) {
	dir := t.TempDir()
	root := openRoot(t, dir)
	if !anonSupported(t, root) {
		t.Skip("no files without a name here")
	}
	srv := segdltest.NewServer()
	defer srv.Close()
	p := NewPublisher(root, PublisherConfig{Wait: time.Hour, Max: 100})
	cfg := testConfig()
	cfg.Publisher = p
	paths := []string{"1.bin", "sub/2.bin", "bad.bin"}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	downs := make([]*Download, len(paths))
	for i, name := range paths {
		data := segdltest.Content(uint64(i), 4<<10)
		srv.PutBytes("/"+name, data)
		spec := withSum(Spec{URLs: []string{srv.URLOf("/" + name)}, Path: name, Size: -1}, data)
		if name == "bad.bin" {
			spec.Sum = make([]byte, len(spec.Sum)) // fails its checksum twice
		}
		wake := make(chan struct{}, 1)
		d := New(root, spec, cfg, func() { poke(wake) })
		downs[i] = d
		wg.Add(1)
		go func() {
			defer wg.Done()
			drive(ctx, d, wake, 1)
		}()
	}
	waiting := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.queue)
	}
	for waiting() < 2 || downs[2].Err() == nil {
		if ctx.Err() != nil {
			t.Fatal("the downloads did not reach their batch")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var names []string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if len(names) > 0 {
		t.Errorf("while two verified files wait for their batch and one failed, dest holds %q; want nothing", names)
	}
	p.Close()
	wg.Wait()
	for i, name := range paths[:2] {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || sha(got) != sha(segdltest.Content(uint64(i), 4<<10)) {
			t.Errorf("%s: wrong bytes at the path after publishing (%v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.bin")); err == nil {
		t.Error("a file that failed its checksum is at its path")
	}
	assertNoLitter(t, dir)
}

// TestInterruptedUnnamedFileIsKeptForResume: a download interrupted
// before any checkpoint named its file still keeps its bytes for the next
// run: the file is named, and its journal written, as it closes.
func TestInterruptedUnnamedFileIsKeptForResume(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(256 << 10)
	data := segdltest.Content(5, 1<<20)
	srv.PutBytes("/f", data)
	dir := t.TempDir()
	root := openRoot(t, dir)
	cfg := testConfig()
	cfg.SyncBytes = 1 << 40 // no checkpoint while it runs
	cfg.SyncInterval = time.Hour
	wake := make(chan struct{}, 1)
	d := New(root, Spec{URLs: []string{srv.URLOf("/f")}, Path: "out.bin", Size: -1}, cfg, func() { poke(wake) })
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
	drive(ctx, d, wake, 1)
	cancel()
	<-d.Done()
	if _, err := os.Stat(filepath.Join(dir, "out.bin"+JournalSuffix)); err != nil {
		t.Fatalf("no journal after an interrupted download: %v", err)
	}
	srv.RatePerConn.Store(0)
	r := fetch(t, dir, withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data), testConfig(), 1)
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("resumed download: %v", r.err)
	}
	if r.d.Progress().Resumed == 0 {
		t.Error("the second run started over; want it to resume the interrupted bytes")
	}
	assertNoLitter(t, dir)
}

// TestPublisherFindsTemporaryFilesOfEarlierRuns: with a Publisher, which
// lists each directory once for temporary files instead of a lstat per
// file, a download still resumes what an interrupted run left.
func TestPublisherFindsTemporaryFilesOfEarlierRuns(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	srv.RatePerConn.Store(1 << 20)
	data := segdltest.Content(8, 2<<20)
	srv.PutBytes("/f", data)
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	interrupted(t, dir, srv, 500*time.Millisecond)
	os.Rename(filepath.Join(dir, "out.bin"+PartSuffix), filepath.Join(dir, "sub", "out.bin"+PartSuffix))
	os.Rename(filepath.Join(dir, "out.bin"+JournalSuffix), filepath.Join(dir, "sub", "out.bin"+JournalSuffix))
	srv.RatePerConn.Store(0)
	root := openRoot(t, dir)
	p := NewPublisher(root, PublisherConfig{})
	defer p.Close()
	cfg := testConfig()
	cfg.Publisher = p
	r := fetch(t, dir, withSum(Spec{URLs: []string{srv.URLOf("/f")}, Path: "sub/out.bin"}, data), cfg, 2)
	if r.err != nil || sha(r.data) != sha(data) {
		t.Fatalf("resumed download: %v", r.err)
	}
	if r.d.Progress().Resumed == 0 {
		t.Error("the download started over; want it to resume the earlier run's bytes")
	}
	assertNoLitter(t, dir)
}

// TestLastBatchIsNotKeptWaiting: once NoMore says no download will come,
// files that nothing else can join are published without waiting for
// the Publisher's Wait (here an hour): the last batch of a run, or the one
// file of a one-file run.
func TestLastBatchIsNotKeptWaiting(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	root := openRoot(t, dir)
	p := NewPublisher(root, PublisherConfig{Wait: time.Hour})
	defer p.Close()
	cfg := testConfig()
	cfg.Publisher = p
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var downs []*Download
	for i, name := range []string{"a.bin", "b.bin"} {
		data := segdltest.Content(uint64(i), 4<<10)
		srv.PutBytes("/"+name, data)
		wake := make(chan struct{}, 1)
		d := New(root, withSum(Spec{URLs: []string{srv.URLOf("/" + name)}, Path: name, Size: -1}, data), cfg, func() { poke(wake) })
		downs = append(downs, d)
		wg.Add(1)
		go func() {
			defer wg.Done()
			drive(ctx, d, wake, 1)
		}()
	}
	p.NoMore()
	wg.Wait()
	for _, d := range downs {
		select {
		case <-d.Done():
			if d.Err() != nil {
				t.Errorf("%s: %v", d.spec.Path, d.Err())
			}
		default:
			t.Errorf("%s still waits for its batch after NoMore, with nothing left to join it", d.spec.Path)
		}
	}
}
