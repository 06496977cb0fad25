package segdl

// rangeSet is a sorted list of disjoint, non-adjacent byte ranges
// [start, end). A file has few of them, so a slice is the right structure.
type rangeSet [][2]int64

// add inserts [a, b), merging what it touches.
func (rs *rangeSet) add(a, b int64) {
	if a >= b {
		return
	}
	s := *rs
	i := 0
	for i < len(s) && s[i][1] < a {
		i++
	}
	j := i
	for j < len(s) && s[j][0] <= b {
		a, b = min(a, s[j][0]), max(b, s[j][1])
		j++
	}
	if i == j {
		s = append(s, [2]int64{})
		copy(s[i+1:], s[i:])
		s[i] = [2]int64{a, b}
	} else {
		s[i] = [2]int64{a, b}
		s = append(s[:i+1], s[j:]...)
	}
	*rs = s
}

func (rs rangeSet) total() int64 {
	var n int64
	for _, r := range rs {
		n += r[1] - r[0]
	}
	return n
}

// holes returns the ranges of [0, size) not in rs.
func (rs rangeSet) holes(size int64) [][2]int64 {
	var out [][2]int64
	at := int64(0)
	for _, r := range rs {
		if r[0] > at {
			out = append(out, [2]int64{at, r[0]})
		}
		at = max(at, r[1])
	}
	if at < size {
		out = append(out, [2]int64{at, size})
	}
	return out
}

func (rs rangeSet) clone() rangeSet { return append(rangeSet(nil), rs...) }
