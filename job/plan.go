package job

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sync"

	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/state"
)

// plan decides, by Decide, what the run does with each file of this shard
// (from its own state log, or another shard's: vouchFromOthers), hashes
// those that need it (several at once), and returns the files to fetch in
// manifest order; the others are marked skipped.
func (r *runner) plan(ctx context.Context) []int {
	var hash, unsure []int
	todo := make([]int, 0, len(r.m.Files))
	skip := make([]bool, len(r.m.Files))
	policy := Policy{Verify: r.opts.Verify, SkipExisting: r.m.Settings.SkipExisting}
	// What is at each path, stat'ed once (or ruled out by a listing of
	// its directory): the decisions below and the report reuse it.
	disks := make([]OnDisk, len(r.m.Files))
	ls := &lister{root: r.root}
	for i := range r.m.Files {
		if r.res.Files[i].Outcome != OtherShard {
			ls.expect(r.m.Files[i].Path)
		}
	}
	for i := range r.m.Files {
		f := &r.m.Files[i]
		if r.res.Files[i].Outcome == OtherShard {
			skip[i] = true
			continue
		}
		rec, recorded := r.store.Get(f.Path)
		disks[i] = ls.onDisk(f.Path)
		act := Decide(f, disks[i], rec, recorded, policy)
		switch act {
		case Skip, Trust:
			skip[i] = true
		case Hash:
			hash = append(hash, i)
		case Conditional:
			r.conditional[i] = rec
		}
		if act == Hash || act == Fetch {
			unsure = append(unsure, i)
		}
	}
	// Records of other runs into dest (shards of another split) may spare
	// these a hash or a fetch; adopted into this run's own log, they spare
	// the next run of this shard reading other logs.
	for i, v := range vouchFromOthers(r.root, r.opts.Shard, r.m, unsure, disks, policy) {
		if err := r.store.Put(v.rec); err != nil {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%s: not recorded in the state (the next run checks it again): %v", redact.Escape(v.rec.Path), err)})
		}
		if v.act == Skip {
			skip[i] = true
		} else {
			r.conditional[i] = v.rec
		}
	}
	hash = slices.DeleteFunc(hash, func(i int) bool { return skip[i] })
	eachParallel(ctx, hash, func(i int) {
		ok, err := segdl.Complete(ctx, r.root, r.spec(i))
		switch {
		case err != nil && ctx.Err() == nil:
			// Fetched again below, which replaces it; say why it was not kept.
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%s: %v; fetching it again", redact.Escape(r.m.Files[i].Path), r.redact.Replace(err.Error()))})
		case ok:
			skip[i] = true
			r.record(i, disks[i])
		}
	})
	for i := range r.m.Files {
		res := &r.res.Files[i]
		if res.Outcome == OtherShard {
			continue
		}
		if !skip[i] {
			todo = append(todo, i)
			continue
		}
		res.Outcome = Skipped
		if !r.m.Files[i].Checksum.IsZero() {
			res.Sum = r.m.Files[i].Checksum.Sum
		}
		if disks[i].Exists {
			res.Size = disks[i].Size
		}
		r.done++
	}
	r.mu.Lock()
	r.tot, r.totOK = tally(r.res.Files), true
	r.mu.Unlock()
	return todo
}

// planSummary describes the run about to start.
func (r *runner) planSummary(toFetch int) *Plan {
	p := &Plan{Files: r.res.InShard, ToFetch: toFetch}
	hosts := map[string]bool{}
	for i := range r.m.Files {
		res := &r.res.Files[i]
		if res.Outcome == OtherShard {
			continue
		}
		if res.Size >= 0 {
			p.KnownBytes += res.Size
		} else {
			p.Unknown++
		}
		hosts[r.hosts[i]] = true
	}
	p.Hosts = len(hosts)
	return p
}

// record writes that file i, as disk found it before it was hashed, has
// the manifest's checksum. Unless bulkdl recorded writing this very file
// (same size and mtime), it is one bulkdl found there: Found.
func (r *runner) record(i int, disk OnDisk) {
	f := &r.m.Files[i]
	prev, had := r.store.Get(f.Path)
	wrote := had && !prev.Found && prev.Size == disk.Size && prev.ModTime == disk.ModTime
	rec := state.Record{Path: f.Path, Size: disk.Size, ModTime: disk.ModTime, Checksum: f.Checksum.String(), Found: !wrote}
	if err := r.store.Put(rec); err != nil {
		r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%s: not recorded in the state (the next run checks it again): %v", redact.Escape(f.Path), err)})
	}
}

// prune deletes files bulkdl recorded that the manifest no longer lists.
// It never touches a file bulkdl did not create (one it found at its path
// and only hashed: Found), nor one changed since bulkdl wrote it (its
// size or modification time differ from the record): that is someone's
// own content now.
func (r *runner) prune() {
	listed := make(map[string]bool, len(r.m.Files))
	for i := range r.m.Files {
		listed[r.m.Files[i].Path] = true
	}
	forget := func(p string) {
		if err := r.store.Forget(p); err != nil {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune %s: %v", redact.Escape(p), err)})
		}
	}
	for _, p := range r.store.Paths() {
		if listed[p] {
			continue
		}
		rec, _ := r.store.Get(p)
		if rec.Found {
			forget(p) // not bulkdl's to delete; nothing to record of it any more
			continue
		}
		size, mtime, err := state.Stat(r.root, p)
		if err == nil && (size != rec.Size || mtime != rec.ModTime) {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune: kept %s: it changed since bulkdl wrote it", redact.Escape(p))})
			forget(p)
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune %s: %v", redact.Escape(p), err)})
			continue
		}
		if err := r.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune %s: %v", redact.Escape(p), err)})
			continue
		}
		forget(p)
		r.res.Pruned++
		r.prunedFrom(p)
	}
	r.pruneOthers(listed)
}

// prunedFrom removes the directories that pruning p left empty, up to
// dest (one the manifest now names as a file's path would otherwise stop
// that file for good), and syncs the first one left.
func (r *runner) prunedFrom(p string) {
	dir := path.Dir(p)
	for dir != "." && dir != "/" {
		if r.root.Remove(dir) != nil {
			break // not empty: it stays
		}
		dir = path.Dir(dir)
	}
	r.dirs.add(dir)
}

// dirSet collects the directories that published files went to, so that
// each is fsynced once.
type dirSet struct {
	mu   sync.Mutex
	dirs map[string]struct{}
}

func (s *dirSet) add(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs == nil {
		s.dirs = map[string]struct{}{}
	}
	s.dirs[dir] = struct{}{}
}

// sync fsyncs every directory added, and returns the first error.
func (s *dirSet) sync(root *os.Root) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for dir := range s.dirs {
		if err := segdl.SyncDir(root, dir); err != nil && first == nil && !errors.Is(err, fs.ErrNotExist) {
			first = err
		}
	}
	s.dirs = nil
	return first
}
