package segdl

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// opLog records the file operations of publishing, in order, and what was
// true of the files when each happened.
type opLog struct {
	t    *testing.T
	real publishOps
	root string // the directory of the root published into

	mu      sync.Mutex
	events  []string
	synced  map[string]bool   // temporary files whose data was made durable, by name
	syncedF map[*os.File]bool // and by file, for files without a name
	links   int               // files published by a link, not a rename
	renamed map[string]bool   // final paths renamed (or linked) into place
	durable map[string]bool   // final paths whose directory was fsynced since
	downs   []*Download
}

func newOpLog(t *testing.T, root string) *opLog {
	return &opLog{t: t, root: root, real: osPublishOps{&osOps}, synced: map[string]bool{}, syncedF: map[*os.File]bool{}, renamed: map[string]bool{}, durable: map[string]bool{}}
}

func (l *opLog) log(format string, args ...any) {
	l.events = append(l.events, fmt.Sprintf(format, args...))
}

func (l *opLog) syncFiles(files []*os.File, stats []fs.FileInfo, opened []uint64) []error {
	errs := l.real.syncFiles(files, stats, opened)
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[uint64]bool{}
	for i, o := range opened {
		if o == 0 || seen[o] {
			// syncfs goes through the file opened first (publish_linux.go).
			l.t.Errorf("%s: place %d in the order files were opened; want one of its own", files[i].Name(), o)
		}
		seen[o] = true
	}
	n := 0
	for i, f := range files {
		if errs[i] == nil {
			l.synced[filepath.Base(f.Name())] = true
			l.syncedF[f] = true
			n++
		}
	}
	l.log("sync %d files", n)
	return errs
}

func (l *opLog) link(dir, f *os.File, name string) error {
	l.mu.Lock()
	if !l.syncedF[f] {
		l.t.Errorf("%s linked before its data was made durable", name)
	}
	l.mu.Unlock()
	err := l.real.link(dir, f, name)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		if strings.HasSuffix(name, PartSuffix) {
			l.synced[name] = true // renamed next
			return nil
		}
		rel, _ := filepath.Rel(l.root, filepath.Join(dir.Name(), name))
		rel = filepath.ToSlash(rel)
		l.renamed[rel] = true
		l.links++
		l.log("publish %s", rel)
	}
	return err
}

func (l *opLog) rename(root *os.Root, from, to string) error {
	l.mu.Lock()
	if !l.synced[path.Base(from)] {
		l.t.Errorf("%s renamed to %s before its data was made durable", from, to)
	}
	l.mu.Unlock()
	err := l.real.rename(root, from, to)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.renamed[to] = true
		l.log("publish %s", to)
	}
	return err
}

func (l *opLog) syncDir(root *os.Root, dir string, h *os.File) error {
	err := l.real.syncDir(root, dir, h)
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range l.renamed {
		if path.Dir(p) == dir {
			l.durable[p] = true
		}
	}
	l.log("syncdir %s", dir)
	return err
}

// published is the Publisher's Published hook: every file it is given
// must have a durable rename, and none may be reported done yet.
func (l *opLog) published(ds []*Download) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for _, d := range ds {
		if !l.durable[d.spec.Path] {
			l.t.Errorf("%s recorded as published before its rename was durable", d.spec.Path)
		}
		select {
		case <-d.Done():
			l.t.Errorf("%s reported done before the Published hook ran", d.spec.Path)
		default:
		}
		names = append(names, d.spec.Path)
	}
	slices.Sort(names)
	l.log("published %s", strings.Join(names, " "))
}

