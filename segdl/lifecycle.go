package segdl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"syscall"
	"time"

	dest "github.com/bulkdl/bulkdl/state"
)

// prepare opens the temporary file on the first probe and resumes from the
// journal if it describes the file on disk; later probes (after a restart)
// reuse the open file. It gives the probe its segment.
//
// The probe is the only task while the download probes, so the file and
// the journal are its alone: the disk work happens without d.mu, and a
// slow directory blocks no Claim or Want (the scheduler's lock waits on
// those).
func (d *Download) prepare(t *Task) error {
	d.mu.Lock()
	open := d.file == nil
	d.mu.Unlock()
	if open {
		d.mu.Lock()
		old := d.dir // of a file dropped while waiting for descriptors
		d.dir = nil
		d.mu.Unlock()
		old.release()
		f, j, resumed, dir, err := d.openPart()
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.file, d.opened = f, openOrder.Add(1) // before the first write
		d.anon, d.dir = dir != nil, dir
		d.resumedFile = resumed
		if j != nil {
			d.resumeLocked(j)
		}
		d.lastSync = d.clock.now()
		d.mu.Unlock()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.size > 0 && d.done.total() == d.size && len(d.segs) == 0 {
		// A complete temporary file from an earlier run (killed while
		// verifying or publishing): verify and publish it, fetch nothing.
		t.seg = &segment{pos: d.size, end: d.size, task: t}
		d.state = stateRunning
		return nil
	}
	if len(d.segs) == 0 {
		d.segs = []*segment{{pos: 0, end: -1}}
	}
	first := d.segs[0]
	for _, s := range d.segs {
		if s.task == nil && (first.task != nil || s.pos < first.pos) {
			first = s
		}
	}
	first = d.pieceLocked(first)
	first.task = t
	t.seg = first
	return nil
}

// openPart opens the temporary file, creating its directory, and returns
// the journal to resume from if one describes the file on disk (resumed:
// an earlier run created the file); otherwise the file is emptied and a
// stale journal removed, so that nothing is ever resumed onto anything
// else. A file without a name yet (see createPart) comes with its open
// directory, to be named in; a checkpoint or a kept failure names it
// partName first. It does disk work: call it without d.mu.
func (d *Download) openPart() (f *os.File, j *journal, resumed bool, dir *dirRef, err error) {
	name := path.Dir(d.spec.Path)
	p := d.cfg.Publisher
	made := name == "." || p != nil && p.madeDir(name)
	if !made {
		if err := d.root.MkdirAll(name, 0o755); err != nil {
			return nil, nil, false, nil, fmt.Errorf("creating %s: %w", name, err)
		}
		if p != nil {
			p.setMadeDir(name)
		}
	}
	f, dir, err = d.createPart(name)
	if errors.Is(err, fs.ErrNotExist) && name != "." {
		// The directory went away since this run made it.
		if err = d.root.MkdirAll(name, 0o755); err == nil {
			f, dir, err = d.createPart(name)
		}
	}
	fresh := err == nil
	if errors.Is(err, fs.ErrExist) {
		f, err = d.ops.open(d.root, d.partName(), os.O_RDWR, 0o600)
		if errors.Is(err, fs.ErrNotExist) {
			// Gone since the directory was listed (see partIn).
			f, err = d.ops.open(d.root, d.partName(), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
			fresh = err == nil
		}
	}
	if err != nil {
		return nil, nil, false, nil, fmt.Errorf("opening %s: %w", d.partName(), err)
	}
	if fresh {
		return f, nil, false, dir, nil
	}
	j, err = readJournal(d.root, d.journalName())
	st, serr := f.Stat()
	if err == nil || serr != nil || st.Size() > 0 {
		// A run killed while rewriting the journal leaves its copy
		// behind; only a path with earlier bytes can have one, so a
		// fresh small file pays no extra call.
		d.ops.remove(d.root, d.journalName()+dest.TmpSuffix)
	}
	if err == nil && serr == nil && j.matches(d.spec, st.Size()) {
		return f, j, true, nil, nil
	}
	fail := func(err error) (*os.File, *journal, bool, *dirRef, error) {
		f.Close()
		return nil, nil, false, nil, err
	}
	if serr != nil || st.Size() > 0 {
		if err := d.ops.truncate(f, 0); err != nil {
			return fail(fmt.Errorf("emptying %s: %w", d.partName(), err))
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		// A journal left beside bytes it does not describe would claim
		// them for the next run: it must go.
		if err := d.ops.remove(d.root, d.journalName()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(fmt.Errorf("removing a stale %s: %w", d.journalName(), err))
		}
	}
	return f, nil, true, nil, nil
}

// createPart creates the temporary file in directory name, or fails with
// an error matching fs.ErrExist if an earlier run left one: it is the
// same answer, in as few calls as the platform allows, to "is there
// resume state to look for?", since directory operations are what many
// small files cost. The file is created with the published file's mode
// (0644 less the umask), which saves a chmod per file; its bytes are the
// same public bytes.
//
// Where it can (Linux), the file has no name until it is published or
// needs one (linkPart), and comes with its directory open (dir) to be
// named in: the Publisher's listing of the directory (or without one, a
// failing lstat of partName) answers the question, and a kill leaves
// nothing behind. Elsewhere, or when the file system has no
// such files, the named file is created exclusively.
func (d *Download) createPart(name string) (f *os.File, dir *dirRef, err error) {
	if d.ops.openAnon != nil && anonUsable() {
		has, known := false, false
		if p := d.cfg.Publisher; p != nil {
			has, known = p.partIn(d.root, name, path.Base(d.partName()))
		}
		if !known {
			_, err := d.root.Lstat(d.partName())
			has = err == nil
			// Not answered (a permission, a loop): the exclusive create
			// below answers it or says what is wrong.
			known = has || errors.Is(err, fs.ErrNotExist)
		}
		if has {
			return nil, nil, &fs.PathError{Op: "create", Path: d.partName(), Err: fs.ErrExist}
		}
		if known {
			f, dir, err := d.createAnon(name)
			if !errors.Is(err, errNoAnon) {
				return f, dir, err
			}
		}
	}
	unlock := func() {}
	if p := d.cfg.Publisher; p != nil {
		unlock = p.lockDir(name) // a named create takes the directory's lock
	}
	f, err = d.ops.open(d.root, d.partName(), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	unlock()
	return f, nil, err
}

// createAnon opens a file without a name in directory name, and the
// directory to name it in (shared with the Publisher's other downloads).
func (d *Download) createAnon(name string) (*os.File, *dirRef, error) {
	var ds *dirs
	if p := d.cfg.Publisher; p != nil {
		ds = &p.open
	}
	dir, err := ds.acquire(d.root, name)
	if err != nil {
		return nil, nil, err
	}
	f, err := d.ops.openAnon(dir.f, d.partName(), 0o644)
	if err != nil && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EPERM)) {
		// The shared directory was removed since it was opened (holding
		// only files without a name, it looked empty): it must not fail
		// every file created there for as long as a download holds it.
		// Open the directory at the path now, made again, and retry once.
		dir.forget()
		dir.release()
		if err = d.root.MkdirAll(name, 0o755); err != nil {
			return nil, nil, err
		}
		if dir, err = ds.acquire(d.root, name); err != nil {
			return nil, nil, err
		}
		f, err = d.ops.openAnon(dir.f, d.partName(), 0o644)
	}
	if err != nil {
		dir.release()
		return nil, nil, err
	}
	return f, dir, nil
}

// linkPart gives f, the download's file while it has no name (see
// createPart), the name partName in the directory at its path (dir, if it
// still is that directory; see pubDir.handle), so that a journal can
// describe it and a later run find it.
func (d *Download) linkPart(dir *dirRef, f *os.File) error {
	var pd pubDir
	defer pd.close()
	h, err := pd.handle(d.root, path.Dir(d.spec.Path), dir)
	if err != nil {
		return err
	}
	return d.ops.link(h, f, path.Base(d.partName()))
}

// resumeLocked takes the ranges j says are on disk.
func (d *Download) resumeLocked(j *journal) {
	d.journaled = true
	d.sized = true // the journal matched the file's size
	d.size, d.etag, d.lastMod, d.splittable = j.Size, j.ETag, j.LastModified, true
	for _, r := range j.Done {
		d.done.add(r[0], r[1])
	}
	for _, h := range d.done.holes(d.size) {
		d.segs = append(d.segs, &segment{pos: h[0], end: h[1]})
	}
	kept := d.done.total()
	d.written.Store(kept)
	d.resumed.Store(kept)
}

func (d *Download) partName() string    { return dest.TempStem(d.spec.Path) + PartSuffix }
func (d *Download) journalName() string { return dest.TempStem(d.spec.Path) + JournalSuffix }

// Suffixes of the files kept beside a file while it downloads. A name too
// long to take them is shortened first (see dest.TempStem).
const (
	PartSuffix    = dest.PartSuffix
	JournalSuffix = dest.JournalSuffix
)

// mayResumeLocked reports whether bytes already written may be continued
// by a request for the rest: only under a validator that If-Range and the
// response can confirm (a strong ETag or a Last-Modified date), or when a
// checksum will prove the whole at the end (and has not failed once).
// Anything else restarts from zero: a broken stream is never continued on
// trust.
func (d *Download) mayResumeLocked() bool {
	if d.noRange {
		return false
	}
	if strongETag(d.etag) != "" || d.lastMod != "" {
		return true
	}
	return d.spec.Sum != nil && !d.sumRetried
}

// learn records what the probe's response says about the file: its size,
// validator and whether it can be split. The probe is still the only task:
// the file is preallocated without d.mu, before other tasks may start.
func (d *Download) learn(t *Task, resp *http.Response, size int64, ranged bool) error {
	d.mu.Lock()
	fresh := d.size < 0
	if d.spec.Size >= 0 && size >= 0 && size != d.spec.Size {
		d.mu.Unlock()
		return &fatalError{fmt.Errorf("%w: server says %d bytes, manifest says %d", ErrSize, size, d.spec.Size)}
	}
	if d.cfg.MaxSize > 0 && size > d.cfg.MaxSize {
		d.mu.Unlock()
		return &fatalError{fmt.Errorf("%w: server says %d bytes, more than max_size %d", ErrSize, size, d.cfg.MaxSize)}
	}
	if fresh {
		t.startedLocked(time.Now()) // what its request cost sizes the pieces
		d.etag = resp.Header.Get("ETag")
		d.lastMod = resp.Header.Get("Last-Modified")
		d.size = size
		ce := resp.Header.Get("Content-Encoding")
		d.splittable = ranged && size >= 0 && (strongETag(d.etag) != "" || d.lastMod != "") && (ce == "" || ce == "identity")
	}
	f, alloc := d.file, fresh && size >= 2*d.cfg.MinSegment
	d.mu.Unlock()

	if alloc {
		// Worth a syscall only for files written in several pieces or at
		// scattered offsets: a small file's one write fails with ENOSPC
		// as early as fallocate would.
		if err := d.ops.allocate(f, size); err != nil {
			return &fatalError{fmt.Errorf("allocating %s (%d bytes): %w", d.spec.Path, size, err)}
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if alloc {
		d.sized = true
	}
	if fresh && size >= 0 && t.seg.end < 0 {
		t.seg.end = size
		d.pieceLocked(t.seg)
	}
	if d.state == stateProbing {
		d.state = stateRunning
	}
	return nil
}

// endOfStream records the end of a stream of unknown length.
func (t *Task) endOfStream(pos int64) {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	d.size = pos
	t.seg.end = pos
	d.removeSegLocked(t.seg)
}

// commit records that n bytes, written at pos, are on disk. It returns the
// task's new position and end, and stop when its segment is complete or
// its work was taken away. This is the per-chunk path: one short critical
// section; syncing happens outside it, by one task at a time.
func (t *Task) commit(pos, n int64) (newPos, end int64, stop bool) {
	d := t.d
	d.mu.Lock()
	if t.gen != d.gen || d.restart != nil || d.err != nil {
		d.mu.Unlock()
		return pos, -1, true
	}
	s := t.seg
	newPos = pos + n
	if s.end >= 0 && newPos > s.end {
		newPos = s.end // the rest belongs to a range split off meanwhile
	}
	t.streamed += n
	if newPos > s.pos {
		d.written.Add(newPos - max(s.pos, pos))
		d.done.add(pos, newPos)
		s.pos = newPos
	}
	d.unsynced += n
	var snap *journal
	if !d.syncing && d.splittable && d.size > 0 &&
		(d.unsynced >= d.cfg.SyncBytes || d.clock.since(d.lastSync) >= d.cfg.SyncInterval) {
		d.syncing = true
		snap = d.journalLocked()
	}
	end = s.end
	stop = end >= 0 && s.pos >= end
	if stop {
		d.removeSegLocked(s)
	}
	kick := d.hashKickLocked()
	d.mu.Unlock()
	if kick != nil {
		kick()
	}

	if snap != nil {
		d.checkpoint(snap)
	}
	return newPos, end, stop
}

// checkpoint makes the data durable, then the journal that describes it:
// the journal never claims bytes that a crash could lose.
func (d *Download) checkpoint(j *journal) {
	d.mu.Lock()
	f, anon, dir := d.file, d.anon, d.dir
	d.mu.Unlock()
	err := d.sizeForJournal(j.Size)
	if err == nil {
		err = d.ops.sync(f)
	}
	if err == nil && anon {
		// A journal describes a file a later run can find: name it.
		if err = d.linkPart(dir, f); err == nil {
			d.mu.Lock()
			d.anon = false
			d.mu.Unlock()
		}
	}
	if err == nil {
		err = d.ops.writeJournal(d.root, d.journalName(), j)
	}
	d.mu.Lock()
	d.syncing = false
	d.unsynced = 0
	d.lastSync = d.clock.now()
	d.journaled = d.journaled || err == nil
	d.mu.Unlock()
	_ = err // a failed checkpoint only costs re-fetching after a crash
}

// sizeForJournal gives a file that was not preallocated its full size
// (sparse) before a journal describes it: a resume matches the journal's
// size with the file's. The truncate runs without d.mu; checkpoints run
// one at a time (syncing).
func (d *Download) sizeForJournal(size int64) error {
	d.mu.Lock()
	f, sized := d.file, d.sized
	d.mu.Unlock()
	if sized || size <= 0 {
		return nil
	}
	if err := d.ops.truncate(f, size); err != nil {
		return err
	}
	d.mu.Lock()
	d.sized = true
	d.mu.Unlock()
	return nil
}

func (d *Download) journalLocked() *journal {
	return &journal{Version: journalVersion, URL: dest.URLDigest(d.spec.URLs[0]), Size: d.size, ETag: d.etag, LastModified: d.lastMod, Done: d.done.clone()}
}

func (d *Download) removeSegLocked(s *segment) {
	for i, x := range d.segs {
		if x == s {
			d.segs = append(d.segs[:i], d.segs[i+1:]...)
			break
		}
	}
	s.task = nil
}

// taskEnded accounts for a task that returned err. When the last task of
// the download returns, the download restarts, fails, or is finished here.
func (d *Download) taskEnded(t *Task, err error, ctx context.Context) {
	d.mu.Lock()
	d.removeRunningLocked(t)
	d.active--
	if t.src < len(d.mirrors) {
		d.mirrors[t.src].active--
	}
	d.rememberSpeedLocked(t, time.Now())
	if t.seg != nil && t.seg.end >= 0 && t.seg.pos >= t.seg.end {
		d.removeSegLocked(t.seg) // complete, also when it was empty
	} else if t.seg != nil && t.seg.task == t {
		t.seg.task = nil // requeue what is left of it
	}
	if t.probe && d.state == stateProbing {
		if errors.Is(err, errParked) {
			d.state = stateNew // probe again once the wait is over
		} else {
			d.state = stateRunning // the probe failed before learning anything
		}
	}
	current := t.gen == d.gen
	switch {
	case errors.Is(err, errNotModified) && current:
		d.notModified = true
	case err == nil || errors.Is(err, errStop) || errors.Is(err, errParked) || !current:
	case asRestart(err) != nil:
		if d.restart == nil {
			d.restart = asRestart(err)
		}
		d.stopTasksLocked()
	case ctx.Err() != nil:
		// The caller stopped us; resume state is kept.
	case d.restart != nil || d.err != nil:
		// We cancelled it: the outcome was already decided.
	default:
		var fe *fatalError
		if next := d.nextSourceLocked(); errors.As(err, &fe) && next >= 0 && !isLocal(fe.err) {
			// Drop this source; the next mirror carries on from the same
			// bytes if its validator agrees, else from scratch. Bytes
			// nothing vouches for (mayResumeLocked: no strong validator
			// for the mirror's If-Range, no checksum) are not continued,
			// nor any after a source sent more than the file's size: it
			// served another version, whatever its validator said.
			if d.restart == nil {
				discard := d.done.total() > 0 && (!d.mayResumeLocked() || errors.Is(err, ErrSize))
				d.restart = &restartError{reason: err, discard: discard}
				d.mirrors[d.url].dropped = err
				d.url = next
				d.resolved = d.mirrors[next].resolved
			}
		} else {
			d.abortLocked(fmt.Errorf("%s: %w", d.spec.Path, unwrapKinds(err)))
		}
	}
	if d.active > 0 {
		d.mu.Unlock()
		d.notify()
		return
	}
	// The last task: the download restarts, ends or is finished. The disk
	// work of each runs after d.mu is released, in this goroutine, before
	// the scheduler is told.
	after := func() {}
	switch {
	case d.notModified:
		after = d.closeLocked(false) // nothing was written; Path is current
		d.mu.Unlock()
	case d.err != nil:
		after = d.closeLocked(true)
		d.mu.Unlock()
	case ctx.Err() != nil:
		// Interrupted: close, keeping resume state, unless a restart was
		// pending because the bytes on disk are of an old version.
		if re, ok := d.restart.(*restartError); ok && re.discard {
			d.forgetLocked()
		}
		d.err = fmt.Errorf("%s: %w", d.spec.Path, ErrInterrupted)
		after = d.closeLocked(true)
		d.mu.Unlock()
	case d.restart != nil:
		after = d.restartLocked()
		d.mu.Unlock()
	case d.state == stateRunning && len(d.segs) == 0:
		d.mu.Unlock()
		after = func() {
			t.goIdle() // verifying needs no connection
			d.finish(ctx)
		}
	default:
		d.mu.Unlock()
	}
	after()
	d.notify()
}

// isLocal reports whether err is about the local disk, which no other
// source fixes.
func isLocal(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// unwrapKinds strips the internal classification wrappers for the message.
func unwrapKinds(err error) error {
	var fe *fatalError
	if errors.As(err, &fe) {
		return fe.err
	}
	return err
}

// restartLocked starts the download again now that no task runs. Two
// versions of a file are never spliced: a change discards the bytes. It
// returns the disk work to do once d.mu is released.
func (d *Download) restartLocked() (after func()) {
	re := d.restart.(*restartError)
	d.restart = nil
	d.gen++
	if errors.Is(re.reason, ErrChanged) {
		d.changes++
		if d.changes >= d.cfg.MaxChanges {
			d.err = fmt.Errorf("%s: %w %d times", d.spec.Path, ErrChanged, d.changes)
			return d.closeLocked(false)
		}
	}
	if re.broken {
		// Bytes were lost: this restart is a failed attempt, and retries
		// bound them as they bound requests.
		d.breaks++
		if d.breaks > d.cfg.Retries {
			d.err = fmt.Errorf("%s: %w (started over %d times)", d.spec.Path, unwrapKinds(re.reason), d.breaks-1)
			d.forgetLocked()
			return d.closeLocked(false)
		}
		d.parkLocked(d.backoff(d.breaks), unwrapKinds(re.reason))
	}
	if re.single {
		d.noRange = true
	}
	if re.discard {
		return d.discardLocked()
	}
	d.state = stateNew
	return func() {}
}

// forgetLocked forgets every byte on disk, in memory only.
func (d *Download) forgetLocked() {
	d.forgetHashLocked()
	d.segs = nil
	d.done = nil
	d.size = -1
	d.etag, d.lastMod = "", ""
	d.splittable = false
	d.written.Store(0)
	d.resumed.Store(0)
	d.sized = false
}

// discardLocked forgets every byte on disk and returns the disk work that
// makes it so (emptying the file, removing the journal), to run once d.mu
// is released. Until it has run the download is busy: nothing is claimed,
// so no new probe writes into a file not yet emptied. Then it probes
// again, or fails if the disk work failed.
func (d *Download) discardLocked() (after func()) {
	d.forgetLocked()
	d.state = stateBusy
	f, journaled := d.file, d.journaled
	d.journaled = false
	return func() {
		var err error
		if f != nil {
			if err = d.ops.truncate(f, 0); err != nil {
				err = fmt.Errorf("emptying %s: %w", d.partName(), err)
			}
		}
		if journaled && err == nil {
			if err = d.ops.remove(d.root, d.journalName()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("removing %s: %w", d.journalName(), err)
			} else {
				err = nil
			}
		}
		d.mu.Lock()
		if err != nil {
			d.err = fmt.Errorf("%s: %w", d.spec.Path, err)
			after := d.closeLocked(false)
			d.mu.Unlock()
			after()
			return
		}
		d.state = stateNew
		d.mu.Unlock()
	}
}

// closeLocked ends a failed or interrupted download, keeping the
// temporary file and a journal for a later run when keep is set and the
// bytes can be resumed (a known size and a validator); anything else
// would only be litter. It returns the disk work, to run once d.mu is
// released; Done is closed when that is over.
func (d *Download) closeLocked(keep bool) (after func()) {
	keep = keep && d.splittable && d.size > 0 && d.done.total() > 0
	f, journaled, sized, anon, dir := d.file, d.journaled, d.sized, d.anon, d.dir
	var j *journal
	if keep {
		j = d.journalLocked()
	}
	d.file, d.anon, d.dir = nil, false, nil
	d.state = stateFailed
	return func() {
		d.stopHashing() // before f is closed
		if f != nil {
			// The download has failed already; what fails here costs a
			// later run its resume (or leaves a file it truncates), never
			// a wrong byte: a journal is written only after its data is
			// synced, and a part without its journal is never resumed.
			// A file not preallocated gets its full size first: a resume
			// matches the journal's size with the file's. A file
			// without a name is named first; without, closing it frees
			// its bytes and leaves nothing behind.
			if keep && (sized || j.Size <= 0 || d.ops.truncate(f, j.Size) == nil) && d.ops.sync(f) == nil &&
				(!anon || d.linkPart(dir, f) == nil) {
				anon = false
				journaled = d.ops.writeJournal(d.root, d.journalName(), j) == nil || journaled
			}
			d.ops.close(f)
			if !keep && !anon {
				d.ops.remove(d.root, d.partName())
				if journaled {
					d.ops.remove(d.root, d.journalName())
				}
			}
		}
		dir.release()
		d.leavePublisher()
		close(d.finished)
	}
}

func (d *Download) hostLocked() string {
	if d.resolved == "" {
		return d.targets[d.url].hostport
	}
	u, err := url.Parse(d.resolved)
	if err != nil {
		return ""
	}
	return hostPort(u)
}

// limitBytes returns the most bytes the file may have, from the manifest's
// size and max_size, or -1 for no limit. It bounds bodies of unknown
// length, which nothing else does.
func (d *Download) limitBytes() int64 {
	switch {
	case d.spec.Size >= 0:
		return d.spec.Size
	case d.cfg.MaxSize > 0:
		return d.cfg.MaxSize
	}
	return -1
}
