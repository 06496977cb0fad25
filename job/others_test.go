package job

import (
	"fmt"
	"testing"
)

// TestOnlyLogsThatCanHoldAPathAreRead checks the arithmetic the docs
// quote: a shard of the new split needs N_old/gcd(N_old, N_new) logs of
// the old one.
func TestOnlyLogsThatCanHoldAPathAreRead(t *testing.T) {
	cases := []struct{ old, new, want uint64 }{{4, 8, 1}, {8, 4, 2}, {16, 8, 2}, {6, 4, 3}, {3, 4, 3}}
	for _, c := range cases {
		for k := range c.new {
			paths := map[string]bool{}
			for i := range 2000 {
				if p := fmt.Sprintf("d/f%d", i); (Shard{k, c.new}).Has(p) {
					paths[p] = true
				}
			}
			got := uint64(0)
			for j := range c.old {
				if mayHold(Shard{j, c.old}, paths) {
					got++
				}
			}
			if got != c.want {
				t.Errorf("shard %d/%d after %d: reads %d logs; want %d", k, c.new, c.old, got, c.want)
			}
		}
	}
}

func TestOverlaps(t *testing.T) {
	for _, c := range [][2]uint64{{4, 8}, {8, 4}, {6, 4}, {3, 4}, {16, 16}, {5, 1}} {
		s, n := c[0], c[1]
		for k := range s {
			for j := range n {
				want := false
				for i := range 5000 {
					if p := fmt.Sprintf("p%d", i); (Shard{k, s}).Has(p) && (Shard{j, n}).Has(p) {
						want = true
						break
					}
				}
				if got := overlaps(Shard{k, s}, j, n); got != want {
					t.Errorf("overlaps(%d/%d, %d/%d) = %v; want %v", k, s, j, n, got, want)
				}
			}
		}
	}
}
