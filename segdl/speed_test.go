package segdl

import "testing"

func TestSplitPoint(t *testing.T) {
	const mi = 1 << 20
	cases := []struct {
		name       string
		pos, end   int64
		keep, take float64
		min        int64
		want       int64
		wantOK     bool
	}{
		{name: "unknown speeds split in halves", pos: 0, end: 8 * mi, min: mi, want: 4 * mi, wantOK: true},
		{name: "equal speeds split in halves", pos: 0, end: 8 * mi, keep: 5, take: 5, min: mi, want: 4 * mi, wantOK: true},
		{name: "a slow fetcher keeps the smaller part", pos: 0, end: 8 * mi, keep: 1, take: 3, min: mi, want: 2 * mi, wantOK: true},
		{name: "a fast fetcher keeps the larger part", pos: 0, end: 8 * mi, keep: 3, take: 1, min: mi, want: 6 * mi, wantOK: true},
		{name: "a slow fetcher near its end hands most of it over", pos: 0, end: 8 * mi, keep: 1, take: 100, min: mi, want: 64 << 10, wantOK: true},
		{name: "the kept part is at least 64 KiB", pos: 0, end: 2 * mi, keep: 1, take: 1000, min: mi, want: 64 << 10, wantOK: true},
		{name: "the new part is never below the minimum", pos: 0, end: 8 * mi, keep: 100, take: 1, min: mi, want: 7 * mi, wantOK: true},
		{name: "the point is aligned", pos: 100, end: 100 + 8*mi, min: mi, want: 4 * mi, wantOK: true},
		{name: "too short to split", pos: 0, end: mi + 64<<10 - 1, min: mi},
		{name: "just long enough to split", pos: 0, end: mi + 64<<10, min: mi, want: 64 << 10, wantOK: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := splitPoint(c.pos, c.end, c.keep, c.take, c.min)
			if ok != c.wantOK || ok && got != c.want {
				t.Errorf("splitPoint(%d, %d, %v, %v, %d) = %d, %v; want %d, %v", c.pos, c.end, c.keep, c.take, c.min, got, ok, c.want, c.wantOK)
			}
		})
	}
}