// done is called from a download's notify: once Done is closed, its
// rename must be durable.
func (l *opLog) done(d *Download) {
	select {
	case <-d.Done():
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if d.Err() == nil && !l.durable[d.spec.Path] {
		l.t.Errorf("%s reported done before its rename was durable", d.spec.Path)
	}
}

// TestPublisherOrder: in a batch, every file's data is durable before any
// is named (linked or renamed) at its path, every directory is fsynced
// after its names and before the files are recorded or reported done.
// Both ways a file is named are covered: files without a name (Linux,
// where the file system has them) and named temporary files, and a path
// with an old file to replace.
func TestPublisherOrder(t *testing.T) {
	for _, mode := range []struct {
		name  string
		named bool
	}{{"files without a name", false}, {"named temporary files", true}} {
		t.Run(mode.name, func(t *testing.T) {
			testPublisherOrder(t, mode.named)
		})
	}
}

func testPublisherOrder(t *testing.T, named bool) {
	srv := segdltest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	root := openRoot(t, dir)
	l := newOpLog(t, dir)
	// A long wait, so that every file joins one batch.
	// Eight files: the batch is large enough for syncfs on Linux.
	paths := []string{"a/1.bin", "a/2.bin", "b/3.bin", "4.bin", "a/5.bin", "b/6.bin", "7.bin", "8.bin"}
	os.WriteFile(filepath.Join(dir, "7.bin"), []byte("an old version"), 0o644)
	p := NewPublisher(root, PublisherConfig{Wait: 10 * time.Second, Max: len(paths), Published: l.published})
	p.ops = l
	cfg := testConfig()
	cfg.Publisher = p
	ops := osOps
	if named {
		ops.openAnon = noAnon
	}

	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	downs := make([]*Download, len(paths))
	for i, p := range paths {
		data := segdltest.Content(uint64(i), 10<<10)
		srv.PutBytes("/"+p, data)
		wake := make(chan struct{}, 1)
		var d *Download
		d = New(root, withSum(Spec{URLs: []string{srv.URLOf("/" + p)}, Path: p, Size: -1}, data), cfg,
			func() { l.done(d); poke(wake) })
		d.ops = &ops
		downs[i] = d
		wg.Add(1)
		go func() {
			defer wg.Done()
			drive(ctx, d, wake, 2)
		}()
	}
	wg.Wait()
	p.Close()
	for i, d := range downs {
		if err := d.Err(); err != nil {
			t.Fatalf("%s: %v", paths[i], err)
		}
		got, err := os.ReadFile(dir + "/" + paths[i])
		if err != nil || sha(got) != sha(segdltest.Content(uint64(i), 10<<10)) {
			t.Errorf("%s: wrong bytes at the path (%v)", paths[i], err)
		}
	}
	var renames, published []string
	for _, p := range paths {
		renames = append(renames, "publish "+p)
		published = append(published, p)
	}
	slices.Sort(published)
	want := append([]string{fmt.Sprintf("sync %d files", len(paths))}, renames...)
	want = append(want, "syncdir ., syncdir a, syncdir b", "published "+strings.Join(published, " "))
	got := normalize(l.events, paths)
	if !slices.Equal(got, want) {
		t.Errorf("publishing order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// All but 7.bin, which replaces a file, are linked where files
	// without a name exist; none is linked where they do not.
	wantLinks := 0
	if !named && anonSupported(t, root) {
		wantLinks = len(paths) - 1
	}
	if l.links != wantLinks {
		t.Errorf("%d files published with a link; want %d", l.links, wantLinks)
	}
	assertNoLitter(t, dir)
}

// noAnon is openAnon where files without a name are not supported.
func noAnon(*os.File, string, fs.FileMode) (*os.File, error) { return nil, errNoAnon }

// anonSupported reports whether files without a name work in root.
func anonSupported(t *testing.T, root *os.Root) bool {
	dir, err := root.Open(".")
	if err != nil {
		return false
	}
	defer dir.Close()
	f, err := openAnon(dir, "probe", 0o644)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// normalize sorts each run of renames (and links) into manifest order and
// joins each run of directory syncs sorted: their order within a run does not matter.
func normalize(events, order []string) []string {
	var out, run []string
	kind := ""
	flush := func() {
		switch kind {
		case "publish":
			slices.SortFunc(run, func(a, b string) int {
				return slices.Index(order, a[len("publish "):]) - slices.Index(order, b[len("publish "):])
			})
			out = append(out, run...)
		case "syncdir":
			slices.Sort(run)
			out = append(out, strings.Join(run, ", "))
		}
		run, kind = nil, ""
	}
	for _, e := range events {
		k, _, _ := strings.Cut(e, " ")
		if k != kind {
			flush()
		}
		if k == "publish" || k == "syncdir" {
			kind = k
			run = append(run, e)
			continue
		}
		out = append(out, e)
	}
	flush()
	return out
}
