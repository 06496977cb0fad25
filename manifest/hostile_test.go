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
			best := time.Duration(1 << 62)
			for range 3 {
				start := time.Now()
				Parse("m.toml", data)
				best = min(best, time.Since(start))
			}
			return best
		}
		small, large := cost(32<<10), cost(512<<10)
		if ratio := float64(large) / float64(max(small, time.Microsecond)); ratio > 64 {
			t.Errorf("%q: 16x the input took %.0fx the time (%v against %v); want about 16x", q, ratio, large, small)
		}
	}
}
