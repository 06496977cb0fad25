package segdl

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	dest "github.com/bulkdl/bulkdl/state"
)

// finish verifies the complete temporary file and publishes it with one
// rename. It runs in the goroutine of the download's last task, when no
// other task runs. When ctx is done while it verifies, the download is
// interrupted and the complete file kept, with its journal, for the next
// run to verify and publish without fetching it again.
func (d *Download) finish(ctx context.Context) {
	d.mu.Lock()
	f, size := d.file, d.size
	d.mu.Unlock()

	got, err := d.verify(ctx, f, size)
	if ctx.Err() != nil && err != nil {
		d.mu.Lock()
		d.err = fmt.Errorf("%s: %w", d.spec.Path, ErrInterrupted)
		after := d.closeLocked(true)
		d.mu.Unlock()
		after()
		return
	}
	if errors.Is(err, ErrChecksum) {
		d.mu.Lock()
		var after func()
		if !d.sumRetried {
			// Fetch once more from scratch before failing.
			d.sumRetried = true
			d.noMirrors = true // whatever went wrong, no mirror joins in again
			d.gen++
			after = d.discardLocked()
		} else {
			d.err = fmt.Errorf("%s: %w: got %s, want %s (also after downloading it again)", d.spec.Path, ErrChecksum, hex.EncodeToString(got), hex.EncodeToString(d.spec.Sum))
			after = d.closeLocked(false)
		}
		d.mu.Unlock()
		after()
		return
	}
	d.mu.Lock()
	if err != nil {
		d.err = fmt.Errorf("%s: %w", d.spec.Path, err)
		after := d.closeLocked(!errors.Is(err, ErrSize))
		d.mu.Unlock()
		after()
		return
	}
	d.sum = got
	d.state = statePublishing
	d.mu.Unlock()
	if p := d.cfg.Publisher; p != nil {
		p.add(d) // the task returns; the batch ends the download
		return
	}
	(&Publisher{root: d.root, ops: osPublishOps{d.ops}}).publish([]*Download{d})
}

// verify checks the size and, if the spec has one, the checksum of the
// bytes on disk: each byte read back from the file after segdl's last
// write to it, never taken as it arrived, so that a write that did not
// land as it was sent, or another writer before the read, fails the
// checksum. The complete prefix was read back and hashed while the rest
// downloaded (hash.go); verify reads back the rest. A change that
// something else makes to the file after its bytes were read back is not
// seen, as one after verify returns never was: the dest lock keeps other
// runs of bulkdl out.
func (d *Download) verify(ctx context.Context, f *os.File, size int64) (sum []byte, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.stat = st
	d.mu.Unlock()
	if st.Size() != size {
		return nil, fmt.Errorf("%w: %d bytes on disk, want %d", ErrSize, st.Size(), size)
	}
	if d.spec.Size >= 0 && size != d.spec.Size {
		return nil, fmt.Errorf("%w: got %d bytes, manifest says %d", ErrSize, size, d.spec.Size)
	}
	if d.spec.Hash == nil {
		return nil, nil
	}
	h, from := d.hashed(size)
	// A pooled buffer: io.Copy would allocate 32 KiB per file, 3 GB of
	// garbage for 100,000 files.
	bp := streamBuf(size-from, d.cfg.ChunkSize) // a small file's size, not a chunk
	_, err = io.CopyBuffer(h, ctxReader{ctx, io.NewSectionReader(f, from, size-from)}, *bp)
	putStreamBuf(bp, d.cfg.ChunkSize)
	if err != nil {
		return nil, fmt.Errorf("reading back: %w", err)
	}
	sum = h.Sum(nil)
	if d.spec.Sum != nil && !bytes.Equal(sum, d.spec.Sum) {
		return sum, ErrChecksum
	}
	return sum, nil
}

// Complete reports whether the file at spec.Path in root is already
// complete: it has spec.Size bytes if a size is given, and its digest
// matches spec.Sum. Without a Sum nothing can prove that, and it reports
// false. It reads the whole file, and stops with ctx.Err() when ctx is
// done: a multi-gigabyte hash does not outlive Ctrl-C.
func Complete(ctx context.Context, root *os.Root, spec Spec) (bool, error) {
	if spec.Hash == nil || spec.Sum == nil {
		return false, nil
	}
	f, err := dest.OpenRegular(root, spec.Path, os.O_RDONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, dest.ErrNotRegular) {
			return false, nil
		}
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || spec.Size >= 0 && st.Size() != spec.Size {
		return false, err
	}
	h := spec.Hash()
	// A pooled buffer, as verify's: ctxReader hides any WriterTo, so
	// io.Copy would allocate 32 KiB for every file a rerun checks.
	bp := completeBufs.Get().(*[]byte)
	defer completeBufs.Put(bp)
	if _, err := io.CopyBuffer(h, ctxReader{ctx, f}, *bp); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), spec.Sum), nil
}

// completeBufs are Complete's read buffers.
var completeBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// ctxReader reads from r until ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// SyncDir fsyncs directory dir under root, making renames in it durable.
// On Windows, which cannot fsync a directory, it does nothing
// (state.SyncDir).
func SyncDir(root *os.Root, dir string) error { return dest.SyncDir(root, dir) }
