package job

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/state"
)

// Report is the JSON report -report writes. Its schema is documented in
// docs/report.md; fields are only ever added.
type Report struct {
	Version     int          `json:"version"`
	Command     string       `json:"command"` // run or verify
	Manifest    string       `json:"manifest"`
	Shard       string       `json:"shard,omitempty"` // K/N, with -shard
	Dest        string       `json:"dest"`
	Started     time.Time    `json:"started"`
	Duration    float64      `json:"duration_seconds"`
	Interrupted bool         `json:"interrupted"`
	ExitCode    int          `json:"exit_code"`
	Error       string       `json:"error,omitempty"`  // why the run could not start
	Merged      *ReportMerge `json:"merged,omitempty"` // bulkdl report merge
	Totals      ReportTotals `json:"totals"`
	Hosts       []ReportHost `json:"hosts"`
	Files       []ReportFile `json:"files"`
}

// ReportMerge says what a merged report (bulkdl report merge) was made of.
type ReportMerge struct {
	Reports int      `json:"reports"` // reports merged
	Split   uint64   `json:"split"`   // N of the shards' -shard K/N; 1 for runs of the whole manifest
	Missing []string `json:"missing"` // shards of the split without a report, as K/N: their files are in no total
}

// ReportTotals sums the files.
type ReportTotals struct {
	Files        int   `json:"files"`
	Downloaded   int   `json:"downloaded"`
	Skipped      int   `json:"skipped"`
	Failed       int   `json:"failed"`
	Pending      int   `json:"pending"`
	Verified     int   `json:"verified"`   // verify: checksum matched
	Unverified   int   `json:"unverified"` // verify: present, size ok, no checksum
	Missing      int   `json:"missing"`    // verify: not in dest
	Mismatched   int   `json:"mismatched"` // verify: size or checksum differs
	Bytes        int64 `json:"bytes"`
	BytesFetched int64 `json:"bytes_fetched"`
}

// ReportHost says whether a host pushed back.
type ReportHost struct {
	Host      string `json:"host"`
	Cap       int    `json:"cap"`
	MinCap    int    `json:"min_cap"`
	Refusals  int    `json:"refusals"`       // 429 and 503 answers
	Throttled bool   `json:"throttled"`      // it refused: its cap fell, or (a cap of 1) its requests waited
	Down      bool   `json:"down,omitempty"` // found down: its files were failed without more tries
}

// ReportFile is one file's outcome.
type ReportFile struct {
	URL          string  `json:"url"`
	Path         string  `json:"path"`
	Size         int64   `json:"size"`
	Checksum     string  `json:"checksum,omitempty"`
	Status       string  `json:"status"`          // an Outcome
	Shard        string  `json:"shard,omitempty"` // merged reports: the shard that wrote this entry
	Attempts     int64   `json:"attempts"`
	BytesFetched int64   `json:"bytes_fetched"`
	Duration     float64 `json:"duration_seconds"`
	Error        string  `json:"error,omitempty"`
}

// NewReport describes res, a run's or a verification's result, which
// ended with exitCode.
func NewReport(res *Result, exitCode int) *Report {
	rep := reportHead(res, exitCode)
	rep.Files = make([]ReportFile, 0, res.InShard)
	for rf := range reportFiles(res) {
		rep.Files = append(rep.Files, *rf)
	}
	return rep
}

// WriteReport writes NewReport(res, exitCode) to name as Report.Write
// does, without building every file's entry first: each is made, written
// and dropped in turn. At the end of a 100,000-file run those entries
// (some 26 MB) came on top of the run's own heap, against a 150 MiB RSS
// budget.
func WriteReport(name string, res *Result, exitCode int) error {
	rep := reportHead(res, exitCode)
	return rep.writeFile(name, func(w io.Writer) error { return rep.encode(w, reportFiles(res)) })
}

// reportHead returns the report of res without its files' entries: its
// totals, hosts and the rest.
func reportHead(res *Result, exitCode int) *Report {
	m := res.Manifest
	rep := &Report{Version: 1, Command: res.Command, Manifest: m.Name, Shard: res.Shard.String(), Dest: m.Dest, Started: res.Started.UTC().Round(time.Millisecond),
		Duration: res.Duration.Seconds(), Interrupted: res.Interrupted, ExitCode: exitCode, Error: res.SetupErr,
		Hosts: []ReportHost{}, Files: []ReportFile{}}
	for i := range res.Files {
		fr := &res.Files[i]
		if fr.Outcome == OtherShard {
			continue
		}
		t := &rep.Totals
		t.Files++
		t.BytesFetched += fr.Fetched
		switch fr.Outcome {
		case Downloaded:
			t.Downloaded++
		case Skipped:
			t.Skipped++
		case Verified:
			t.Verified++
		case Unverified:
			t.Unverified++
		case Missing:
			t.Missing++
		case Mismatch:
			t.Mismatched++
		case Failed:
		default:
			t.Pending++
		}
		if fr.Outcome.Present() {
			t.Bytes += fr.Size
		}
		if fr.Outcome.Bad() {
			t.Failed++
		}
	}
	for _, h := range res.Hosts {
		rep.Hosts = append(rep.Hosts, ReportHost{Host: redact.Escape(h.Host), Cap: h.ConfigCap, MinCap: h.MinCap, Refusals: h.Refusals, Throttled: h.MinCap < h.ConfigCap || h.Refusals > 0, Down: h.Down})
	}
	return rep
}

