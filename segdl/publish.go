package segdl

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dest "github.com/bulkdl/bulkdl/state"
)

// Publisher publishes verified files in batches, so that many small files
// share the cost of making them durable. A verified file waits in the
// publisher at most Wait (or until Max files wait); then, for the whole
// batch, in this order:
//
//  1. the data and inodes of every file are made durable (on Linux one
//     syncfs(2) per file system for a batch of 8 files or more;
//     otherwise one fsync per file, issued together);
//  2. each file is named at its path: a temporary file is renamed, a
//     file without a name (Linux) is linked into its directory, checked
//     once per directory to still be the one at the path (see pubDir);
//  3. each directory that received a name is fsynced, once;
//  4. Published is called with the files published (Undurable with
//     those whose directory fsync failed);
//  5. each download's Done is closed.
//
// So a crash or power loss at any moment can lose a name, never leave a
// partial file at a path, and nothing records a file (Published) before
// its name is durable, nor reports it done before its name is made. While
// a file waits it holds no connection.
//
// Create one with NewPublisher, set it as Config.Publisher, and Close it
// once no download runs. Without a Publisher each file is published alone
// by its last task, in the same order.
type Publisher struct {
	root      *os.Root
	wait      time.Duration
	max       int
	published func([]*Download)
	undurable func([]*Download, error)
	ops       publishOps

	mu     sync.Mutex
	room   sync.Cond // signalled when a flush takes the queue
	queue  []*Download
	timer  *time.Timer
	closed bool
	// Downloads of this publisher that may still join a batch (created,
	// neither queued nor ended), and whether no more will be created
	// (NoMore): then a batch that nothing can join is published at once.
	joins  int
	noMore bool

	flushing sync.Mutex // one batch at a time; the next one gathers meanwhile

	dirsMu sync.Mutex
	dirs   map[string]*sync.Mutex // per directory, see lockDir
	made   map[string]bool        // directories this run created (MkdirAll), see madeDir
	parts  map[string]*partList   // per directory, its temporary files; see partIn

	open dirs // open directories that files without a name are linked into
}

// madeDir reports whether a download of this run created dir already: a
// directory is created once, not once per file in it.
func (p *Publisher) madeDir(dir string) bool {
	p.dirsMu.Lock()
	defer p.dirsMu.Unlock()
	return p.made[dir]
}

// partIn reports whether a temporary file (a name ending in PartSuffix)
// named base was in dir when a download of this run first looked; known
// is false if dir cannot be listed. Each directory is listed once, which
// spares every fresh file a failing lstat; what it answers is only where
// to look for resume state, never what is published. Nothing else
// creates temporary files in dest while this run holds its lock (shards
// of one split write disjoint files), and a download of this run that
// leaves one behind does not open its file again.
func (p *Publisher) partIn(root *os.Root, dir, base string) (has, known bool) {
	p.dirsMu.Lock()
	pl := p.parts[dir]
	if pl == nil {
		if p.parts == nil {
			p.parts = map[string]*partList{}
		}
		pl = &partList{}
		p.parts[dir] = pl
	}
	p.dirsMu.Unlock()
	// Read without dirsMu, which every file's create takes: a large
	// directory delays only the files waiting for its own listing.
	pl.once.Do(func() { pl.names = listParts(root, dir) })
	if pl.names == nil {
		return false, false
	}
	return pl.names[base], true
}

// partList is the temporary files of one directory, listed once.
type partList struct {
	once  sync.Once
	names map[string]bool // nil: not listed
}

// listParts returns the names in dir that end in PartSuffix, or nil if
// dir cannot be listed.
func listParts(root *os.Root, dir string) map[string]bool {
	f, err := dest.OpenDir(root, dir)
	if err != nil {
		return nil
	}
	defer f.Close()
	names := map[string]bool{}
	for {
		batch, err := f.Readdirnames(1024)
		for _, n := range batch {
			if strings.HasSuffix(n, PartSuffix) {
				names[n] = true
			}
		}
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			return nil
		}
	}
}

func (p *Publisher) setMadeDir(dir string) {
	p.dirsMu.Lock()
	defer p.dirsMu.Unlock()
	if p.made == nil {
		p.made = map[string]bool{}
	}
	p.made[dir] = true
}

