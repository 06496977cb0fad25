package job

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/state"
)

// Verify checks, offline, every file of m that shard takes at its path in
// m.Dest: present, of the manifest's size, and matching its checksum
// (Verified, Unverified without one, Missing, Mismatch). It reads every
// file (the state log is not trusted here), takes no lock and writes
// nothing. Cancelling ctx stops the hashing; the files not checked stay
// Pending. A non-nil error is a *SetupError: dest cannot be opened.
func Verify(ctx context.Context, m *manifest.Manifest, shard Shard) (*Result, error) {
	r := newRunner(m, "verify", Options{Shard: shard})
	defer r.finishResult()
	root, err := os.OpenRoot(m.Dest)
	if err != nil {
		r.res.SetupErr = err.Error()
		return r.res, &SetupError{Msg: fmt.Sprintf("dest %s: %v", m.Dest, err), err: err}
	}
	defer root.Close()
	r.root = root
	var idx []int
	for i := range m.Files {
		if r.res.Files[i].Outcome != OtherShard {
			idx = append(idx, i)
		}
	}
	eachParallel(ctx, idx, func(i int) { r.verifyOne(ctx, i) })
	r.res.Interrupted = ctx.Err() != nil
	return r.res, nil
}

func (r *runner) verifyOne(ctx context.Context, i int) {
	f := &r.m.Files[i]
	res := &r.res.Files[i]
	name := redact.Escape(f.Path)
	size, _, err := state.Stat(r.root, f.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		res.Outcome, res.Err = Missing, name+": not in dest"
		return
	case err != nil:
		res.Outcome, res.Err = Missing, fmt.Sprintf("%s: %v", name, err)
		return
	}
	res.Size = size
	if f.Size >= 0 && size != f.Size {
		res.Outcome, res.Err = Mismatch, fmt.Sprintf("%s: %d bytes, manifest says %d", name, size, f.Size)
		return
	}
	if f.Checksum.IsZero() {
		res.Outcome = Unverified
		return
	}
	ok, err := segdl.Complete(ctx, r.root, r.specs.spec(f))
	switch {
	case ctx.Err() != nil:
		// Not checked: stays pending.
	case err != nil:
		res.Outcome, res.Err = Mismatch, fmt.Sprintf("%s: %v", name, err)
	case !ok:
		res.Outcome, res.Err = Mismatch, fmt.Sprintf("%s: %s checksum differs from the manifest", name, f.Checksum.Algo)
	default:
		res.Outcome, res.Sum = Verified, f.Checksum.Sum
	}
}
