package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/bulkdl/bulkdl/job"
)

// report is "bulkdl report merge": the JSON reports of the shards of one
// split, merged into one report of the whole manifest.
func (c *cli) report(args []string) int {
	fs := c.flagSet("report")
	out := fs.String("o", "", "write the merged report to this file (atomically) instead of stdout")
	if len(args) > 0 && args[0] == "merge" {
		args = args[1:]
	} else if len(args) == 0 || !strings.HasPrefix(args[0], "-") {
		c.usageError(fs, "want a subcommand: merge")
		return exitUsage
	}
	if code, ok := c.parseArgs(fs, args, 1, -1); !ok {
		return code
	}
	if *out != "" {
		if err := job.CheckReportPath(*out); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl report merge: -o %v\n", err)
			return exitSetup
		}
	}
	reps := make([]job.Report, len(fs.Args()))
	for i, name := range fs.Args() {
		data, err := os.ReadFile(name)
		if err == nil {
			d := json.NewDecoder(bytes.NewReader(data))
			if err = d.Decode(&reps[i]); err == nil && reps[i].Version != 1 {
				err = fmt.Errorf("report version %d; this bulkdl reads version 1", reps[i].Version)
			}
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "bulkdl report merge: %s: %v\n", name, err)
			return exitUsage
		}
	}
	m, err := mergeReports(fs.Args(), reps)
	if err != nil {
		fmt.Fprintf(c.stderr, "bulkdl report merge: %v\n", err)
		return exitUsage
	}
	if *out != "" {
		err = m.Write(*out)
	} else {
		var data []byte
		if data, err = json.MarshalIndent(&m, "", "  "); err == nil {
			_, err = c.stdout.Write(append(data, '\n'))
		}
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "bulkdl report merge: %v\n", err)
		return exitSetup
	}
	t := m.Totals
	missing := "none"
	if len(m.Merged.Missing) > 0 {
		missing = strings.Join(m.Merged.Missing, ", ")
	}
	fmt.Fprintf(c.stderr, "merged %d report(s) of a %d-way split: %d file(s): %d downloaded, %d skipped, %d failed, %d pending; shards without a report: %s; exit_code %d\n",
		m.Merged.Reports, m.Merged.Split, t.Files, t.Downloaded+t.Verified+t.Unverified, t.Skipped, t.Failed, t.Pending, missing, m.ExitCode)
	if m.ExitCode != exitOK {
		return exitFailed
	}
	return exitOK
}

// mergeReports merges the reports of the shards of one split (names are
// their files, for messages). They must be of one manifest, one command
// and one N, each shard at most once and each file in one report only.
func mergeReports(names []string, reps []job.Report) (job.Report, error) {
	m := job.Report{Version: 1, Hosts: []job.ReportHost{}, Files: []job.ReportFile{}, Merged: &job.ReportMerge{Reports: len(reps)}}
	shardOf := map[uint64]string{}
	pathOf := map[string]string{}
	hosts := map[string]*job.ReportHost{}
	var end time.Time
	var errs []string
	for i, r := range reps {
		s := job.Shard{K: 0, N: 1}
		if r.Shard != "" {
			var err error
			if s, err = job.ParseShard(r.Shard); err != nil {
				return job.Report{}, fmt.Errorf("%s: shard %q: %v", names[i], r.Shard, err)
			}
		}
		if i == 0 {
			m.Command, m.Manifest, m.Dest, m.Started, m.Merged.Split = r.Command, r.Manifest, r.Dest, r.Started, s.N
		}
		switch {
		case r.Command != m.Command:
			return job.Report{}, fmt.Errorf("%s is a report of %s, %s of %s: merge reports of one command", names[0], m.Command, names[i], r.Command)
		case r.Manifest != m.Manifest:
			return job.Report{}, fmt.Errorf("%s is a report of manifest %s, %s of %s: merge the shards of one manifest", names[0], m.Manifest, names[i], r.Manifest)
		case s.N != m.Merged.Split:
			return job.Report{}, fmt.Errorf("%s is of a %d-way split, %s of a %d-way one (-shard K/N with another N): merge the shards of one split", names[0], m.Merged.Split, names[i], s.N)
		case shardOf[s.K] != "":
			return job.Report{}, fmt.Errorf("shard %d/%d is in both %s and %s: give each shard's last report once", s.K, s.N, shardOf[s.K], names[i])
		}
		shardOf[s.K] = names[i]
		if r.Dest != m.Dest {
			m.Dest = "" // pods may mount one volume at different paths
		}
		if r.Started.Before(m.Started) {
			m.Started = r.Started
		}
		if e := r.Started.Add(time.Duration(r.Duration * float64(time.Second))); e.After(end) {
			end = e
		}
		m.Interrupted = m.Interrupted || r.Interrupted
		m.ExitCode = max(m.ExitCode, r.ExitCode)
		if r.Error != "" {
			errs = append(errs, fmt.Sprintf("shard %s: %s", s.String(), r.Error))
		}
		for _, f := range r.Files {
			if prev := pathOf[f.Path]; prev != "" {
				return job.Report{}, fmt.Errorf("%s is in both %s and %s: merge the shards of one split", f.Path, prev, names[i])
			}
			pathOf[f.Path] = names[i]
			if r.Shard != "" {
				f.Shard = r.Shard
			}
			m.Files = append(m.Files, f)
		}
		addTotals(&m.Totals, r.Totals)
		for _, h := range r.Hosts {
			if g := hosts[h.Host]; g != nil {
				g.Cap, g.MinCap = max(g.Cap, h.Cap), min(g.MinCap, h.MinCap)
				g.Throttled, g.Down = g.Throttled || h.Throttled, g.Down || h.Down
				g.Refusals += h.Refusals
			} else {
				h := h
				hosts[h.Host] = &h
			}
		}
	}
	m.Duration = end.Sub(m.Started).Seconds()
	m.Error = strings.Join(errs, "; ")
	m.Merged.Missing = []string{}
	for k := range m.Merged.Split {
		if shardOf[k] == "" {
			m.Merged.Missing = append(m.Merged.Missing, fmt.Sprintf("%d/%d", k, m.Merged.Split))
		}
	}
	if len(m.Merged.Missing) > 0 && m.ExitCode == exitOK {
		m.ExitCode = exitFailed
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	for _, h := range hosts {
		m.Hosts = append(m.Hosts, *h)
	}
	sort.Slice(m.Hosts, func(i, j int) bool { return m.Hosts[i].Host < m.Hosts[j].Host })
	return m, nil
}

// addTotals adds b to a.
func addTotals(a *job.ReportTotals, b job.ReportTotals) {
	a.Files += b.Files
	a.Downloaded += b.Downloaded
	a.Skipped += b.Skipped
	a.Failed += b.Failed
	a.Pending += b.Pending
	a.Verified += b.Verified
	a.Unverified += b.Unverified
	a.Missing += b.Missing
	a.Mismatched += b.Mismatched
	a.Bytes += b.Bytes
	a.BytesFetched += b.BytesFetched
}
