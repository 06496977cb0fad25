package manifest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// setProcs sets GOMAXPROCS for the test: the parallel paths are taken
// only with two or more.
func setProcs(t *testing.T, n int) {
	t.Helper()
	old := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

// filesText returns n valid [[file]] tables, each on its own lines; bad,
// if not "", replaces the url line of the table numbered badAt (1-based).
func filesText(n, badAt int, bad string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString("[[file]]\n")
		if i == badAt {
			b.WriteString(bad + "\n")
			continue
		}
		fmt.Fprintf(&b, "url = \"https://example.com/data/f%06d.bin\"\n", i)
	}
	return b.String()
}

// waitFor polls cond for a bounded time; it does not assert anything by
// sleeping, it only gives goroutines the time to reach a state.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// Decoding ahead holds at most aheadPerWorker batches per decoder, and
// at most maxDecoders decoders whatever the cores: never asked for, the
// batches of a large manifest are not all decoded.
func TestDecodeAheadIsBounded(t *testing.T) {
	for _, procs := range []int{2, 3, 64} {
		t.Run(fmt.Sprint("GOMAXPROCS=", procs), func(t *testing.T) {
			setProcs(t, procs)
			_, batches := newLineIndex([]byte(filesText(300, 0, ""))).split(1)
			if len(batches) != 300 {
				t.Fatalf("split gave %d batches; want 300", len(batches))
			}
			dec := decodeAhead(batches, false)
			defer dec.close()
			limit := min(procs, maxDecoders) * aheadPerWorker
			if limit > 8 {
				t.Fatalf("the bound is %d batches; want at most 8 whatever the cores", limit)
			}
			// Wait until no decoder can go on: every batch taken is
			// decoded, and either all are, or every token is held.
			still := func() bool {
				next := int(dec.next.Load())
				for i := range min(next, len(batches)) {
					if len(dec.results[i]) != 1 {
						return false
					}
				}
				return next >= len(batches) || len(dec.ahead) == cap(dec.ahead) && next == len(dec.ahead)
			}
			if !waitFor(still) {
				t.Fatalf("decoders never stopped: %d batches taken", dec.next.Load())
			}
			if n := int(dec.next.Load()); n > limit {
				t.Fatalf("%d of 300 batches decoded ahead with none asked for; want at most %d", n, limit)
			}
		})
	}
}

// Parse returns with no goroutine of its own still running, on every
// path out of it: errors in the rest, in the first, a middle or the last
// batch, validation errors, success, and the large manifests that index
// their lines on a goroutine of their own.
func TestParseLeavesNoGoroutines(t *testing.T) {
	setProcs(t, 8)
	big := 5000 // [[file]] tables: over the 256 KB at which scan goes parallel
	tests := []struct {
		name  string
		data  string
		batch int
		ok    bool
	}{
		{"syntax error in the rest", "version = \n" + filesText(50, 0, ""), 1, false},
		{"syntax error in batch 1", filesText(50, 1, `url = "https://example.com/x`), 1, false},
		{"syntax error in batch 48 of 50", filesText(50, 48, `url = = 1`), 1, false},
		{"validation errors only", filesText(50, 20, `url = "ftp://example.com/x"`), 1, false},
		{"clean", filesText(50, 0, ""), 1, true},
		{"large, too deep", "x = " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n" + filesText(big, 0, ""), 10, false},
		{"large, settings not a table", "settings = 5\n" + filesText(big, 0, ""), 10, false},
		{"large, syntax error in the last batch", filesText(big, big, `url = "https://example.com/x`), 10, false},
		{"large, clean", filesText(big, 0, ""), 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasPrefix(tt.name, "large") && len(tt.data) < 256<<10 {
				t.Fatalf("the manifest is %d bytes; the test needs over 256 KB", len(tt.data))
			}
			base := runtime.NumGoroutine()
			_, err := Options{batch: tt.batch}.Parse("m.toml", []byte(tt.data))
			if (err == nil) != tt.ok {
				t.Fatalf("Parse: %v; want ok = %v", err, tt.ok)
			}
			if !waitFor(func() bool { return runtime.NumGoroutine() <= base }) {
				t.Fatalf("%d goroutines after Parse returned; %d before", runtime.NumGoroutine(), base)
			}
		})
	}
}

// A panic on one of Parse's own goroutines reaches the caller, who can
// recover it, instead of ending the process.
func TestPanicsReachTheCaller(t *testing.T) {
	setProcs(t, 4)
	type boom struct{ where string }
	small := filesText(50, 0, "")
	large := filesText(5000, 0, "")
	tests := []struct {
		name   string
		data   string
		inject func() (restore func())
	}{
		{"decoding a batch", small, func() func() {
			old := decodeBatchFn
			decodeBatchFn = func([]byte, bool) (map[string]any, error) { panic(boom{"decode"}) }
			return func() { decodeBatchFn = old }
		}},
		{"checking names", small, func() func() {
			old := checkNamesFn
			checkNamesFn = func(*validator) { panic(boom{"names"}) }
			return func() { checkNamesFn = old }
		}},
		{"indexing lines", large, func() func() {
			old := newLineIndexFn
			newLineIndexFn = func([]byte) *lineIndex { panic(boom{"index"}) }
			return func() { newLineIndexFn = old }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restore := tt.inject()
			defer restore()
			got := func() (p any) {
				defer func() { p = recover() }()
				Options{batch: 1}.Parse("m.toml", []byte(tt.data))
				return nil
			}()
			if _, ok := got.(boom); !ok {
				t.Fatalf("the caller recovered %#v; want the panic's own value", got)
			}
		})
	}
}
