package manifest

import (
	"strings"
	"testing"
	"time"
)

// A manifest's text is scanned in time linear in its size, whatever it
// holds: a long run of quotes once took time quadratic in the run (1 MiB
// of them: minutes), so a bad or hostile manifest could hang a run before
// its first request. Not a speed test: it compares the growth of one input
// against sixteen times that input, where linear is 16x and quadratic
// 256x.
func TestScanTimeIsLinearInQuoteRuns(t *testing.T) {
	for _, q := range []string{"'", `"`, "a = '", `a = """`} {
		cost := func(n int) time.Duration {
			data := []byte(strings.Repeat(q[len(q)-1:], n))
			data = append([]byte(q[:len(q)-1]), data...)
			return perParse(data)
		}
		small, large := cost(32<<10), cost(512<<10)
		if ratio := float64(large) / float64(max(small, time.Nanosecond)); ratio > 64 {
			t.Errorf("%q: 16x the input took %.0fx the time (%v against %v); want about 16x", q, ratio, large, small)
		}
	}
}

// perParse returns the time one Parse of data takes, averaged over 50 ms
// of them or more: a coarse clock (Windows, Wine) reads a short parse
// timed alone as taking no time at all.
func perParse(data []byte) time.Duration {
	start := time.Now()
	for n := 1; ; n++ {
		Parse("m.toml", data)
		if el := time.Since(start); el >= 50*time.Millisecond {
			return el / time.Duration(n)
		}
	}
}
