package segdl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// needUnnamed skips a test of files without a name where there are none
// (only Linux has O_TMPFILE): there a waiting file is a named temporary
// file in its directory, which moves or goes with the directory, and the
// file fails at its rename, as it always did; Windows also refuses to
// remove a directory that holds an open file.
func needUnnamed(t *testing.T) {
	t.Helper()
	if !anonUsable() {
		t.Skip("no files without a name on this platform: a waiting file is a named temporary file that moves with its directory")
	}
}

// dirChange is a Publisher that holds every verified file (an hour's
// wait) until Close, and records what it was told.
type dirChange struct {
	t    *testing.T
	dir  string
	root *os.Root
	srv  *segdltest.Server
	p    *Publisher
	cfg  *Config

	mu        sync.Mutex
	recorded  []string
	undurable []string
}

func newDirChange(t *testing.T, dir string) *dirChange {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	srv := segdltest.NewServer()
	t.Cleanup(srv.Close)
	c := &dirChange{t: t, dir: dir, root: root, srv: srv}
	c.p = NewPublisher(root, PublisherConfig{Wait: time.Hour,
		Published: func(ds []*Download) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, d := range ds {
				c.recorded = append(c.recorded, d.spec.Path)
			}
		},
		Undurable: func(ds []*Download, err error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, d := range ds {
				c.undurable = append(c.undurable, d.spec.Path)
			}
		}})
	c.cfg = testConfig()
	c.cfg.Publisher = c.p
	return c
}

// start downloads name (4 KiB of seed's content) and returns it, its
// bytes, and a func that waits for it to end.
func (c *dirChange) start(ctx context.Context, name string, seed uint64) (*Download, []byte, func()) {
	return c.startWith(ctx, name, seed, &osOps)
}

func (c *dirChange) startWith(ctx context.Context, name string, seed uint64, ops *fileOps) (*Download, []byte, func()) {
	data := segdltest.Content(seed, 4<<10)
	c.srv.PutBytes("/"+name, data)
	wake := make(chan struct{}, 1)
	d := New(c.root, withSum(Spec{URLs: []string{c.srv.URLOf("/" + name)}, Path: name, Size: -1}, data), c.cfg, func() { poke(wake) })
	d.ops = ops
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); drive(ctx, d, wake, 1) }()
	return d, data, wg.Wait
}

