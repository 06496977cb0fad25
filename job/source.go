package job

import (
	"errors"
	"fmt"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/segdl"
	"github.com/bulkdl/bulkdl/state"
)

// source adapts the runner to scheduler.Source over the files to fetch.
type source struct {
	r       *runner
	todo    []int
	started int
}

func (s *source) Len() int { return len(s.todo) }

func (s *source) Host(k int) string { return s.r.hosts[s.todo[k]] }

func (s *source) Start(k int, notify func()) *segdl.Download {
	i := s.todo[k]
	r := s.r
	d := segdl.New(r.root, r.spec(i), r.cfg, notify)
	r.mu.Lock()
	r.active[i] = d
	r.index[d] = i
	r.res.Files[i].Start = time.Now()
	r.mu.Unlock()
	if s.started++; s.started == len(s.todo) {
		// The last batch need not wait for files that will not come.
		r.cfg.Publisher.NoMore()
	}
	return d
}

func (s *source) Finished(k int, d *segdl.Download) { s.r.finished(s.todo[k], d) }

// settle reports the downloads that ended after the scheduler returned
// (published by the Publisher's last batch).
func (r *runner) settle() {
	r.mu.Lock()
	ended := map[int]*segdl.Download{}
	for i, d := range r.active {
		select {
		case <-d.Done():
			ended[i] = d
		default:
		}
	}
	r.mu.Unlock()
	for i, d := range ended {
		r.finished(i, d)
	}
}

// published records a batch of files whose renames are durable, in one
// write to the state log; validators with the digest of the URL that gave
// them.
func (r *runner) published(ds []*segdl.Download) {
	recs := make([]state.Record, 0, len(ds))
	r.mu.Lock()
	for _, d := range ds {
		i, ok := r.index[d]
		if !ok {
			continue
		}
		f := &r.m.Files[i]
		etag, lastMod := d.Validator()
		rec := state.Record{Path: f.Path, Size: d.Progress().Size, ModTime: d.ModTime().UnixNano(),
			Checksum: sumText(f, d.Sum()), ETag: etag, LastModified: lastMod}
		if etag != "" || lastMod != "" {
			rec.URL = state.URLDigest(f.URL) // the validators belong to this URL
		}
		recs = append(recs, rec)
	}
	r.mu.Unlock()
	if err := r.store.PutAll(recs); err != nil {
		r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%d file(s) not recorded in the state (the next run checks them again): %v", len(recs), err)})
	}
}

// undurable warns of files published whose directory could not be synced:
// at their paths, complete and verified, but not recorded in the state,
// since a power loss could undo their names; the next run checks them.
func (r *runner) undurable(ds []*segdl.Download, err error) {
	r.emit(Event{Kind: EventWarning, Text: fmt.Sprintf("%d file(s) not recorded in the state (the next run checks them again): syncing their directory: %v", len(ds), redact.Escape(r.redact.Replace(err.Error())))})
}

// finished accounts for file i's ended download.
func (r *runner) finished(i int, d *segdl.Download) {
	p := d.Progress()
	r.mu.Lock()
	delete(r.active, i)
	delete(r.index, d)
	res := &r.res.Files[i]
	r.tot.add(res, -1)
	res.Attempts, res.Fetched, res.Duration = p.Requests, p.Received, time.Since(res.Start)
	r.res.Received += p.Received
	r.done++
	if err := d.Err(); err != nil {
		res.Outcome, res.Err = Failed, redact.Escape(r.redact.Replace(err.Error()))
		if errors.Is(err, segdl.ErrInterrupted) {
			res.Outcome = Pending
		}
	} else if d.NotModified() {
		res.Outcome = Skipped
		res.Size, _, _ = state.Stat(r.root, r.m.Files[i].Path)
	} else {
		res.Outcome, res.Sum, res.Size = Downloaded, d.Sum(), p.Size
		if c := &r.m.Files[i].Checksum; !c.IsZero() {
			// Verified equal to the manifest's: one copy, not two, stays
			// live to the end (3 MB the collector marks at 100,000 files).
			res.Sum = c.Sum
		}
	}
	r.tot.add(res, 1)
	outcome, msg := res.Outcome, res.Err
	r.mu.Unlock()
	if outcome == Failed {
		r.emit(Event{Kind: EventFailed, File: i, Text: msg})
	}
}

// sumText is "algo:hex" of sum, a digest of f: by the manifest's algorithm
// if it gives a checksum, else sha256, which a download computes then.
func sumText(f *manifest.File, sum []byte) string {
	c := manifest.Checksum{Algo: "sha256", Sum: sum}
	if !f.Checksum.IsZero() {
		c.Algo = f.Checksum.Algo
	}
	return c.String()
}