// reportFiles yields the entry of each file of res's shard in manifest
// order, in one ReportFile that the next overwrites.
func reportFiles(res *Result) iter.Seq[*ReportFile] {
	return func(yield func(*ReportFile) bool) {
		m := res.Manifest
		var rf ReportFile
		for i := range m.Files {
			f, fr := &m.Files[i], &res.Files[i]
			if fr.Outcome == OtherShard {
				continue
			}
			rf = ReportFile{URL: redact.URL(f.URL), Path: f.Path, Size: fr.Size, Status: fr.Outcome.String(),
				Attempts: fr.Attempts, BytesFetched: fr.Fetched, Duration: fr.Duration.Seconds(), Error: fr.Err}
			if fr.Sum != nil {
				rf.Checksum = sumText(f, fr.Sum)
			}
			if !yield(&rf) {
				return
			}
		}
	}
}

// BareReport is the report of a run that could not start: no manifest to
// describe (a usage or manifest error), only why.
func BareReport(command, manifestName, shard string, code int, msg string) *Report {
	return &Report{Version: 1, Command: command, Manifest: manifestName, Shard: shard, Started: time.Now().UTC().Round(time.Millisecond),
		ExitCode: code, Error: msg, Hosts: []ReportHost{}, Files: []ReportFile{}}
}

// CheckReportPath finds out before anything is downloaded whether a report
// can be written at name: its directory exists and takes a new file, and
// name is not a directory. Its error starts with name; the caller says
// which flag gave it.
func CheckReportPath(name string) error {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory; give a file name such as %s", name, filepath.Join(name, "bulkdl-report.json"))
	}
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, ".bulkdl-report-*")
	if err != nil {
		return reportPathError(name, err)
	}
	tmp.Close()
	os.Remove(tmp.Name())
	return nil
}

// ReportClash returns an error if the report at name would land on a
// file m lists or in dest's state directory: renamed over a downloaded
// file at the end, it would replace it; in the state directory, it is
// bulkdl's own. nil if it lands anywhere else.
func ReportClash(name string, m *manifest.Manifest) error {
	abs, err1 := filepath.Abs(name)
	dest, err2 := filepath.Abs(m.Dest)
	if err1 != nil || err2 != nil {
		return nil // CheckReportPath and the run say what is wrong
	}
	rel, err := filepath.Rel(dest, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	rel = filepath.ToSlash(rel)
	same := func(a, b string) bool { return a == b }
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		same = strings.EqualFold // their file systems usually ignore case
	}
	if same(rel, state.Dir) || len(rel) > len(state.Dir) && same(rel[:len(state.Dir)+1], state.Dir+"/") {
		return fmt.Errorf("%s is in dest's %s, bulkdl's own state; write the report elsewhere", name, state.Dir)
	}
	for i := range m.Files {
		if same(rel, m.Files[i].Path) {
			return fmt.Errorf("%s is the path of a file the manifest lists (%s): the report would replace it; write the report elsewhere", name, redact.Escape(m.Files[i].Path))
		}
	}
	return nil
}

// reportPathError explains err, met creating a file beside the report,
// with the user's path rather than the temporary file's name.
func reportPathError(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	dir := filepath.Dir(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: directory %s does not exist; create it or write the report elsewhere", name, dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: directory %s is not writable; write the report elsewhere", name, dir)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Write writes the report to name atomically and durably (state.WriteFile).
func (rep *Report) Write(name string) error { return rep.writeFile(name, rep.encodeAll) }

// encodeAll writes the report with its Files, as encode does.
func (rep *Report) encodeAll(w io.Writer) error {
	if rep.Files == nil { // "files": null, as MarshalIndent has it
		return rep.encode(w, nil)
	}
	return rep.encode(w, func(yield func(*ReportFile) bool) {
		for i := range rep.Files {
			if !yield(&rep.Files[i]) {
				return
			}
		}
	})
}

// writeFile writes name atomically and durably with encode.
func (rep *Report) writeFile(name string, encode func(io.Writer) error) error {
	root, err := os.OpenRoot(filepath.Dir(name))
	if err != nil {
		return reportPathError(name, err)
	}
	defer root.Close()
	var encErr error
	err = state.WriteFile(root, filepath.Base(name), 0o644, func(w io.Writer) error {
		encErr = encode(w)
		return encErr
	})
	var pe *fs.PathError
	if encErr != nil && !errors.As(encErr, &pe) {
		return encErr // the report could not be encoded
	}
	if err != nil {
		return reportPathError(name, err)
	}
	return nil
}

// encode writes the report, with files' entries for its Files, as
// json.MarshalIndent(rep, "", "  ") and a newline would, one entry at a
// time: a report of 100,000 files is some 30 MB of JSON, which
// MarshalIndent built twice over in memory (marshalled, then indented:
// 150 MB allocated, the heap at 220 MB) at the end of the run, when its
// heap is largest. files nil: rep as it is.
func (rep *Report) encode(w io.Writer, files iter.Seq[*ReportFile]) error {
	if files == nil {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	head := *rep
	head.Files = []ReportFile{}
	b, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	// files is the last field: its entries go between "[" and "]".
	cut, ok := bytes.CutSuffix(b, []byte("[]\n}"))
	if !ok {
		for rf := range files {
			head.Files = append(head.Files, *rf)
		}
		return head.encode(w, nil)
	}
	bw, ok := w.(*bufio.Writer) // state.WriteFile's; its errors stick till Flush
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	bw.Write(cut)
	bw.WriteByte('[')
	n := 0
	for rf := range files {
		e, err := json.MarshalIndent(rf, "    ", "  ")
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		bw.WriteString("\n    ")
		if _, err := bw.Write(e); err != nil {
			return err // the file refused a write: stop here
		}
	}
	if n == 0 {
		bw.WriteString("]\n}\n")
	} else {
		bw.WriteString("\n  ]\n}\n")
	}
	return bw.Flush()
}
