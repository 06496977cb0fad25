package job

import (
	"sort"
	"time"

	"github.com/bulkdl/bulkdl/segdl"
)

// Observer receives a run's events: a display subscribes with one. Observe
// is called from the run's goroutines, possibly at once, and must return
// quickly.
type Observer interface {
	Observe(Event)
}

// EventKind says what happened.
type EventKind int

const (
	// EventPlanned: the run decided what to fetch (Plan) and starts;
	// Status is its live state until Run returns.
	EventPlanned EventKind = iota
	// EventFailed: file File failed; Text says why (redacted, escaped).
	EventFailed
	// EventHostDown: Host was found down after Failures connection
	// failures in a row; its remaining files fail without more tries.
	EventHostDown
	// EventLog: Text is a verbose line (request, response, redirect,
	// retry), escaped (redact.Escape).
	EventLog
	// EventWarning: Text is something the user should know that does
	// not fail a file (prune kept a changed file, a state write failed).
	EventWarning
)

// Event is one thing that happened in a run.
type Event struct {
	Kind     EventKind
	File     int // index in the manifest
	Text     string
	Host     string
	Failures int
	Plan     *Plan
	Status   *Status
}

// Plan describes a run about to start.
type Plan struct {
	Files      int   // files of this shard
	ToFetch    int   // of which the run fetches (or asks whether changed)
	KnownBytes int64 // their sizes, where known
	Unknown    int   // files of unknown size
	Hosts      int
}

// Status is the live state of a run, for a display to poll.
type Status struct{ r *runner }

// Snapshot is a run's state at one moment.
type Snapshot struct {
	DoneBytes  int64 // bytes complete: finished files and what active ones wrote
	TotalBytes int64 // the sizes known: from the manifest or the server
	Unknown    int   // files whose size nobody has said yet
	Files      int   // files of this shard
	Done       int   // files finished, whatever their outcome
	Failed     int
	Received   int64        // bytes received over the network
	Active     []ActiveFile // most connections first
}

// ActiveFile is a file being fetched.
type ActiveFile struct {
	Path          string
	Written, Size int64 // Size -1 if unknown
	Conns         int
	WaitUntil     time.Time // waiting for a retry until then
	WaitFor       error     // why
}

// Snapshot returns the run's state now.
func (s *Status) Snapshot() Snapshot {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	prog := make(map[int]segdl.Progress, len(r.active))
	for i, dl := range r.active {
		prog[i] = dl.Progress()
	}
	return r.snapshotLocked(prog)
}

// snapshotLocked sums the run's state, with prog the progress of each
// active file. r.mu is held.
func (r *runner) snapshotLocked(prog map[int]segdl.Progress) Snapshot {
	if !r.totOK {
		r.tot, r.totOK = tally(r.res.Files), true
	}
	// The running totals, not a walk of every file: a snapshot costs the
	// same for 100 files as for 100,000.
	s := Snapshot{Files: r.res.InShard, Done: r.done, Failed: r.tot.failed, Received: r.res.Received,
		DoneBytes: r.tot.done, TotalBytes: r.tot.known, Unknown: r.tot.unknown}
	for i, p := range prog {
		var t totals
		t.add(&r.res.Files[i], 1) // its share above, replaced by what the server said
		s.DoneBytes, s.TotalBytes, s.Unknown = s.DoneBytes-t.done, s.TotalBytes-t.known, s.Unknown-t.unknown
		size := p.Size
		if size < 0 {
			size = r.res.Files[i].Size // the manifest's, until the server says
		}
		s.DoneBytes += p.Written
		s.Received += p.Received
		if size >= 0 {
			s.TotalBytes += size
		} else {
			s.Unknown++
		}
		s.Active = append(s.Active, ActiveFile{Path: r.m.Files[i].Path, Written: p.Written, Size: size, Conns: p.Active,
			WaitUntil: p.WaitUntil, WaitFor: p.WaitFor})
	}
	sort.Slice(s.Active, func(i, j int) bool {
		return s.Active[i].Conns > s.Active[j].Conns || s.Active[i].Conns == s.Active[j].Conns && s.Active[i].Path < s.Active[j].Path
	})
	return s
}
