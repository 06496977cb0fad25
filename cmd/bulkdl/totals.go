package main

// totals are the byte counts the display shows, kept up to date as files
// end, so that drawing a frame costs the same for 100 files as for
// 100,000: it walks only the files in flight.
type totals struct {
	done    int64 // bytes of the files downloaded or skipped
	known   int64 // bytes of the files whose size is known
	unknown int   // files to come whose size is not known
}

// add adds file result res to the totals, or takes it out with sign -1.
// Take a result out before changing it and add it back after.
func (t *totals) add(res *fileResult, sign int64) {
	switch {
	case res.status == "other-shard", res.status == "failed":
		// A failed file arrives no more: not in the total.
	case res.status == "downloaded" || res.status == "skipped":
		t.done += sign * res.size
		t.known += sign * res.size
	case res.size >= 0:
		t.known += sign * res.size
	default:
		t.unknown += int(sign)
	}
}

// tally computes the totals from every result, once the run's plan is made.
func tally(results []fileResult) totals {
	var t totals
	for i := range results {
		t.add(&results[i], 1)
	}
	return t
}
