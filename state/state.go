// Package state records what bulkdl wrote into a destination directory, so
// that reruns are cheap: a file bulkdl published and verified, whose size
// and modification time are unchanged, need not be read again; a file
// without a checksum can be fetched conditionally with its recorded
// validator; and -prune knows which files bulkdl created.
//
// The store is an append-only log of JSON lines in DEST/.bulkdl/state.jsonl,
// guarded by an exclusive lock on DEST/.bulkdl/lock so that one run at a
// time writes it (shards of one split share the destination, each with its
// own log; see Open). Each record is written with one write(2) to a file opened
// with O_APPEND, so it survives SIGKILL at any moment; Sync makes the log
// durable against power loss (a run calls it at the end). A torn last line
// does not parse and is ignored, and a missing record only costs hashing
// that file once more: the log never makes bulkdl trust bytes it should
// not. Open compacts the log when most of its lines are superseded.
package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"sync"
)

// Dir is the directory under dest that holds bulkdl's state.
const Dir = ".bulkdl"

// ErrLocked means another bulkdl run holds the destination.
var ErrLocked = errors.New("state: another bulkdl run is using this destination")

// Record is what bulkdl knows of one file it published.
type Record struct {
	Path         string `json:"p"`
	Size         int64  `json:"s"`
	ModTime      int64  `json:"m"`           // modification time, Unix nanoseconds
	Checksum     string `json:"c,omitempty"` // "algo:hex", verified when written
	ETag         string `json:"e,omitempty"`
	LastModified string `json:"l,omitempty"`
	URL          string `json:"u,omitempty"` // URLDigest of the URL the validators came from
	Deleted      bool   `json:"d,omitempty"` // the file was pruned
	// Found: the file was at its path before bulkdl wrote it (hashed and
	// matching its checksum); prune never deletes it. Records of older
	// versions, without the field, are of files bulkdl wrote.
	Found bool `json:"f,omitempty"`
}

// Store is an open state log. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	logName string
	root    *os.Root
	locks   *lockSet
	log     *os.File
	records map[string]Record
	// readOnly: opened by Read, without the lock; never written.
	readOnly bool
	// keep, if set, selects the paths load keeps (ReadPaths), and those
	// whose records PutAll keeps in memory (Retain).
	keep func(p string) bool
}

// Open takes the destination's locks and loads its state. It fails with
// ErrLocked at once, without waiting, if a run that may not run beside
// this one holds them. The locks are flocks (LockFileEx on Windows), so
// those of a killed run are released by the kernel.
//
// name, if not empty, names a separate log, "shard-K-of-N" for shard K of
// a manifest split N ways: the shards of one split write disjoint files
// into a shared destination at the same time, each with its own state. A
// run of the whole manifest (name "") excludes every shard, and shards of
// different splits exclude each other (see lockSet).
func Open(root *os.Root, name string) (*Store, error) {
	logName := logFile(name)
	k, n := 0, 0
	if name != "" {
		var ok bool
		if k, n, ok = parseShardName(name); !ok {
			return nil, fmt.Errorf("state: %q is not a shard name (shard-K-of-N)", name)
		}
	}
	if err := root.MkdirAll(Dir, 0o755); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	locks, err := lock(root, k, n)
	if err != nil {
		return nil, err
	}
	s := &Store{root: root, locks: locks, records: map[string]Record{}, logName: logName}
	lines, overlong, err := s.load()
	if err != nil {
		locks.release()
		return nil, err
	}
	if lines > 1000 && lines > 2*len(s.records) || overlong {
		if err := s.compact(); err != nil {
			locks.release()
			return nil, err
		}
	}
	s.log, err = OpenRegular(root, s.logName, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		locks.release()
		return nil, fmt.Errorf("state: %w", err)
	}
	return s, nil
}

