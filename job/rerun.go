package job

import (
	"fmt"
	"os"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/state"
)

// Action is what a run does with a file of the manifest.
type Action int

const (
	Fetch       Action = iota // not at its path, or nothing tells that it is complete
	Skip                      // recorded as verified, and unchanged since
	Trust                     // at its path without a checksum; skip_existing trusts it
	Hash                      // at its path with a checksum: hash it, fetch if it differs
	Conditional               // recorded with a validator: fetch if changed on the server
)

var actionNames = [...]string{Fetch: "fetch", Skip: "skip", Trust: "trust", Hash: "hash", Conditional: "conditional"}

func (a Action) String() string { return actionNames[a] }

// OnDisk is what is at a file's path in dest.
type OnDisk struct {
	Exists  bool
	Size    int64
	ModTime int64 // Unix nanoseconds, as state.Stat gives it
}

// Policy is what the user asked of a rerun.
type Policy struct {
	Verify       bool // re-hash files recorded as verified
	SkipExisting bool // trust files at their path that have no checksum
}

// Decide says what a run does with f, from what is at its path (disk) and
// what the state log recorded of it (rec, if recorded). It is the whole
// rerun policy, and reads nothing:
//
//   - not at its path, or of another size than the manifest's: fetch;
//   - with a checksum, recorded with that checksum, and its size and mtime
//     unchanged since: skip without reading it (unless Verify);
//   - with a checksum: hash it, and fetch if it differs;
//   - without a checksum and with SkipExisting: trust it;
//   - without a checksum, recorded unchanged with a validator (ETag or
//     Last-Modified) that the same URL gave: fetch it conditionally;
//   - otherwise fetch it again.
func Decide(f *manifest.File, disk OnDisk, rec state.Record, recorded bool, p Policy) Action {
	if !disk.Exists || f.Size >= 0 && disk.Size != f.Size {
		return Fetch // nothing of another size is kept: not trusted, not skipped on a 304
	}
	unchanged := recorded && rec.Size == disk.Size && rec.ModTime == disk.ModTime
	hasSum := !f.Checksum.IsZero()
	switch {
	case hasSum && unchanged && rec.Checksum == f.Checksum.String() && !p.Verify:
		return Skip
	case hasSum:
		return Hash
	case !hasSum && p.SkipExisting:
		return Trust
	case !hasSum && unchanged && (rec.ETag != "" || rec.LastModified != "") && rec.URL == state.URLDigest(f.URL):
		// Validators belong to the URL that gave them: another URL for
		// this path gets an unconditional request.
		return Conditional
	}
	return Fetch
}

// DryPlan is what a run would do, from dest and its state log.
type DryPlan struct {
	Files []PlannedFile // the files of the shard, in manifest order
	Prune []string      // with Prune: the files a run would delete
	// PruneOthers are the files a run would delete that another shard
	// wrote (after -shard N changed), with Prune.
	PruneOthers []string
}

// PlannedFile is what a run would do with one file.
type PlannedFile struct {
	File   int // index in the manifest
	Action Action
	Exists bool // something is at its path
}

// DryRun says what Run would do with each file of m that opts.Shard takes,
// and with opts.Prune what it would delete, by Decide, from what is in
// m.Dest and its state log; it makes no request and writes nothing. An
// error says the state could not be read: the plan then assumes none.
func DryRun(m *manifest.Manifest, opts Options) (*DryPlan, error) {
	plan := &DryPlan{}
	var store *state.Store
	var err error
	root, rerr := os.OpenRoot(m.Dest)
	if rerr == nil {
		defer root.Close()
		if store, err = state.Read(root, opts.Shard.Name()); err != nil {
			err = fmt.Errorf("reading the state in %s: %w", m.Dest, err)
		}
	}
	if store == nil {
		store = &state.Store{}
	}
	policy := Policy{Verify: opts.Verify, SkipExisting: m.Settings.SkipExisting}
	var unsure []int
	at := map[int]int{} // manifest index -> index in plan.Files
	disks := make([]OnDisk, len(m.Files))
	for i := range m.Files {
		f := &m.Files[i]
		if !opts.Shard.Has(f.Path) {
			continue
		}
		pf := PlannedFile{File: i, Action: Fetch}
		if root != nil {
			size, mtime, serr := state.Stat(root, f.Path)
			rec, recorded := store.Get(f.Path)
			disks[i] = OnDisk{Exists: serr == nil, Size: size, ModTime: mtime}
			pf.Action = Decide(f, disks[i], rec, recorded, policy)
			pf.Exists = disks[i].Exists
			if pf.Action == Hash || pf.Action == Fetch {
				unsure = append(unsure, i)
			}
		}
		at[i] = len(plan.Files)
		plan.Files = append(plan.Files, pf)
	}
	if root != nil {
		for i, v := range vouchFromOthers(root, opts.Shard, m, unsure, disks, policy) {
			plan.Files[at[i]].Action = v.act
		}
	}
	if opts.Prune && root != nil {
		listed := make(map[string]bool, len(m.Files))
		for i := range m.Files {
			listed[m.Files[i].Path] = true
		}
		for _, p := range store.Paths() {
			if listed[p] {
				continue
			}
			rec, _ := store.Get(p)
			if rec.Found {
				continue // found there, not written: never pruned
			}
			if same, _ := unchanged(root, p, []state.Record{rec}); !same {
				continue // already gone, or changed since: a run keeps it
			}
			plan.Prune = append(plan.Prune, p)
		}
		plan.PruneOthers = dryPruneOthers(root, store, opts.Shard, listed)
	}
	return plan, err
}
