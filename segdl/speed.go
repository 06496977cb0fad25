package segdl

import "time"

// Splitting by speed. Connections to different origins (mirrors) or over
// different paths run at different speeds; a range split in halves between
// a slow and a fast connection leaves the slow one ending alone. So each
// task measures its own speed, each URL keeps the speed of its last tasks,
// the range to split is the one that would end last, and it is split in
// proportion to the speeds of the two connections that will share it.

// minSample is how long a task must have streamed before its speed counts.
const minSample = 50 * time.Millisecond

// startedLocked records that the task's response began to stream now.
func (t *Task) startedLocked(now time.Time) {
	t.began, t.streamed = now, 0
	if !t.claimed.IsZero() {
		t.d.requestCostLocked(now.Sub(t.claimed))
		t.claimed = time.Time{}
	}
}

// speedLocked returns the task's bytes per second since its response
// began, or 0 if it has not streamed long enough to tell.
func (t *Task) speedLocked(now time.Time) float64 {
	el := now.Sub(t.began)
	if t.began.IsZero() || el < minSample || t.streamed == 0 {
		return 0
	}
	return float64(t.streamed) / el.Seconds()
}

// sourceSpeedLocked returns the speed of one connection to URL i: the mean
// of its running tasks' speeds, else that of its last tasks, else 0.
func (d *Download) sourceSpeedLocked(i int, now time.Time) float64 {
	var sum float64
	n := 0
	for _, t := range d.running {
		if t.src == i {
			if v := t.speedLocked(now); v > 0 {
				sum += v
				n++
			}
		}
	}
	if n > 0 {
		return sum / float64(n)
	}
	return d.mirrors[i].speed
}

// taskSpeedLocked returns t's speed, else its URL's, else 0.
func (d *Download) taskSpeedLocked(t *Task, now time.Time) float64 {
	if v := t.speedLocked(now); v > 0 {
		return v
	}
	return d.sourceSpeedLocked(t.src, now)
}

// rememberSpeedLocked folds an ending task's speed into its URL's.
func (d *Download) rememberSpeedLocked(t *Task, now time.Time) {
	v := t.speedLocked(now)
	if v <= 0 || t.src >= len(d.mirrors) {
		return
	}
	m := &d.mirrors[t.src]
	if m.speed == 0 {
		m.speed = v
	} else {
		m.speed = 0.7*m.speed + 0.3*v
	}
}

// splitPoint returns where to split [pos, end), fetched at speed keep, to
// share it with a new connection of speed take so that both end together;
// halves when a speed is unknown. The new range is at least minSeg long:
// it costs a request. The part kept may be shorter, down to 64 KiB, since
// its request is already running: a slow connection near its end hands
// most of what it has left to a fast one. The point is aligned to 64 KiB
// where it can be; ok is false if no split fits.
func splitPoint(pos, end int64, keep, take float64, minSeg int64) (mid int64, ok bool) {
	const align = 64 << 10
	lo, hi := pos+align, end-minSeg
	if lo > hi {
		return 0, false
	}
	k := (end - pos) / 2
	if keep > 0 && take > 0 {
		k = int64(float64(end-pos) * keep / (keep + take))
	}
	mid = min(max(pos+k, lo), hi)
	if a := mid - mid%align; a >= lo {
		mid = a
	}
	return mid, true
}

// splittable reports whether a range of n bytes can be split.
func splittable(n, minSeg int64) bool { return n >= minSeg+64<<10 }

// meanSpeedLocked returns the mean speed of the running tasks that have
// one, or 0.
func (d *Download) meanSpeedLocked(now time.Time) float64 {
	var sum float64
	n := 0
	for _, t := range d.running {
		if v := t.speedLocked(now); v > 0 {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
