package segdl

import (
	"hash"
	"os"
)

// Hashing while the file downloads. The checksum is of the bytes on disk,
// read back from the temporary file, never of the bytes as they arrived.
// Read back only at the end, a 1 GiB file costs a second pass after the
// last byte (about 0.6 s of SHA-256 on one core), so the file's contiguous
// complete prefix is read back and hashed as it grows: ranges are handed
// out in file order (pieceLocked) so that it grows at the speed of all
// connections together, and at the end verify hashes only the rest.
//
// Bytes in the prefix are committed (d.done) and nothing in segdl writes
// them again: a task writes only at its own position, which is past the
// end of every complete prefix, and a spill over a split boundary lands
// beyond that position too. The one way bytes of the prefix change is a
// restart that forgets them (forgetLocked: a new version, a checksum
// retry, a broken stream started over), and that bumps gen, which throws
// the digest away.
//
// One goroutine at most per download hashes, and only while there is a
// backlog: it is started by a commit that finds at least hashStep bytes of
// prefix not hashed yet, and returns when it has caught up, so no
// goroutine waits idle and a file smaller than hashMin never starts one.
// It is stopped and waited for before the file is verified or closed
// (stopHashing), so it never outlives the download nor reads a closed file.

// prefixHash is a download's digest of the first n bytes of its file,
// allocated when hashing first starts (most files never need one).
// Fields are guarded by Download.mu; h is used without it by the running
// goroutine alone, and by verify once that has returned.
type prefixHash struct {
	gen     int           // bumped when the bytes on disk are forgotten
	running bool          // a hashPrefix goroutine runs
	stop    bool          // it returns before its next read
	exited  chan struct{} // closed when the running goroutine has returned
	h       hash.Hash     // nil, or the digest of the first n bytes as of hgen
	n       int64
	hgen    int
	// read reads back from the file: (*os.File).ReadAt, or a test's.
	read func(f *os.File, p []byte, off int64) (int, error)
}

// hashMinLocked is the smallest file (or prefix of a file of unknown size)
// worth hashing while it downloads: a smaller one is hashed at the end in
// one read, as before, with no goroutine.
func (d *Download) hashMinLocked() int64 { return 2 * d.cfg.MinSegment }

// hashStepLocked is the backlog of unhashed prefix that starts hashing.
func (d *Download) hashStepLocked() int64 { return 4 * int64(d.cfg.ChunkSize) }

// prefixLocked returns the end of the contiguous complete bytes from 0.
func (d *Download) prefixLocked() int64 {
	if len(d.done) == 0 || d.done[0][0] != 0 {
		return 0
	}
	return d.done[0][1]
}

// hashKickLocked starts hashing the prefix if it is due, and returns the
// function that starts its goroutine, to call once d.mu is released, or
// nil. It is called after each commit.
func (d *Download) hashKickLocked() func() {
	ph := d.ph
	if d.spec.Hash == nil || d.file == nil || ph != nil && ph.running {
		return nil
	}
	end := d.prefixLocked()
	var n int64
	if ph != nil && ph.hgen == ph.gen {
		n = ph.n
	}
	if end-n < d.hashStepLocked() || max(d.size, end) < d.hashMinLocked() {
		return nil
	}
	if ph == nil {
		ph = &prefixHash{}
		d.ph = ph
	}
	ph.running, ph.stop = true, false
	exited := make(chan struct{})
	ph.exited = exited
	f := d.file
	return func() { go d.hashPrefix(f, exited) }
}

// hashPrefix reads back and hashes the complete prefix of f until it has
// caught up with it, the bytes on disk are forgotten, or stopHashing asks
// it to return. It closes exited when it returns.
func (d *Download) hashPrefix(f *os.File, exited chan struct{}) {
	defer close(exited)
	bp := getBuf(d.cfg.ChunkSize)
	defer bufPool.Put(bp)
	buf := *bp
	d.mu.Lock()
	ph := d.ph
	read := ph.read
	if read == nil {
		read = (*os.File).ReadAt
	}
	defer d.mu.Unlock()
	h, n, gen := ph.h, ph.n, ph.hgen
	defer func() { ph.h, ph.n, ph.hgen, ph.running = h, n, gen, false }()
	for !ph.stop {
		if gen != ph.gen {
			h, n, gen = nil, 0, ph.gen
		}
		end := d.prefixLocked()
		if end <= n {
			return
		}
		k := min(end-n, int64(len(buf)))
		d.mu.Unlock()
		got, err := read(f, buf[:k], n)
		d.mu.Lock()
		if err != nil || int64(got) != k {
			// verify reads the rest itself, and reports what fails.
			return
		}
		if gen != ph.gen {
			// Forgotten while it was read (truncated, maybe rewritten):
			// whatever was read is of no version; start over.
			continue
		}
		// gen is unchanged, so the read ended before any restart began:
		// these are bytes of the prefix, final.
		if h == nil {
			h = d.spec.Hash()
		}
		d.mu.Unlock()
		h.Write(buf[:k])
		d.mu.Lock()
		n += k
	}
}

// stopHashing makes a running hashPrefix return and waits for it. Call it
// without d.mu, when no task runs (no commit starts another).
func (d *Download) stopHashing() {
	d.mu.Lock()
	var exited chan struct{}
	if d.ph != nil && d.ph.running {
		d.ph.stop = true
		exited = d.ph.exited
	}
	d.mu.Unlock()
	if exited != nil {
		<-exited
	}
}

// hashed stops hashing and returns the digest of the first n bytes of the
// file of size bytes, to go on from: n is 0 and h fresh if nothing valid
// was hashed.
func (d *Download) hashed(size int64) (h hash.Hash, n int64) {
	d.stopHashing()
	d.mu.Lock()
	defer d.mu.Unlock()
	if ph := d.ph; ph != nil {
		if ph.h != nil && ph.hgen == ph.gen && ph.n <= size {
			h, n = ph.h, ph.n
		}
		ph.h, ph.n = nil, 0
	}
	if h == nil {
		return d.spec.Hash(), 0
	}
	return h, n
}

// forgetHashLocked throws the digest away: the bytes it covers are
// forgotten. A running goroutine notices and starts over.
func (d *Download) forgetHashLocked() {
	if d.ph != nil {
		d.ph.gen++
	}
}
