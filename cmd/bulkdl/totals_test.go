package main

import (
	"fmt"
	"testing"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
)

// walk computes what the display showed before totals existed, by
// walking every file: the reference the running totals must agree with.
func walk(results []fileResult) (done, total int64) {
	unknown := false
	for _, res := range results {
		switch {
		case res.status == "other-shard", res.status == "failed":
		case res.status == "downloaded" || res.status == "skipped":
			done += res.size
			total += res.size
		case res.size >= 0:
			total += res.size
		default:
			unknown = true
		}
	}
	if unknown {
		total = -1
	}
	return done, total
}

func TestRunningTotalsAgreeWithAWalk(t *testing.T) {
	results := []fileResult{
		{status: "pending", size: 100},
		{status: "pending", size: -1},
		{status: "other-shard", size: 7},
		{status: "skipped", size: 30},
		{status: "pending", size: 50},
		{status: "pending", size: -1},
	}
	tot := tally(results)
	steps := []struct {
		i      int
		status string
		size   int64
	}{
		{0, "downloaded", 100},
		{1, "downloaded", 4000}, // its size learned from the server
		{4, "failed", 50},
		{5, "pending", -1}, // interrupted
		{5, "downloaded", 12},
	}
	for _, st := range steps {
		res := &results[st.i]
		tot.add(res, -1)
		res.status, res.size = st.status, st.size
		tot.add(res, 1)
		total := tot.known
		if tot.unknown > 0 {
			total = -1
		}
		wd, wt := walk(results)
		if tot.done != wd || total != wt {
			t.Errorf("after file %d became %s: totals say %d of %d bytes; walking every file says %d of %d", st.i, st.status, tot.done, total, wd, wt)
		}
	}
}

// BenchmarkDisplaySnapshot: the cost of one frame with 16 files in flight
// must not grow with the number of files in the manifest.
func BenchmarkDisplaySnapshot(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			m := &manifest.Manifest{Files: make([]manifest.File, n)}
			for i := range m.Files {
				m.Files[i] = manifest.File{URL: fmt.Sprintf("http://127.0.0.1:1/f%d", i), Path: fmt.Sprintf("f%d", i), Size: 4096}
			}
			r := newRunner(m, newCLI(nil, nil))
			r.inShard = n
			for i := range n / 2 {
				r.results[i].status = "downloaded"
				r.done = append(r.done, i)
			}
			r.tot = tally(r.results)
			cfg := &segdl.Config{}
			for i := n / 2; i < n/2+16; i++ {
				r.active[i] = segdl.New(nil, segdl.Spec{URLs: []string{m.Files[i].URL}, Path: m.Files[i].Path, Size: 4096}, cfg, nil)
			}
			d := &display{r: r}
			b.ReportAllocs()
			for b.Loop() {
				d.snapshot()
			}
		})
	}
}