// lockDir serializes creating and renaming files in dir among the
// downloads that share p. The kernel serializes them anyway, under the
// directory's lock, and a create can hold that lock a long time (ext4
// searching for a free inode); waiters then spin on it in the kernel,
// burning a CPU. Waiting here parks the goroutine instead.
func (p *Publisher) lockDir(dir string) (unlock func()) {
	p.dirsMu.Lock()
	m := p.dirs[dir]
	if m == nil {
		if p.dirs == nil {
			p.dirs = map[string]*sync.Mutex{}
		}
		m = &sync.Mutex{}
		p.dirs[dir] = m
	}
	p.dirsMu.Unlock()
	m.Lock()
	return m.Unlock
}

// PublisherConfig configures a Publisher. Zero values mean the defaults.
type PublisherConfig struct {
	// Wait is the longest a verified file waits for others to share its
	// flush; default 20ms. A batch also waits for the previous one.
	Wait time.Duration
	// Max files in one batch (each holds an open file); default 256.
	Max int
	// Published, if set, is called with each batch's published downloads
	// once their renames are durable, before their Done channels close.
	Published func([]*Download)
	// Undurable, if set, is called with the files of a batch that are
	// published (complete and verified at their paths, and reported done)
	// but whose directory could not be synced, with that error: a power
	// loss could undo their names, so Published is not given them.
	Undurable func([]*Download, error)
}

// NewPublisher returns a publisher of files under root.
func NewPublisher(root *os.Root, cfg PublisherConfig) *Publisher {
	if cfg.Wait <= 0 {
		cfg.Wait = 20 * time.Millisecond
	}
	if cfg.Max <= 0 {
		cfg.Max = 256
	}
	p := &Publisher{root: root, wait: cfg.Wait, max: cfg.Max, published: cfg.Published, undurable: cfg.Undurable, ops: osPublishOps{&osOps}}
	p.room.L = &p.mu
	return p
}

// add queues d, verified, for the next batch. While Max files wait and a
// batch is being published, it waits too, in the download's last task
// (whose connection slot OnIdle already gave back): downloads do not
// outrun the disk by more than two batches, and the open files stay
// bounded.
func (p *Publisher) add(d *Download) {
	p.mu.Lock()
	for len(p.queue) >= p.max && !p.closed {
		p.room.Wait()
	}
	if p.closed {
		p.mu.Unlock()
		p.publish([]*Download{d})
		return
	}
	p.queue = append(p.queue, d)
	switch {
	case len(p.queue) >= p.max && p.timer != nil:
		p.timer.Reset(0)
	case len(p.queue) == 1:
		p.timer = time.AfterFunc(p.wait, p.flush)
	}
	p.mu.Unlock()
	d.leavePublisher()
}

// flush publishes what is queued; it runs on the timer's goroutine.
func (p *Publisher) flush() {
	p.flushing.Lock()
	defer p.flushing.Unlock()
	p.mu.Lock()
	batch := p.queue
	p.queue = nil
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.room.Broadcast()
	p.mu.Unlock()
	if len(batch) > 0 {
		p.publish(batch)
	}
}

// NoMore tells p that no download using it will be created after the
// ones that exist: once each of them is queued or has ended, the files
// waiting are published at once instead of after Wait. (The last batch of
// a run, and the only one of a one-file run, need not wait for others.)
func (p *Publisher) NoMore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noMore = true
	p.flushIfAloneLocked()
}

// joined counts a new download of p; left, once, that it was queued or
// ended.
func (p *Publisher) joined() {
	p.mu.Lock()
	p.joins++
	p.mu.Unlock()
}

func (p *Publisher) left() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.joins--
	p.flushIfAloneLocked()
}

// flushIfAloneLocked starts the flush now if files wait and no download
// can join them any more.
func (p *Publisher) flushIfAloneLocked() {
	if p.noMore && p.joins <= 0 && p.timer != nil {
		p.timer.Reset(0)
	}
}

// leavePublisher tells d's Publisher, once, that d will not join a batch
// any more (queued, or ended).
func (d *Download) leavePublisher() {
	d.mu.Lock()
	in := d.inPublisher
	d.inPublisher = false
	d.mu.Unlock()
	if in {
		d.cfg.Publisher.left()
	}
}

// Close publishes every file still waiting and returns when they are
// published. Files verified after Close are published one at a time.
func (p *Publisher) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.flush()
}

// publishOps are the file operations whose order publishing keeps; a test
// replaces them to watch that order.
type publishOps interface {
	// syncFiles makes files durable; stats are their fstat results and
	// opened their places in openOrder. One error per file, nil when
	// durable.
	syncFiles(files []*os.File, stats []fs.FileInfo, opened []uint64) []error
	rename(root *os.Root, from, to string) error
	// link names f, a file without a name, name in the open directory
	// dir; an error matching fs.ErrExist if the name is taken.
	link(dir, f *os.File, name string) error
	// syncDir makes the names in directory dir durable: h if it is
	// open, else dir opened through root.
	syncDir(root *os.Root, dir string, h *os.File) error
}

