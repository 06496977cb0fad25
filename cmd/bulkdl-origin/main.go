// Command bulkdl-origin is a loopback HTTP origin for demos and benchmarks:
// it serves deterministic generated files through segdl/segdltest, with
// that package's knobs (per-connection byte rate, latency, faults) as
// flags, and can write a bulkdl manifest of what it serves.
//
//	bulkdl-origin -files 2x64MiB,100x256KiB -rate-per-conn 8MB/s -latency 20ms \
//	    -addr-file origin.addr -manifest demo.toml
//
// It serves until SIGINT or SIGTERM, then writes its stats (requests, peak
// requests in flight, bytes sent) as JSON to -stats, or stdout. The same
// JSON is served at /_stats.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	files, rate, addrFile, manifestOut, statsOut, dest, prefix string
	latency                                                    time.Duration
	truncate, unavailable                                      float64
	noRange                                                    bool
	connections, perHost, maxInFlight                          int
}

// run serves until ctx is done (main: SIGINT or SIGTERM), then writes the
// stats.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bulkdl-origin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.files, "files", "4x1MiB", "files to serve: COUNTxSIZE items, comma-separated (e.g. 2x64MiB,100x256KiB)")
	fs.StringVar(&o.prefix, "prefix", "file", "file name prefix")
	fs.StringVar(&o.rate, "rate-per-conn", "0", "cap each response at this rate, e.g. 8MB/s; 0 for none")
	fs.DurationVar(&o.latency, "latency", 0, "wait this long before each response")
	fs.Float64Var(&o.truncate, "truncate", 0, "fraction of responses cut short part-way (0 to 1)")
	fs.Float64Var(&o.unavailable, "unavailable", 0, "fraction of responses answered 503 with Retry-After: 0 (0 to 1)")
	fs.BoolVar(&o.noRange, "no-range", false, "ignore Range headers")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 0, "answer 503 (Retry-After: 1) to a request beyond this many in flight, after waiting 20ms for room (the moment a server takes to notice a closed connection); 0 for no limit")
	fs.StringVar(&o.addrFile, "addr-file", "", "write the base URL here once listening")
	fs.StringVar(&o.manifestOut, "manifest", "", "write a bulkdl manifest of the served files here")
	fs.StringVar(&o.dest, "dest", "downloads", "the manifest's dest")
	fs.IntVar(&o.connections, "connections", 8, "the manifest's connections")
	fs.IntVar(&o.perHost, "per-host", 8, "the manifest's per_host")
	fs.StringVar(&o.statsOut, "stats", "", "write stats JSON here on exit (default stdout)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	specs, err := parseFiles(o.files)
	if err != nil {
		fmt.Fprintln(stderr, "bulkdl-origin:", err)
		return 2
	}
	rate, err := manifest.ParseRate(o.rate)
	if err != nil {
		fmt.Fprintln(stderr, "bulkdl-origin: -rate-per-conn:", err)
		return 2
	}

	srv := segdltest.NewUnstartedServer()
	srv.NoLog = true // it serves until stopped: memory flat in the requests served
	srv.RatePerConn.Store(int64(rate))
	srv.Latency = o.latency
	srv.Fault = faults(o.truncate, o.unavailable)
	if o.maxInFlight > 0 {
		srv.MaxInFlight, srv.RefuseRetryAfter, srv.RefuseGrace = int64(o.maxInFlight), "1", 20*time.Millisecond
	}
	handler := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_stats" {
			json.NewEncoder(w).Encode(srv.Stats())
			return
		}
		handler.ServeHTTP(w, r)
	})
	type entry struct {
		path string
		size int
		sum  [32]byte
	}
	var entries []entry
	n := 0
	for _, sp := range specs {
		for range sp.count {
			data := segdltest.Content(uint64(n+1), sp.size)
			p := fmt.Sprintf("/%s-%04d.bin", o.prefix, n)
			srv.Put(p, &segdltest.File{Data: data, ETag: fmt.Sprintf(`"%d-%d"`, n, sp.size), LastModified: time.Unix(1700000000, 0), NoRange: o.noRange})
			entries = append(entries, entry{p, sp.size, sha256.Sum256(data)})
			n++
		}
	}
	srv.Start()
	defer srv.Close()

	if o.manifestOut != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "# Written by bulkdl-origin for %s\n[settings]\ndest = %q\nconnections = %d\nper_host = %d\n\n", srv.URL, o.dest, o.connections, o.perHost)
		for _, e := range entries {
			fmt.Fprintf(&b, "[[file]]\nurl = %q\nchecksum = \"sha256:%x\"\nsize = %d\n\n", srv.URL+e.path, e.sum, e.size)
		}
		if err := os.WriteFile(o.manifestOut, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(stderr, "bulkdl-origin:", err)
			return 1
		}
	}
	if o.addrFile != "" {
		if err := os.WriteFile(o.addrFile, []byte(srv.URL+"\n"), 0o644); err != nil {
			fmt.Fprintln(stderr, "bulkdl-origin:", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "bulkdl-origin: serving %d file(s) at %s\n", len(entries), srv.URL)

	<-ctx.Done()
	out := stdout
	if o.statsOut != "" {
		f, err := os.Create(o.statsOut)
		if err != nil {
			fmt.Fprintln(stderr, "bulkdl-origin:", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	json.NewEncoder(out).Encode(srv.Stats())
	return 0
}

type fileSpec struct{ count, size int }

// maxServed bounds the bytes of all files served: they are held in memory.
const maxServed = 64 << 30

// parseFiles parses "2x64MiB,100x256KiB".
func parseFiles(s string) ([]fileSpec, error) {
	var out []fileSpec
	var total int64
	for _, item := range strings.Split(s, ",") {
		c, sz, ok := strings.Cut(strings.TrimSpace(item), "x")
		if !ok {
			return nil, fmt.Errorf("-files item %q: want COUNTxSIZE, e.g. 100x256KiB", item)
		}
		count, err := strconv.Atoi(c)
		if err != nil || count < 1 {
			return nil, fmt.Errorf("-files item %q: bad count", item)
		}
		size, err := manifest.ParseSize(sz)
		if err != nil || size > 1<<34 {
			return nil, fmt.Errorf("-files item %q: bad size", item)
		}
		if n := int64(size); n > 0 && int64(count) > (maxServed-total)/n {
			return nil, fmt.Errorf("-files %q: more than 64 GiB in all; bulkdl-origin holds its files in memory", s)
		}
		total += int64(count) * int64(size)
		out = append(out, fileSpec{count, int(size)})
	}
	return out, nil
}

// faults cuts a fraction of responses short and answers another fraction
// with 503.
func faults(truncate, unavailable float64) func(*http.Request, int64) segdltest.Fault {
	if truncate <= 0 && unavailable <= 0 {
		return nil
	}
	return func(r *http.Request, _ int64) segdltest.Fault {
		x := rand.Float64()
		switch {
		case x < unavailable:
			return segdltest.Fault{Kind: segdltest.Status, Code: 503, RetryAfter: "0"}
		case x < unavailable+truncate:
			return segdltest.Fault{Kind: segdltest.Truncate, After: rand.Int64N(256 << 10)}
		}
		return segdltest.Fault{}
	}
}
