package job

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/state"
)

// vouch is what a record of another run lets this run do with a file.
type vouch struct {
	act Action // Skip or Conditional
	rec state.Record
}

// vouchFromOthers looks, for the files at idx (those this run's own state
// did not spare a hash or a fetch), for a record that another run (a
// shard of another split, or a run of the whole manifest) wrote into
// dest, and returns what such a record lets this run do instead: skip a
// file with a checksum without hashing it, or fetch one without a
// checksum conditionally. After a change of -shard N, the files that
// shards of the old split completed are found here.
//
// A record from another log is trusted exactly as far as this run's own:
// bulkdl writes one only after it published and verified the file at its
// path, and Decide accepts it only if the size and mtime at the path are
// still the recorded ones, and its checksum is the manifest's (or, for a
// conditional request, its validators came from this file's URL). Which
// process wrote it, and whether that process still runs, does not enter
// into that argument, so the logs are read without their locks (a line
// being appended at that moment is torn and skipped). See docs/sharding.md.
//
// Only the logs that can hold a record of these paths are read: shard K
// of a split N records only the paths that hash to K modulo N, so a
// shard of the new split reads N_old/gcd(N_old, N_new) of the old
// split's logs (one when N doubles), and keeps only the records of its
// own files in memory. A log that cannot be read costs hashing or
// fetching its files, as before. disks[i] is what is at file i's path.
func vouchFromOthers(root *os.Root, own Shard, m *manifest.Manifest, idx []int, disks []OnDisk, p Policy) map[int]vouch {
	need := map[string]bool{}
	for _, i := range idx {
		if disks[i].Exists {
			need[m.Files[i].Path] = true
		}
	}
	if len(need) == 0 {
		return nil
	}
	found := othersRecords(root, own, func(s Shard) bool { return mayHold(s, need) }, func(p string) bool { return need[p] }, false)
	out := map[int]vouch{}
	for _, i := range idx {
		f := &m.Files[i]
		for _, rec := range found[f.Path] {
			if act := Decide(f, disks[i], rec, true, p); act == Skip || act == Conditional {
				out[i] = vouch{act, rec}
				break
			}
		}
	}
	return out
}

// mayHold reports whether the log of shard s can hold a record of one of
// the paths: a shard records only its own files; a run of the whole
// manifest (s.N == 0) any.
func mayHold(s Shard, paths map[string]bool) bool {
	if s.N <= 1 {
		return true
	}
	for p := range paths {
		if s.Has(p) {
			return true
		}
	}
	return false
}

// othersToPrune returns, by path, the records that other runs wrote into
// dest of files that the manifest no longer lists (listed is false) and
// that this run owns now: after N changes, the shard that owns such a
// path prunes it, as the shard that wrote it would have. It reads every
// log that can hold a path of this shard (see overlaps).
func othersToPrune(root *os.Root, own Shard, listed map[string]bool) map[string][]state.Record {
	return othersRecords(root, own, func(s Shard) bool { return overlaps(own, s.K, s.N) }, func(p string) bool { return !listed[p] && own.Has(p) }, true)
}

// othersRecords reads, without their locks, the logs of the other runs
// into dest whose shard may accepts, and returns by path the records of
// the paths keep accepts. A log that cannot be read is passed over. For
// prune, records of files bulkdl found rather than wrote are left out.
func othersRecords(root *os.Root, own Shard, may func(Shard) bool, keep func(p string) bool, prune bool) map[string][]state.Record {
	logs, _ := state.Logs(root)
	out := map[string][]state.Record{}
	for _, name := range logs {
		k, n, ok := state.ShardOf(name)
		if !ok || name == own.Name() || !may(Shard{uint64(k), uint64(n)}) {
			continue
		}
		st, err := state.ReadPaths(root, name, keep)
		if err != nil {
			continue
		}
		for _, p := range st.Paths() {
			rec, _ := st.Get(p)
			if rec.Found && prune {
				continue // found there, not written: never pruned
			}
			out[p] = append(out[p], rec)
		}
	}
	return out
}

// overlaps reports whether shard k of n (n == 0: a run of the whole
// manifest) and s can own a path in common: by the Chinese remainder
// theorem, when k and s.K agree modulo gcd(n, s.N).
func overlaps(s Shard, k, n uint64) bool {
	if n <= 1 || s.N <= 1 {
		return true
	}
	a, b := n, s.N
	for b != 0 {
		a, b = b, a%b
	}
	return k%a == s.K%a
}

// unchanged reports whether the file at p is there, and whether it is
// still the one one of recs describes (same size and modification time).
func unchanged(root *os.Root, p string, recs []state.Record) (same, exists bool) {
	size, mtime, err := state.Stat(root, p)
	if err != nil {
		return false, !errors.Is(err, fs.ErrNotExist)
	}
	for _, rec := range recs {
		if rec.Size == size && rec.ModTime == mtime {
			return true, true
		}
	}
	return false, true
}

// pruneOthers prunes what othersToPrune finds: a file still as one of its
// records describes it is deleted; one changed since is someone's own now
// and is kept (without a word: the record is another run's and stays, so
// every run would say it again).
func (r *runner) pruneOthers(listed map[string]bool) {
	for p, recs := range othersToPrune(r.root, r.opts.Shard, listed) {
		if same, _ := unchanged(r.root, p, recs); !same {
			continue
		}
		if err := r.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune %s: %v", redact.Escape(p), err)})
			continue
		}
		if err := r.store.Forget(p); err != nil {
			r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("prune %s: %v", redact.Escape(p), err)})
		}
		r.res.Pruned++
		r.prunedFrom(p)
	}
}

// dryPruneOthers returns, sorted, what pruneOthers would delete.
func dryPruneOthers(root *os.Root, store *state.Store, own Shard, listed map[string]bool) []string {
	found := othersToPrune(root, own, listed)
	paths := make([]string, 0, len(found))
	for p := range found {
		if _, mine := store.Get(p); !mine {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var out []string
	for _, p := range paths {
		if same, _ := unchanged(root, p, found[p]); same {
			out = append(out, p)
		}
	}
	return out
}
