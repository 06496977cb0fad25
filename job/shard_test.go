package job

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// shardPaths is a fixed list of manifest paths: names, nesting, Unicode,
// and near-duplicates that a weak hash would put together.
var shardPaths = []string{
	"a", "b", "c", "f0.bin", "f1.bin", "f2.bin", "f10.bin", "f11.bin",
	"data/2024/01/part-00000.parquet", "data/2024/01/part-00001.parquet",
	"data/2024/02/part-00000.parquet", "models/llama/weights.safetensors",
	"models/llama/config.json", "README.md", "readme.md", "Ünïcode/naïve.txt",
	"日本/ファイル.bin", "deep/a/b/c/d/e/f/g/h.txt", "x.tar.gz", "x.tar.gz.sha256",
}

// A change of the hash would move files between shards from one version to
// the next: shards already complete would fetch other files again, and a
// mix of versions would skip some. The golden file holds K for each path
// and N.
func TestShardAssignmentNeverChanges(t *testing.T) {
	var b strings.Builder
	for _, p := range shardPaths {
		fmt.Fprintf(&b, "%q", p)
		for _, n := range []uint64{2, 4, 8} {
			k := -1
			for i := range n {
				if (Shard{K: i, N: n}).Has(p) {
					if k >= 0 {
						t.Errorf("%q is in shards %d/%d and %d/%d; want one", p, k, n, i, n)
					}
					k = int(i)
				}
			}
			if k < 0 {
				t.Errorf("%q is in no shard of %d; want one", p, n)
			}
			fmt.Fprintf(&b, " %d/%d", k, n)
		}
		b.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "shards.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("shard assignment changed (files would move between shards across versions):\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseShard(t *testing.T) {
	cases := []struct {
		in   string
		want Shard
		err  bool
	}{
		{"0/1", Shard{0, 1}, false},
		{"3/4", Shard{3, 4}, false},
		{"4/4", Shard{}, true},
		{"1/0", Shard{}, true},
		{"x/2", Shard{}, true},
		{"-1/2", Shard{}, true},
		{"2", Shard{}, true},
		{"", Shard{}, true},
	}
	for _, c := range cases {
		got, err := ParseShard(c.in)
		if got != c.want || (err != nil) != c.err || err != nil && !errors.Is(err, ErrShard) {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestShardName(t *testing.T) {
	for _, c := range []struct {
		s    Shard
		want string
	}{{Shard{}, ""}, {Shard{0, 1}, ""}, {Shard{2, 4}, "shard-2-of-4"}} {
		if got := c.s.Name(); got != c.want {
			t.Errorf("%v.Name() = %q; want %q", c.s, got, c.want)
		}
	}
}

func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/1", "3/4", "4/4", "x/2", "-1/2", "1/0", "99999999999/100000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := ParseShard(v)
		if err != nil {
			return
		}
		if s.N == 0 || s.K >= s.N {
			t.Fatalf("ParseShard(%q) = %v; want 0 <= K < N", v, s)
		}
		if back, err := ParseShard(s.String()); err != nil || back != s {
			t.Errorf("ParseShard(%q) = %v, %v; want %v back", s.String(), back, err, s)
		}
	})
}