// load reads the log; unparsable lines (a torn last write) are skipped,
// and so is a line longer than maxLine (garbage: no record is near it),
// without holding it in memory; overlong reports one, which Open
// compacts away.
func (s *Store) load() (lines int, overlong bool, err error) {
	f, err := OpenRegular(s.root, s.logName, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("state: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, maxLine)
	last := byte('\n')
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			overlong = true
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n') // the rest of it, dropped
			}
			last = '\n'
			if len(line) > 0 {
				last = line[len(line)-1]
			}
			lines++
			line = nil
		}
		if len(line) > 0 {
			last = line[len(line)-1]
			lines++
			var rec Record
			if json.Unmarshal(bytes.TrimSpace(line), &rec) == nil && rec.Path != "" && (s.keep == nil || s.keep(rec.Path)) {
				if rec.Deleted {
					delete(s.records, rec.Path)
				} else {
					s.records[rec.Path] = rec
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, false, fmt.Errorf("state: %w", err)
		}
	}
	if last != '\n' && !s.readOnly {
		// End a torn last line so that the next record starts clean.
		if f, err := OpenRegular(s.root, s.logName, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			f.Write([]byte{'\n'})
			f.Close()
		}
	}
	return lines, overlong, nil
}

// maxLine bounds a line of the log that is read: a record's is a few
// hundred bytes, a few KiB with the longest path.
const maxLine = 256 << 10

// compact rewrites the log with one line per live record, atomically.
// Only Open calls it, before any Retain: after Retain the records in
// memory are not all the log holds, and a compaction would erase the rest.
func (s *Store) compact() error {
	if s.keep != nil {
		return errors.New("state: compacting a store that keeps only some records in memory would lose the others")
	}
	paths := make([]string, 0, len(s.records))
	for p := range s.records {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	err := WriteFile(s.root, s.logName, 0o644, func(w io.Writer) error {
		var b []byte
		for _, p := range paths {
			var err error
			if b, err = appendRecord(b[:0], s.records[p]); err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: compacting: %w", err)
	}
	return nil
}

// Get returns the record of path, if any.
func (s *Store) Get(p string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[p]
	return r, ok
}

// Paths returns every recorded path, sorted.
func (s *Store) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.records))
	for p := range s.records {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Put records r, in one write.
func (s *Store) Put(r Record) error { return s.PutAll([]Record{r}) }

// PutAll records rs in one write: a batch of files published together
// costs one write to the log.
func (s *Store) PutAll(rs []Record) error {
	n := 0
	for _, r := range rs {
		n += recordSize(r)
	}
	buf := make([]byte, 0, n)
	for _, r := range rs {
		var err error
		if buf, err = appendRecord(buf, r); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.log.Write(buf); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	for _, r := range rs {
		if r.Deleted {
			delete(s.records, r.Path)
		} else if s.keep == nil || s.keep(r.Path) {
			s.records[r.Path] = r
		}
	}
	return nil
}

// Retain keeps in memory only the records of the paths keep accepts: it
// drops the others now, and PutAll then writes the others to the log
// alone. Get and Paths answer for the accepted paths only. A run calls it
// once its plan has read the records it needs: at 100,000 files, the
// records a run writes are some 30 MB that nothing would read again, and
// every garbage collection would mark.
func (s *Store) Retain(keep func(p string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keep = keep
	// A new map: a Go map never shrinks, and the old one's table would
	// stay for every collection to scan.
	kept := make(map[string]Record)
	for p, r := range s.records {
		if keep(p) {
			kept[p] = r
		}
	}
	s.records = kept
}

// Forget records that path no longer exists.
func (s *Store) Forget(p string) error { return s.Put(Record{Path: p, Deleted: true}) }

// Sync makes every record written so far durable.
func (s *Store) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Sync()
}

// Close syncs the log and releases the lock.
func (s *Store) Close() error {
	err := s.Sync()
	s.log.Close()
	s.locks.release()
	return err
}

// Stat returns the record fields that describe the file at p now, for
// comparing with or making a Record.
func Stat(root *os.Root, p string) (size, modTime int64, err error) {
	st, err := root.Stat(path.Clean(p))
	if err != nil {
		return 0, 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, 0, fmt.Errorf("%s is not a regular file", p)
	}
	return st.Size(), st.ModTime().UnixNano(), nil
}
