package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/bulkdl/bulkdl/redact"
)

// Report is the JSON report -report writes. Its schema is documented in
// docs/report.md; fields are only ever added.
type Report struct {
	Version     int          `json:"version"`
	Manifest    string       `json:"manifest"`
	Dest        string       `json:"dest"`
	Started     time.Time    `json:"started"`
	Duration    float64      `json:"duration_seconds"`
	Interrupted bool         `json:"interrupted"`
	Totals      ReportTotals `json:"totals"`
	Hosts       []ReportHost `json:"hosts"`
	Files       []ReportFile `json:"files"`
}

// ReportTotals sums the files.
type ReportTotals struct {
	Files        int   `json:"files"`
	Downloaded   int   `json:"downloaded"`
	Skipped      int   `json:"skipped"`
	Failed       int   `json:"failed"`
	Pending      int   `json:"pending"`
	Bytes        int64 `json:"bytes"`
	BytesFetched int64 `json:"bytes_fetched"`
}

// ReportHost says whether a host pushed back.
type ReportHost struct {
	Host      string `json:"host"`
	Cap       int    `json:"cap"`
	MinCap    int    `json:"min_cap"`
	Throttled bool   `json:"throttled"`
}

// ReportFile is one file's outcome.
type ReportFile struct {
	URL          string  `json:"url"`
	Path         string  `json:"path"`
	Size         int64   `json:"size"`
	Checksum     string  `json:"checksum,omitempty"`
	Status       string  `json:"status"`
	Attempts     int64   `json:"attempts"`
	BytesFetched int64   `json:"bytes_fetched"`
	Duration     float64 `json:"duration_seconds"`
	Error        string  `json:"error,omitempty"`
}

// writeReport writes the report atomically: a temporary file beside it,
// then a rename.
func writeReport(name string, r *runner, interrupted bool) error {
	r.mu.Lock()
	rep := Report{Version: 1, Manifest: r.m.Name, Dest: r.m.Dest, Started: r.started.UTC().Round(time.Millisecond),
		Duration: time.Since(r.started).Seconds(), Interrupted: interrupted, Files: make([]ReportFile, 0, r.inShard)}
	for i := range r.m.Files {
		f, res := &r.m.Files[i], &r.results[i]
		if res.status == "other-shard" {
			continue
		}
		rf := ReportFile{URL: redact.URL(f.URL), Path: f.Path, Size: res.size, Status: res.status,
			Attempts: res.attempts, BytesFetched: res.fetched, Duration: res.duration.Seconds(), Error: res.err}
		if res.sum != nil {
			algo := "sha256"
			if !f.Checksum.IsZero() {
				algo = f.Checksum.Algo
			}
			rf.Checksum = algo + ":" + hex.EncodeToString(res.sum)
		}
		rep.Files = append(rep.Files, rf)
		t := &rep.Totals
		t.Files++
		t.BytesFetched += res.fetched
		switch res.status {
		case "downloaded":
			t.Downloaded++
			t.Bytes += res.size
		case "skipped", "verified":
			t.Skipped++
			t.Bytes += res.size
		case "failed", "missing", "mismatch":
			t.Failed++
		default:
			t.Pending++
		}
	}
	r.mu.Unlock()
	if r.sched != nil {
		for _, h := range r.sched.Hosts() {
			rep.Hosts = append(rep.Hosts, ReportHost{Host: redact.Escape(h.Host), Cap: h.ConfigCap, MinCap: h.MinCap, Throttled: h.MinCap < h.ConfigCap})
		}
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".bulkdl-report-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
