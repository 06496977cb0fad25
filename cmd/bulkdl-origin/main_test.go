package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// startOrigin runs bulkdl-origin with args until the test ends, and
// returns its base URL and a function that stops it and returns its exit
// code.
func startOrigin(t *testing.T, args ...string) (base string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, args, io.Discard, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if _, url, ok := strings.Cut(lines.Text(), " at "); ok {
			base = url
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("bulkdl-origin did not say where it serves (exit %d)", <-code)
	}
	go io.Copy(io.Discard, pr) // the rest of its stderr
	stop = sync.OnceValue(func() int {
		cancel()
		return <-code
	})
	t.Cleanup(func() { stop() })
	return base, stop
}

// liveHeap returns the bytes of live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// bulkdl-origin serves until it is stopped, often millions of requests in
// a benchmark session: what it keeps must not grow with each one. (A
// request log, which tests of segdltest read, kept about 2 KiB per
// request: 5.5 GB after a day of benchmarks.)
func TestServingKeepsNothingPerRequest(t *testing.T) {
	dir := t.TempDir()
	stats := filepath.Join(dir, "stats.json")
	base, stop := startOrigin(t, "-files", "4x1KiB", "-stats", stats)
	client := &http.Client{}
	get := func() {
		resp, err := client.Get(base + "/file-0001.bin")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != 1024 {
			t.Fatalf("GET: %s, %d bytes", resp.Status, n)
		}
	}
	get() // connections, buffers and pools that any server keeps
	before := liveHeap()
	const requests = 5000
	for range requests - 1 {
		get()
	}
	grew := int64(liveHeap()) - int64(before)
	if grew > 1<<20 {
		t.Errorf("after %d requests the live heap grew by %d bytes (%d per request); want it flat", requests, grew, grew/requests)
	}
	client.CloseIdleConnections()
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(stats)
	if err != nil {
		t.Fatal(err)
	}
	var st segdltest.Stats
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("stats %q: %v", b, err)
	}
	if st.Requests != requests {
		t.Errorf("stats say %d requests, want %d", st.Requests, requests)
	}
}

func TestParseFiles(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []fileSpec
		err  string
	}{
		{in: "4x1MiB", want: []fileSpec{{4, 1 << 20}}},
		{in: "2x64MiB, 100x256KiB", want: []fileSpec{{2, 64 << 20}, {100, 256 << 10}}},
		{in: "1x0", want: []fileSpec{{1, 0}}},
		{in: "4", err: `-files item "4": want COUNTxSIZE`},
		{in: "0x1KiB", err: `-files item "0x1KiB": bad count`},
		{in: "ax1KiB", err: "bad count"},
		{in: "1x1ZiB", err: "bad size"},
		{in: "1x17GiB", err: "bad size"},
		{in: "1x1KiB,", err: `-files item "": want COUNTxSIZE`},
		{in: "4x16GiB", want: []fileSpec{{4, 16 << 30}}},
		{in: "4x16GiB,1x1", err: "more than 64 GiB in all"},
		{in: "9223372036x16GiB", err: "more than 64 GiB in all"},
	} {
		got, err := parseFiles(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseFiles(%q) = %v, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("parseFiles(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseFiles(f *testing.F) {
	for _, s := range []string{"4x1MiB", "2x64MiB,100x256KiB", "1x0", "x", "1x1x1", " 3 x 2KB ", "9999999999999999999x1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := parseFiles(s)
		if err != nil {
			return
		}
		if len(specs) == 0 {
			t.Fatalf("parseFiles(%q) accepted no files", s)
		}
		var total int64
		for _, sp := range specs {
			if sp.count < 1 || sp.size < 0 || sp.size > 1<<34 {
				t.Fatalf("parseFiles(%q) = %v: out of range", s, specs)
			}
			total += int64(sp.count) * int64(sp.size)
		}
		if total > maxServed {
			t.Fatalf("parseFiles(%q) = %v: %d bytes in all, over %d", s, specs, total, int64(maxServed))
		}
	})
}
