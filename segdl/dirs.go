package segdl

import (
	"os"
	"sync"

	dest "github.com/bulkdl/bulkdl/state"
)

// dirs shares open directories among the downloads of a Publisher. A
// file without a name (openAnon) is created at an open directory and
// named with a link into one; each such download holds its directory
// from the moment its file is created until the file is named or gone,
// so that a directory is opened once for all the files written into it at
// the same time, not once per file, and publishing needs no new file
// descriptor in the usual case (which could fail, with the file's bytes
// only in its descriptor). Publishing does open one when the directory
// at the path is no longer the one held (see pubDir.handle), and
// replacing a file already at the path renames through the root.
type dirs struct {
	mu   sync.Mutex
	open map[string]*dirRef
}

// dirRef is an open directory and how many downloads hold it.
type dirRef struct {
	f    *os.File
	name string
	refs int
	ds   *dirs // nil: held by one download alone
}

// acquire opens dir under root, or shares its open handle. ds may be nil
// (a download without a Publisher).
func (ds *dirs) acquire(root *os.Root, dir string) (*dirRef, error) {
	if ds == nil {
		f, err := dest.OpenDir(root, dir)
		if err != nil {
			return nil, err
		}
		return &dirRef{f: f, name: dir, refs: 1}, nil
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if r := ds.open[dir]; r != nil {
		r.refs++
		return r, nil
	}
	f, err := dest.OpenDir(root, dir)
	if err != nil {
		return nil, err
	}
	if ds.open == nil {
		ds.open = map[string]*dirRef{}
	}
	r := &dirRef{f: f, name: dir, refs: 1, ds: ds}
	ds.open[dir] = r
	return r, nil
}

// release gives back a handle from acquire; the last holder closes it.
// It does nothing on nil.
func (r *dirRef) release() {
	if r == nil {
		return
	}
	if r.ds != nil {
		r.ds.mu.Lock()
		defer r.ds.mu.Unlock()
	}
	r.refs--
	if r.refs > 0 {
		return
	}
	if r.ds != nil && r.ds.open[r.name] == r {
		delete(r.ds.open, r.name)
	}
	r.f.Close()
}

// forget takes r out of the shared handles, so that the next acquire of
// its directory opens the path again; its holders keep it until they
// release it.
func (r *dirRef) forget() {
	if r.ds == nil {
		return
	}
	r.ds.mu.Lock()
	defer r.ds.mu.Unlock()
	if r.ds.open[r.name] == r {
		delete(r.ds.open, r.name)
	}
}