// openOrder numbers temporary files in the order they were opened, across
// downloads, counted once open and before their first write: syncFiles
// flushes a batch through the one opened first (publish_linux.go).
var openOrder atomic.Uint64

// osPublishOps publish with a download's file operations (fileOps): the
// same sync and rename (retried on Windows) as a file published alone.
type osPublishOps struct{ f *fileOps }

func (o osPublishOps) syncFiles(files []*os.File, stats []fs.FileInfo, opened []uint64) []error {
	return syncFiles(files, stats, opened, o.f.sync)
}
func (o osPublishOps) rename(root *os.Root, from, to string) error {
	return o.f.rename(root, from, to)
}
func (o osPublishOps) link(dir, f *os.File, name string) error { return o.f.link(dir, f, name) }
func (osPublishOps) syncDir(root *os.Root, dir string, h *os.File) error {
	if h == nil {
		return dest.SyncDir(root, dir)
	}
	return dest.SyncOpenDir(h)
}

// syncEach fsyncs every file, several at once: a device serves concurrent
// flushes together. It is the portable way to make a batch durable.
func syncEach(files []*os.File, fsync func(*os.File) error) []error {
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	work := make(chan int)
	for range min(len(files), 16) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				errs[i] = fsync(files[i])
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	return errs
}

// publish publishes batch, verified downloads whose temporary files are
// open: durable data, renames, durable directories, then done.
func (p *Publisher) publish(batch []*Download) {
	root, ops, published := p.root, p.ops, p.published
	files := make([]*os.File, len(batch))
	stats := make([]fs.FileInfo, len(batch))
	opened := make([]uint64, len(batch))
	errs := make([]error, len(batch))
	for i, d := range batch {
		d.mu.Lock()
		files[i], stats[i], opened[i] = d.file, d.stat, d.opened
		resumed := d.resumedFile
		d.mu.Unlock()
		if resumed {
			// Created by an earlier run, maybe with another mode.
			errs[i] = files[i].Chmod(0o644 &^ umask())
		}
	}
	for i, err := range ops.syncFiles(files, stats, opened) {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	dirs := map[string]*pubDir{}
	kept := make([]*os.File, len(batch)) // closed, durable, named temporary files of failures
	for i, d := range batch {
		if errs[i] != nil {
			continue
		}
		d.mu.Lock()
		d.file = nil
		anon, ref := d.anon, d.dir
		d.anon, d.dir = false, nil
		d.mu.Unlock()
		dir := path.Dir(d.spec.Path)
		pd := dirs[dir]
		if pd == nil {
			pd = &pubDir{}
			dirs[dir] = pd
		}
		if ref != nil {
			pd.refs = append(pd.refs, ref) // released once the directory is synced
		}
		unlock := p.lockDir(dir)
		var err error
		if anon {
			var h *os.File
			if h, err = pd.handle(root, dir, ref); err != nil {
				files[i].Close() // its bytes go with it: never linked outside its path
			} else {
				var named bool
				if named, err = p.link(d, files[i], h); named {
					kept[i] = files[i]
				}
			}
		} else if err = files[i].Close(); err == nil {
			kept[i] = files[i]
			err = ops.rename(root, d.partName(), d.spec.Path)
		}
		unlock()
		if err != nil {
			errs[i] = err
			continue
		}
		pd.used = true
	}
	undurable := map[string]error{}
	for dir, pd := range dirs {
		if pd.used {
			if err := pd.sync(ops, root, dir); err != nil {
				undurable[dir] = err
			}
		}
		pd.close()
	}
	ok := batch[:0:0]
	for i, d := range batch {
		if errs[i] != nil {
			d.failPublish(errs[i], kept[i])
			continue
		}
		d.mu.Lock()
		journaled := d.journaled
		d.journaled = false
		d.mu.Unlock()
		if journaled {
			// Published: a journal left behind describes a file no
			// longer there, and the next run removes it as stale.
			d.ops.remove(root, d.journalName())
		}
		ok = append(ok, d)
	}
	rec := ok
	if len(undurable) > 0 {
		// Complete and verified at their paths, so done; but a power loss
		// could undo their names, so not claimed durable (recorded): the
		// next run checks them again.
		rec = make([]*Download, 0, len(ok))
		var lost []*Download
		var lostErr error
		for _, d := range ok {
			if err := undurable[path.Dir(d.spec.Path)]; err != nil {
				lost, lostErr = append(lost, d), err
				continue
			}
			rec = append(rec, d)
		}
		if p.undurable != nil {
			p.undurable(lost, lostErr)
		}
	}
	if published != nil && len(rec) > 0 {
		published(rec)
	}
	for _, d := range ok {
		d.leavePublisher()
		d.mu.Lock()
		d.state = stateDone
		close(d.finished)
		d.mu.Unlock()
		d.notify()
	}
}

// link publishes f, a file without a name (see openAnon), with one link
// to its path. A file already there (a changed file being replaced) is
// replaced as a named temporary file replaces it: f is linked to
// partName, which is then renamed over the path. h is the open directory
// of the path. f is closed; named
// says that a failure left it at partName.
func (p *Publisher) link(d *Download, f, h *os.File) (named bool, err error) {
	ops := p.ops
	err = ops.link(h, f, path.Base(d.spec.Path))
	if errors.Is(err, fs.ErrExist) {
		if err = ops.link(h, f, path.Base(d.partName())); err == nil {
			if err = f.Close(); err == nil {
				err = ops.rename(p.root, d.partName(), d.spec.Path)
			}
			return err != nil, err
		}
	}
	// Linked, its data was durable before: a failing close loses
	// nothing. Not linked, closing it frees its bytes.
	f.Close()
	return false, err
}

// failPublish ends a download whose publishing failed with err. Its
// temporary file is kept for a later run when it can be resumed.
func (d *Download) failPublish(err error, f *os.File) {
	d.mu.Lock()
	d.err = fmt.Errorf("%s: %w", d.spec.Path, err)
	var after func()
	if d.file == nil && f != nil {
		// Closed, and its data durable, before the rename failed: keep it
		// with a journal if it can be resumed. The disk work runs without
		// d.mu, before Done closes.
		keep := d.splittable && d.size > 0
		var j *journal
		if keep {
			j = d.journalLocked()
		}
		d.state = stateFailed
		after = func() {
			if keep {
				d.ops.writeJournal(d.root, d.journalName(), j) // without it, the next run starts over
			} else {
				d.ops.remove(d.root, d.partName())
			}
			d.leavePublisher()
			close(d.finished)
		}
	} else {
		after = d.closeLocked(!errors.Is(err, ErrSize))
	}
	d.mu.Unlock()
	after()
	d.notify()
}

// pubDir is one directory of a batch being published: the handle its
// files without a name are linked into, checked once per batch to still
// be the directory at its path, and the handles to give back once it is
// synced.
type pubDir struct {
	cur     fs.FileInfo // what the root resolves the path to, nil until asked
	curErr  error
	checked map[*dirRef]bool // held handles compared with cur: same or not
	same    *os.File         // a held handle that is the directory at the path
	fresh   *os.File         // the directory opened again, when a held one was not it
	refs    []*dirRef
	used    bool // a file was published into it
}

// handle returns the directory to link a file of ref into: ref's own
// handle if it is still the directory the root resolves dir to, else dir
// opened again through the root. A directory renamed, replaced, or moved
// out of dest (a symlink in its place) since ref was opened would
// otherwise get the file by its old handle, not at the file's path.
func (pd *pubDir) handle(root *os.Root, dir string, ref *dirRef) (*os.File, error) {
	if pd.cur == nil && pd.curErr == nil {
		pd.cur, pd.curErr = root.Lstat(dir)
	}
	same, ok := pd.checked[ref]
	if !ok {
		if pd.curErr == nil {
			if st, err := ref.f.Stat(); err == nil {
				same = os.SameFile(st, pd.cur)
			}
		}
		if pd.checked == nil {
			pd.checked = map[*dirRef]bool{}
		}
		pd.checked[ref] = same
	}
	if same {
		if pd.same == nil {
			pd.same = ref.f
		}
		return ref.f, nil
	}
	if pd.fresh == nil {
		f, err := dest.OpenDir(root, dir)
		if err != nil {
			return nil, err // asked again by the next file; rare
		}
		pd.fresh = f
	}
	return pd.fresh, nil
}

// sync makes the names published in dir durable: it fsyncs the handle
// the files were linked into (no new descriptor), or, when all were
// renamed through the root, dir opened again.
func (pd *pubDir) sync(ops publishOps, root *os.Root, dir string) error {
	h := pd.fresh
	if h == nil {
		h = pd.same
	}
	return ops.syncDir(root, dir, h)
}

// close gives back the handles of pd.
func (pd *pubDir) close() {
	if pd.fresh != nil {
		pd.fresh.Close()
	}
	for _, r := range pd.refs {
		r.release()
	}
}