// waitQueued waits until n verified files wait in the Publisher.
func (c *dirChange) waitQueued(ctx context.Context, n int) {
	for {
		c.p.mu.Lock()
		q := len(c.p.queue)
		c.p.mu.Unlock()
		if q >= n {
			return
		}
		if ctx.Err() != nil {
			c.t.Fatalf("%d files wait in the publisher; want %d", q, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (c *dirChange) wasRecorded(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.recorded, name)
}

// A directory renamed away, and a new one made at its name, while a
// verified file of it waits to be published: the file is published at its
// path (in the new directory), not into the old one by a handle opened
// before.
func TestAFileIsPublishedAtItsPathWhenItsDirectoryWasReplaced(t *testing.T) {
	needUnnamed(t)
	dir := t.TempDir()
	c := newDirChange(t, dir)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	d, data, wait := c.start(ctx, "sub/a.bin", 1)
	c.waitQueued(ctx, 1)
	if err := os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "sub.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.p.Close()
	wait()
	if err := d.Err(); err != nil {
		t.Fatalf("Err() = %v; want nil", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "sub", "a.bin"))
	if err != nil || sha(got) != sha(data) {
		t.Errorf("sub/a.bin: %v; want its bytes", err)
	}
	if !c.wasRecorded("sub/a.bin") {
		t.Errorf("sub/a.bin not given to Published")
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub.old", "a.bin")); err == nil {
		t.Errorf("sub.old/a.bin exists: published into the directory moved away")
	}
}

// The directory moved out of dest and a symlink to it left in its place:
// the file must not be published outside dest (the root refuses the
// symlink), and a file not at its path is neither done nor recorded.
func TestAFileIsNeverPublishedOutsideDestThroughItsMovedDirectory(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "dest")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(top, "outside")
	c := newDirChange(t, dir)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	d, _, wait := c.start(ctx, "sub/a.bin", 1)
	c.waitQueued(ctx, 1)
	if err := os.Rename(filepath.Join(dir, "sub"), outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "sub")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	c.p.Close()
	wait()
	if _, err := os.Lstat(filepath.Join(outside, "a.bin")); err == nil {
		t.Errorf("a.bin was published outside dest, at %s", filepath.Join(outside, "a.bin"))
	}
	if d.Err() == nil {
		t.Errorf("Err() = nil; want an error: the file is not at its path")
	}
	if c.wasRecorded("sub/a.bin") {
		t.Errorf("sub/a.bin given to Published though it is not at its path")
	}
}

// A directory removed while a file of it waits without a name (to ls it
// looks empty, so rm -rf or find -empty -delete can remove it): a file of
// the same directory started afterwards is downloaded into it, made
// again, and so is the waiting one.
func TestFilesStartedAfterTheirDirectoryWasRemovedAreDownloaded(t *testing.T) {
	needUnnamed(t)
	dir := t.TempDir()
	c := newDirChange(t, dir)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, _, waitA := c.start(ctx, "sub/a.bin", 1)
	c.waitQueued(ctx, 1)
	if err := os.RemoveAll(filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	b, dataB, waitB := c.start(ctx, "sub/b.bin", 2)
	for {
		c.p.mu.Lock()
		q := len(c.p.queue)
		c.p.mu.Unlock()
		if q >= 2 || ctx.Err() != nil {
			break
		}
		select {
		case <-b.Done():
		case <-time.After(2 * time.Millisecond):
			continue
		}
		break
	}
	c.p.Close()
	waitA()
	waitB()
	if err := b.Err(); err != nil {
		t.Fatalf("sub/b.bin, started after sub was removed: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "sub", "b.bin"))
	if err != nil || sha(got) != sha(dataB) {
		t.Errorf("sub/b.bin: %v; want its bytes", err)
	}
}

// A directory whose fsync fails: its files are complete and verified at
// their paths, so reported done, but their names are not durable, so they
// are not given to Published (the state's claim) but to Undurable.
func TestAFileWhoseDirectorySyncFailedIsDoneButNotRecorded(t *testing.T) {
	for _, named := range []bool{false, true} {
		name := "files without a name"
		if named {
			name = "named temporary files"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			c := newDirChange(t, dir)
			c.p.ops = failSyncDir{osPublishOps{&osOps}, "bad"}
			ops := osOps
			if named {
				ops.openAnon = noAnon
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			var waits []func()
			var downs []*Download
			for i, p := range []string{"bad/a.bin", "good/b.bin"} {
				d, _, wait := c.startWith(ctx, p, uint64(i), &ops)
				downs, waits = append(downs, d), append(waits, wait)
			}
			c.waitQueued(ctx, 2)
			c.p.Close()
			for _, w := range waits {
				w()
			}
			for _, d := range downs {
				if err := d.Err(); err != nil {
					t.Errorf("%s: Err() = %v; want nil (at its path, verified)", d.spec.Path, err)
				}
			}
			if c.wasRecorded("bad/a.bin") {
				t.Errorf("bad/a.bin given to Published though its directory was not synced")
			}
			if !c.wasRecorded("good/b.bin") {
				t.Errorf("good/b.bin not given to Published")
			}
			if !slices.Equal(c.undurable, []string{"bad/a.bin"}) {
				t.Errorf("Undurable got %v; want [bad/a.bin]", c.undurable)
			}
		})
	}
}

// failSyncDir fails the sync of directory bad.
type failSyncDir struct {
	osPublishOps
	bad string
}

func (f failSyncDir) syncDir(root *os.Root, dir string, h *os.File) error {
	if dir == f.bad {
		return errors.New("injected: directory sync failed")
	}
	return f.osPublishOps.syncDir(root, dir, h)
}

// A file without a name is named PATH.bulkdl.part when a journal first
// describes it: that link too goes only into the directory at the path,
// never through the handle of a directory moved out of dest since.
func TestAJournaledFileIsNeverNamedOutsideDest(t *testing.T) {
	if !anonUsable() {
		t.Skip("no files without a name here")
	}
	top := t.TempDir()
	dir := filepath.Join(top, "dest")
	outside := filepath.Join(top, "outside")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := segdltest.NewServer()
	defer srv.Close()
	data := segdltest.Content(5, 1<<20)
	srv.PutBytes("/f", data)
	cfg := testConfig()
	cfg.SyncBytes = 64 << 10
	ops := osOps
	var once sync.Once
	ops.sync = func(f *os.File) error {
		// Before the first checkpoint names the file: the directory
		// goes out of dest, a symlink to it stays in its place.
		once.Do(func() {
			if err := os.Rename(filepath.Join(dir, "sub"), outside); err != nil {
				t.Error(err)
			}
			if err := os.Symlink(outside, filepath.Join(dir, "sub")); err != nil {
				t.Error(err)
			}
		})
		return f.Sync()
	}
	r := fetchOps(t, dir, Spec{URLs: []string{srv.URLOf("/f")}, Path: "sub/big.bin"}, cfg, 1, &ops)
	if r.err == nil {
		t.Errorf("the download succeeded; want an error: its directory left dest")
	}
	names, _ := os.ReadDir(outside)
	for _, n := range names {
		t.Errorf("%s written outside dest", filepath.Join(outside, n.Name()))
	}
}
