package job

// totals are the byte counts a display shows, kept up to date as files
// end, so that a snapshot costs the same for 100 files as for 100,000: it
// walks only the files in flight.
type totals struct {
	done    int64 // bytes of the files downloaded or skipped
	known   int64 // bytes of the files whose size is known
	unknown int   // files to come whose size is not known
	failed  int
}

// add adds file result res to the totals, or takes it out with sign -1.
// Take a result out before changing it and add it back after.
func (t *totals) add(res *FileResult, sign int64) {
	switch {
	case res.Outcome == Failed:
		// A failed file arrives no more: not in the byte totals.
		t.failed += int(sign)
	case res.Outcome == OtherShard:
	case res.Outcome == Downloaded || res.Outcome == Skipped:
		t.done += sign * res.Size
		t.known += sign * res.Size
	case res.Size >= 0:
		t.known += sign * res.Size
	default:
		t.unknown += int(sign)
	}
}

// tally computes the totals from every result, once the run's plan is made.
func tally(results []FileResult) totals {
	var t totals
	for i := range results {
		t.add(&results[i], 1)
	}
	return t
}
