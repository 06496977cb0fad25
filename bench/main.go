// Command bench runs bulkdl and the peers found on this machine (aria2c,
// curl, wget2, axel) on the same loopback scenarios, alternating, several
// times, and prints a table of median wall time, CPU, peak RSS, the peak
// of requests in flight the origin saw, and whether every file's sha256
// was right, with ratios to bulkdl. It writes the table to bench/results.md.
// The many-file scenarios also run two reference rows (Linux): curl
// followed by sync -f, the time until curl's files are durable; and the
// floor (floor.go), the least a Go client must do per file to keep
// bulkdl's promises.
//
//	go run ./bench            # full run (make bench)
//	go run ./bench -quick     # small sizes, one repetition (make bench-quick, CI)
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

type file struct {
	name string
	data []byte
	sum  [32]byte
}

// scenario is one workload and the commands that run it.
type scenario struct {
	name, desc string
	files      []file
	rate       int64 // per-connection cap at the origin
	latency    time.Duration
	fault      func(*http.Request, int64) segdltest.Fault
	tools      []tool
	killAt     float64 // resume scenario: SIGKILL when this fraction was served, then rerun
	capRate    float64 // rate-cap scenario: the cap, to report achieved/cap
	// maxInFlight makes the origin refuse requests beyond it with 503 and
	// Retry-After: 1 (pushback scenario).
	maxInFlight int64
	// mirrors are the per-connection rates of mirror origins serving the
	// same files; each origin refuses beyond perHost requests in flight.
	mirrors []int64
	perHost int
	// budget is the connection budget, for the lower bound: the bytes at
	// budget (or maxInFlight) x rate, plus one first-byte latency per file
	// spread over the budget.
	budget int
}

// tool is one way to run a scenario: argv built from the origin's URL.
type tool struct {
	name string
	bin  string // executable that must exist
	cmd  func(w *workspace) [][]string
}

// workspace is one run's directory, URLs and manifest.
type workspace struct {
	dir, out, base string
	mirrors        []string // base URLs of the mirror origins
	s              *scenario
	budget         int
	extra          string // extra [settings] lines for bulkdl
}

type result struct {
	wall, cpu time.Duration
	rss       int64 // KiB
	peak      int64
	sent      int64
	refused   int64
	ok        bool
	note      string
}

var (
	quick   = flag.Bool("quick", false, "small sizes, one repetition: checks that the benchmark runs")
	reps    = flag.Int("reps", 3, "repetitions of each tool on each scenario")
	only    = flag.String("only", "", "run only scenarios whose name contains this")
	tools   = flag.String("tools", "", "run bulkdl and only the peers whose name contains one of these (comma-separated), e.g. curl,wget2")
	bulkdl  = flag.String("bulkdl", "bin/bulkdl", "the bulkdl binary")
	outFile = flag.String("out", "bench/results.md", "write the table here too")
	workDir = flag.String("dir", "", "make each run's directory in this one (default: $TMPDIR): the file system measured")
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		os.Exit(floorMain(os.Args[2:]))
	}
	flag.Parse()
	if *quick {
		*reps = 1
	}
	if _, err := os.Stat(*bulkdl); err != nil {
		fail("build bulkdl first (make build): %v", err)
	}
	abs, _ := filepath.Abs(*bulkdl)
	*bulkdl = abs
	var missing []string
	for _, p := range []string{"aria2c", "curl", "wget2", "axel", "sha256sum"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	var out bytes.Buffer
	w := io.MultiWriter(os.Stdout, &out)
	fmt.Fprintf(w, "# bulkdl benchmarks\n\n%s, %d cores, %s; %s; %d repetition(s), median shown (one run for a tool whose first took over 6 s; correct counts runs).\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, versions(), *reps)
	wd := *workDir
	if wd == "" {
		wd = os.TempDir()
	}
	fmt.Fprintf(w, "\nFiles written under %s%s.\n", wd, fsOf(wd))
	if len(missing) > 0 {
		fmt.Fprintf(w, "\nMissing peers, skipped: %s (install: `apt-get install aria2 wget2 axel curl`).\n", strings.Join(missing, ", "))
	}
	defer removeLater()
	for _, s := range scenarios() {
		if *only != "" && !strings.Contains(s.name, *only) {
			continue
		}
		runScenario(w, &s)
	}
	if err := os.WriteFile(*outFile, out.Bytes(), 0o644); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	removeLater()
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func versions() string {
	vs := []string{runtime.Version()}
	for _, c := range []string{"aria2c", "curl", "wget2", "axel"} {
		b, err := exec.Command(c, "--version").Output()
		if err != nil {
			continue
		}
		line, _, _ := strings.Cut(string(b), "\n")
		for _, f := range strings.Fields(line) {
			if f[0] >= '0' && f[0] <= '9' {
				vs = append(vs, c+" "+f)
				break
			}
		}
	}
	return strings.Join(vs, ", ")
}

func gen(prefix string, n, size int, seed int) []file {
	out := make([]file, n)
	for i := range out {
		d := segdltest.Content(uint64(seed*100000+i), size)
		out[i] = file{name: fmt.Sprintf("%s-%05d.bin", prefix, i), data: d, sum: sha256.Sum256(d)}
	}
	return out
}

func scale(full, q int) int {
	if *quick {
		return q
	}
	return full
}

func scenarios() []scenario {
	mib := 1 << 20
	mixed := append(gen("big", 2, scale(64*mib, 4*mib), 1), gen("small", scale(100, 20), 256<<10, 2)...)
	return []scenario{
		{
			name: "mixed", desc: fmt.Sprintf("%d files (2 large + small), 8 MB/s per connection, 20 ms latency, budget 8", len(mixed)),
			files: mixed, rate: 8e6, latency: 20 * time.Millisecond, budget: 8,
			tools: []tool{tBulkdl(8, ""), tAria("aria2c -j4 -x2", 4, 2, ""), tAria("aria2c -j2 -x4", 2, 4, ""), tCurlPar(8, ""), tWget2(8, ""), tAxel(8)},
		},
		{
			name: "many-small", desc: fmt.Sprintf("%d files of 4 KiB, unthrottled, budget 16", scale(5000, 300)),
			files: gen("tiny", scale(5000, 300), 4<<10, 3),
			tools: withReferences(16, tBulkdl(16, ""), tAria("aria2c -j16", 16, 1, ""), tCurlPar(16, ""), tWget2(16, "")),
		},
		{
			name: "100k-files", desc: fmt.Sprintf("%d files of 1 KiB, one host, budget 32", scale(100000, 2000)),
			files: gen("k", scale(100000, 2000), 1<<10, 9),
			tools: withReferences(32, tBulkdl(32, ""), tCurlPar(32, ""), tWget2(32, "")),
		},
		{
			name: "one-large", desc: fmt.Sprintf("one %d MiB file, unthrottled, sha256 verified", scale(1024, 32)),
			files: gen("large", 1, scale(1024, 32)*mib, 4),
			tools: []tool{tBulkdl(8, ""), tCurlSha(), tAria("aria2c -x8 --checksum", 1, 8, "sha"), tAxelSha(8)},
		},
		{
			name: "rate-cap", desc: fmt.Sprintf("%d MB at a 10 MB/s cap", scale(50, 10)),
			files: gen("capped", 5, scale(10e6, 2e6), 5), capRate: 10e6,
			tools: []tool{tBulkdl(8, "rate = \"10MB/s\""), tAria("aria2c --max-overall-download-limit=10M", 5, 1, "limit"), tCurlLimit()},
		},
		{
			name: "resume", desc: fmt.Sprintf("one %d MiB file at 8 MB/s per connection, SIGKILL at 40%%, run again", scale(64, 8)),
			files: gen("resume", 1, scale(64, 8)*mib, 6), rate: 8e6, killAt: 0.4,
			tools: []tool{tBulkdl(8, ""), tAria("aria2c -x8 -c", 1, 8, "continue"), tCurlResume()},
		},
		{
			name: "pushback", desc: fmt.Sprintf("%d files of %d MB, 4 MB/s per connection; the origin answers 503 + Retry-After: 1 beyond 4 in flight; budget 12", scale(6, 3), scale(8, 2)),
			files: gen("push", scale(6, 3), scale(8e6, 2e6), 9), rate: 4e6, maxInFlight: 4, budget: 12,
			tools: []tool{tBulkdl(12, ""), tAria("aria2c -j6 -x2", 6, 2, "retry")},
		},
		{
			name: "mirrors", desc: fmt.Sprintf("one %d MiB file on an origin at 4 MB/s per connection and mirrors at 8 and 16 MB/s; each origin takes 2 requests in flight (503 beyond); budget 8", scale(64, 4)),
			files: gen("mirrored", 1, scale(64, 4)*mib, 18), rate: 4e6, mirrors: []int64{8e6, 16e6}, perHost: 2, budget: 8,
			tools: []tool{tBulkdlMirrors(8, 2), tAriaMirrors(2)},
		},
		tailScenario("tail-big-first", "1 x 64 MiB, then 200 x 256 KiB", append(gen("tbf", 1, scale(64*mib, 4*mib), 10), gen("tbfs", scale(200, 20), 256<<10, 11)...), 20*time.Millisecond),
		tailScenario("tail-big-last", "200 x 256 KiB, then 1 x 64 MiB", append(gen("tbls", scale(200, 20), 256<<10, 12), gen("tbl", 1, scale(64*mib, 4*mib), 13)...), 20*time.Millisecond),
		tailScenario("tail-several-big", "4 x 32 MiB among 100 x 256 KiB", interleave(gen("tsb", 4, scale(32*mib, 2*mib), 14), gen("tsbs", scale(100, 20), 256<<10, 15)), 20*time.Millisecond),
		tailScenario("tail-latency", "2 x 64 MiB + 100 x 256 KiB, 80 ms first-byte latency", append(gen("tlb", 2, scale(64*mib, 4*mib), 16), gen("tls", scale(100, 20), 256<<10, 17)...), 80*time.Millisecond),
		{
			name: "faults", desc: "10 x 4 MiB + 40 x 64 KiB; 30% of responses cut short, 15% answered 503",
			files: append(gen("fbig", 10, 4*mib, 7), gen("fsmall", 40, 64<<10, 8)...), fault: randomFaults(0.3, 0.15),
			tools: []tool{tBulkdl(8, "retries = 20"), tAria("aria2c -j4 -x2", 4, 2, "retry"), tCurlPar(8, "retry"), tWget2(8, "retry")},
		},
	}
}

// tailScenario is a shape of large and small files at 8 MB/s per
// connection under a budget of 8, measured against its lower bound: does
// everything end together?
func tailScenario(name, shape string, files []file, latency time.Duration) scenario {
	return scenario{
		name: name, desc: fmt.Sprintf("%s, 8 MB/s per connection, %v latency, budget 8", shape, latency),
		files: files, rate: 8e6, latency: latency, budget: 8,
		tools: []tool{tBulkdl(8, ""), tAria("aria2c -j4 -x2", 4, 2, "")},
	}
}

// interleave spreads the large files evenly among the small ones.
func interleave(large, small []file) []file {
	var out []file
	step := len(small) / len(large)
	for i, f := range large {
		out = append(out, f)
		out = append(out, small[i*step:min((i+1)*step, len(small))]...)
	}
	return append(out, small[len(large)*step:]...)
}

// randomFaults cuts a share of responses short and answers another share
// with 503, deterministically per request number.
func randomFaults(cut, unavailable float64) func(*http.Request, int64) segdltest.Fault {
	return func(_ *http.Request, n int64) segdltest.Fault {
		x := float64((n*2654435761)%1000) / 1000
		switch {
		case x < unavailable:
			return segdltest.Fault{Kind: segdltest.Status, Code: 503, RetryAfter: "0"}
		case x < unavailable+cut:
			return segdltest.Fault{Kind: segdltest.Truncate, After: (n * 7919) % (128 << 10)}
		}
		return segdltest.Fault{}
	}
}

func (w *workspace) urls() []string {
	var out []string
	for _, f := range w.s.files {
		out = append(out, w.base+"/"+f.name)
	}
	return out
}

func (w *workspace) writeFile(name, content string) string {
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		fail("%v", err)
	}
	return p
}

func tBulkdl(budget int, extra string) tool {
	return tool{name: fmt.Sprintf("bulkdl -c %d", budget), bin: "", cmd: func(w *workspace) [][]string {
		var b strings.Builder
		fmt.Fprintf(&b, "[settings]\ndest = %q\nconnections = %d\nper_host = %d\n%s\n", w.out, budget, budget, extra)
		for _, f := range w.s.files {
			fmt.Fprintf(&b, "[[file]]\nurl = %q\nchecksum = \"sha256:%x\"\n", w.base+"/"+f.name, f.sum)
		}
		m := w.writeFile("m.toml", b.String())
		return [][]string{{*bulkdl, "run", "-q", m}}
	}}
}

// tBulkdlMirrors lists each file's mirrors, with a per-host cap.
func tBulkdlMirrors(budget, perHost int) tool {
	return tool{name: fmt.Sprintf("bulkdl -c %d, per_host %d, mirrors", budget, perHost), cmd: func(w *workspace) [][]string {
		var b strings.Builder
		fmt.Fprintf(&b, "[settings]\ndest = %q\nconnections = %d\nper_host = %d\n", w.out, budget, perHost)
		for _, f := range w.s.files {
			var ms []string
			for _, m := range w.mirrors {
				ms = append(ms, fmt.Sprintf("%q", m+"/"+f.name))
			}
			fmt.Fprintf(&b, "[[file]]\nurl = %q\nmirrors = [%s]\nchecksum = \"sha256:%x\"\n", w.base+"/"+f.name, strings.Join(ms, ", "), f.sum)
		}
		return [][]string{{*bulkdl, "run", "-q", w.writeFile("m.toml", b.String())}}
	}}
}

// tAriaMirrors gives aria2c every URI of a file, perHost connections to each.
func tAriaMirrors(perHost int) tool {
	return tool{name: fmt.Sprintf("aria2c -x%d, all URIs", perHost), bin: "aria2c", cmd: func(w *workspace) [][]string {
		var b strings.Builder
		for _, f := range w.s.files {
			uris := []string{w.base + "/" + f.name}
			for _, m := range w.mirrors {
				uris = append(uris, m+"/"+f.name)
			}
			fmt.Fprintf(&b, "%s\n", strings.Join(uris, "\t"))
		}
		in := w.writeFile("urls.txt", b.String())
		n := perHost * (len(w.mirrors) + 1)
		return [][]string{{"aria2c", "-q", "-d", w.out, "-i", in, fmt.Sprintf("-x%d", perHost), fmt.Sprintf("-s%d", n),
			"-k1M", "--file-allocation=none", "--allow-overwrite=true", "--auto-file-renaming=false", "--max-tries=30", "--retry-wait=1"}}
	}}
}

func tAria(name string, j, x int, mode string) tool {
	return tool{name: name, bin: "aria2c", cmd: func(w *workspace) [][]string {
		var b strings.Builder
		for _, f := range w.s.files {
			fmt.Fprintf(&b, "%s/%s\n", w.base, f.name)
			if mode == "sha" {
				fmt.Fprintf(&b, "  checksum=sha-256=%x\n", f.sum)
			}
		}
		in := w.writeFile("urls.txt", b.String())
		args := []string{"aria2c", "-q", "-d", w.out, "-i", in, fmt.Sprintf("-j%d", j), fmt.Sprintf("-x%d", x), fmt.Sprintf("-s%d", x),
			"-k1M", "--file-allocation=none", "--allow-overwrite=true", "--auto-file-renaming=false", "--max-tries=30"}
		switch mode {
		case "retry":
			// aria2 retries a 503 only with a non-zero --retry-wait.
			args = append(args, "--retry-wait=1")
		case "limit":
			args = append(args, "--max-overall-download-limit=10M")
		case "continue":
			args = append(args, "-c")
		}
		return [][]string{args}
	}}
}

// withReferences returns tools and two reference rows, where they run
// (Linux): curl with n transfers followed by sync -f (syncfs) of the
// output, the time until curl's files are durable; and the floor with n
// connections (see floor.go). Together they split bulkdl's distance from
// curl into what making files durable costs, what publishing only
// complete, verified files costs on top, and bulkdl's own work.
func withReferences(n int, tools ...tool) []tool {
	if runtime.GOOS != "linux" {
		return tools
	}
	synced := tCurlPar(n, "")
	synced.name += ", then sync -f (reference)"
	inner := synced.cmd
	synced.cmd = func(w *workspace) [][]string { return append(inner(w), []string{"sync", "-f", w.out}) }
	tools = append(tools, synced)
	if !floorOK {
		return tools
	}
	return append(tools, tool{name: fmt.Sprintf("floor -c %d (reference, bench/floor.go)", n), cmd: func(w *workspace) [][]string {
		var b strings.Builder
		for _, f := range w.s.files {
			fmt.Fprintf(&b, "%x %s/%s %s\n", f.sum, w.base, f.name, f.name)
		}
		self, err := os.Executable()
		if err != nil {
			fail("the floor runs this binary: %v", err)
		}
		return [][]string{{self, "floor", "-c", fmt.Sprint(n), "-list", w.writeFile("floor.txt", b.String()), "-out", w.out}}
	}})
}

func tCurlPar(n int, mode string) tool {
	return tool{name: fmt.Sprintf("curl --parallel-max %d", n), bin: "curl", cmd: func(w *workspace) [][]string {
		var b strings.Builder
		for _, f := range w.s.files {
			fmt.Fprintf(&b, "url = \"%s/%s\"\noutput = \"%s/%s\"\n", w.base, f.name, w.out, f.name)
		}
		cfg := w.writeFile("curl.cfg", b.String())
		args := []string{"curl", "-sS", "--fail", "--parallel", "--parallel-max", fmt.Sprint(n), "-K", cfg}
		if mode == "retry" {
			args = append(args, "--retry", "30", "--retry-all-errors", "--retry-delay", "0", "-C", "-")
		}
		return [][]string{args}
	}}
}

func tWget2(n int, mode string) tool {
	return tool{name: fmt.Sprintf("wget2 --max-threads %d", n), bin: "wget2", cmd: func(w *workspace) [][]string {
		in := w.writeFile("urls.txt", strings.Join(w.urls(), "\n")+"\n")
		args := []string{"wget2", "-q", "--max-threads", fmt.Sprint(n), "-P", w.out, "-i", in, "--no-robots"}
		if mode == "retry" {
			args = append(args, "--tries=30", "--waitretry=0", "-c")
		}
		return [][]string{args}
	}}
}

func tAxel(n int) tool {
	return tool{name: fmt.Sprintf("axel -n %d, one file after another", n), bin: "axel", cmd: func(w *workspace) [][]string {
		var cmds [][]string
		for _, f := range w.s.files {
			cmds = append(cmds, []string{"axel", "-q", "-n", fmt.Sprint(n), "-o", filepath.Join(w.out, f.name), w.base + "/" + f.name})
		}
		return cmds
	}}
}

func tAxelSha(n int) tool {
	t := tAxel(n)
	t.name = fmt.Sprintf("axel -n %d + sha256sum -c", n)
	inner := t.cmd
	t.cmd = func(w *workspace) [][]string { return append(inner(w), shaCheck(w)) }
	return t
}

func tCurlSha() tool {
	return tool{name: "curl -o + sha256sum -c", bin: "curl", cmd: func(w *workspace) [][]string {
		var cmds [][]string
		for _, f := range w.s.files {
			cmds = append(cmds, []string{"curl", "-sS", "--fail", "-o", filepath.Join(w.out, f.name), w.base + "/" + f.name})
		}
		return append(cmds, shaCheck(w))
	}}
}

func shaCheck(w *workspace) []string {
	var b strings.Builder
	for _, f := range w.s.files {
		fmt.Fprintf(&b, "%x  %s\n", f.sum, filepath.Join(w.out, f.name))
	}
	return []string{"sha256sum", "--quiet", "-c", w.writeFile("SHA256SUMS", b.String())}
}

func tCurlLimit() tool {
	return tool{name: "curl --limit-rate 10M, one stream", bin: "curl", cmd: func(w *workspace) [][]string {
		var b strings.Builder
		for _, f := range w.s.files {
			fmt.Fprintf(&b, "url = \"%s/%s\"\noutput = \"%s/%s\"\n", w.base, f.name, w.out, f.name)
		}
		return [][]string{{"curl", "-sS", "--fail", "--limit-rate", "10M", "-K", w.writeFile("curl.cfg", b.String())}}
	}}
}

func tCurlResume() tool {
	return tool{name: "curl -C -", bin: "curl", cmd: func(w *workspace) [][]string {
		f := w.s.files[0]
		return [][]string{{"curl", "-sS", "--fail", "-C", "-", "-o", filepath.Join(w.out, f.name), w.base + "/" + f.name}}
	}}
}

// fsOf describes the file system that holds dir, from /proc/self/mountinfo
// (Linux): " (ext4 on /dev/vda, rw,relatime)", or "" where that is unknown.
// Creating thousands of files costs what the file system makes it cost,
// so the table says which one it measured.
func fsOf(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	return mountOf(string(b), abs)
}

// mountOf returns fsOf's description of the mount in mountinfo that holds
// the absolute path abs: the one with the longest mount point that is abs
// or a parent of it, the last listed of those (a later mount hides an
// earlier one at the same point).
func mountOf(mountinfo, abs string) string {
	best, desc := -1, ""
	for _, line := range strings.Split(mountinfo, "\n") {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 3 {
			continue
		}
		mp := strings.ReplaceAll(f[4], "\\040", " ")
		if abs != mp && !strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/") || len(mp) < best {
			continue
		}
		best, desc = len(mp), fmt.Sprintf(" (%s on %s, %s)", g[0], g[1], g[2])
	}
	return desc
}

// wanted reports whether -tools selects the tool named name. bulkdl always
// runs: the ratios are to it.
func wanted(name string) bool {
	if *tools == "" || strings.HasPrefix(name, "bulkdl") {
		return true
	}
	for _, t := range strings.Split(*tools, ",") {
		if t != "" && strings.Contains(name, t) {
			return true
		}
	}
	return false
}

// slow is the wall time above which a tool is not repeated.
const slow = 6 * time.Second

func runScenario(w io.Writer, s *scenario) {
	var total int64
	for _, f := range s.files {
		total += int64(len(f.data))
	}
	fmt.Fprintf(w, "\n## %s: %s\n\n", s.name, s.desc)
	results := map[string][]result{}
	var order []string
	for rep := 0; rep < *reps; rep++ {
		for _, t := range s.tools {
			if !wanted(t.name) {
				continue
			}
			if t.bin != "" {
				if _, err := exec.LookPath(t.bin); err != nil {
					continue
				}
			}
			if rep == 0 {
				order = append(order, t.name)
			} else if rs := results[t.name]; rs[0].wall > slow {
				continue // one run of a slow tool says enough; keeps make bench near 5 minutes
			}
			fmt.Fprintf(os.Stderr, "  %s: %s (%d/%d)\n", s.name, t.name, rep+1, *reps)
			results[t.name] = append(results[t.name], runOnce(s, t))
		}
	}
	if len(order) == 0 {
		return
	}
	base := summarize(results[order[0]])
	switch {
	case s.capRate > 0:
		fmt.Fprintf(w, "| tool | wall | achieved / cap | CPU | peak RSS | peak in flight | correct |\n|---|---|---|---|---|---|---|\n")
	case s.killAt > 0:
		fmt.Fprintf(w, "| tool | wall (both runs) | bytes served / size | CPU | peak RSS | peak in flight | correct |\n|---|---|---|---|---|---|---|\n")
	default:
		fmt.Fprintf(w, "| tool | wall | wall vs bulkdl | CPU | CPU vs bulkdl | peak RSS | peak in flight | correct |\n|---|---|---|---|---|---|---|---|\n")
	}
	for _, name := range order {
		m := summarize(results[name])
		rss := fmt.Sprintf("%.0f MiB", float64(m.rss)/1024)
		correct := fmt.Sprintf("%d/%d", m.okCount, len(results[name]))
		if m.note != "" {
			correct += " (" + m.note + ")"
		}
		switch {
		case s.capRate > 0:
			achieved := float64(total) / m.wall.Seconds()
			fmt.Fprintf(w, "| %s | %.2fs | %.3f | %.2fs | %s | %d | %s |\n", name, m.wall.Seconds(), achieved/s.capRate, m.cpu.Seconds(), rss, m.peak, correct)
		case s.killAt > 0:
			fmt.Fprintf(w, "| %s | %.2fs | %.2f | %.2fs | %s | %d | %s |\n", name, m.wall.Seconds(), float64(m.sent)/float64(total), m.cpu.Seconds(), rss, m.peak, correct)
		default:
			fmt.Fprintf(w, "| %s | %.2fs | %.2fx | %.2fs | %.2fx | %s | %d | %s |\n", name, m.wall.Seconds(), m.wall.Seconds()/base.wall.Seconds(),
				m.cpu.Seconds(), m.cpu.Seconds()/max(base.cpu.Seconds(), 1e-3), rss, m.peak, correct)
		}
	}
	if s.budget > 0 && s.rate > 0 {
		conns := s.budget
		if s.maxInFlight > 0 {
			conns = int(s.maxInFlight)
		}
		capacity := float64(conns) * float64(s.rate)
		how := fmt.Sprintf("%d connections x %.0f MB/s", conns, float64(s.rate)/1e6)
		if len(s.mirrors) > 0 {
			capacity = float64(s.perHost) * float64(s.rate)
			how = fmt.Sprintf("%d per origin x (%.0f", s.perHost, float64(s.rate)/1e6)
			for _, r := range s.mirrors {
				capacity += float64(s.perHost) * float64(r)
				how += fmt.Sprintf(" + %.0f", float64(r)/1e6)
			}
			how += ") MB/s"
		}
		bound := float64(total)/capacity + float64(len(s.files))*s.latency.Seconds()/float64(s.budget)
		fmt.Fprintf(w, "\nLower bound: %d bytes / (%s) + %d x %v latency / budget %d = %.2fs. Lower bound / wall:", total, how, len(s.files), s.latency, s.budget, bound)
		for _, name := range order {
			m := summarize(results[name])
			fmt.Fprintf(w, " %s %.2f;", name, bound/m.wall.Seconds())
		}
		fmt.Fprintln(w)
		if s.maxInFlight > 0 || s.perHost > 0 {
			fmt.Fprintf(w, "Refusals (503 beyond %d in flight per origin):", max(s.maxInFlight, int64(s.perHost)))
			for _, name := range order {
				fmt.Fprintf(w, " %s %d;", name, summarize(results[name]).refused)
			}
			fmt.Fprintln(w)
		}
	}
}

type summary struct {
	wall, cpu time.Duration
	rss, peak int64
	sent      int64
	refused   int64
	okCount   int
	note      string
}

// summarize takes the median of each measure.
func summarize(rs []result) summary {
	med := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	s := summary{
		wall:    time.Duration(med(func(r result) float64 { return float64(r.wall) })),
		cpu:     time.Duration(med(func(r result) float64 { return float64(r.cpu) })),
		rss:     int64(med(func(r result) float64 { return float64(r.rss) })),
		peak:    int64(med(func(r result) float64 { return float64(r.peak) })),
		sent:    int64(med(func(r result) float64 { return float64(r.sent) })),
		refused: int64(med(func(r result) float64 { return float64(r.refused) })),
	}
	for _, r := range rs {
		if r.ok {
			s.okCount++
		} else if r.note != "" {
			s.note = r.note
		}
	}
	return s
}

func runOnce(s *scenario, t tool) result {
	srv := segdltest.NewUnstartedServer()
	srv.NoLog = true // Stats is all a run reads; a log would grow on the cores the tools share
	srv.Start()
	defer srv.Close()
	srv.RatePerConn.Store(s.rate)
	srv.Latency = s.latency
	srv.Fault = s.fault
	srv.MaxInFlight, srv.RefuseRetryAfter = s.maxInFlight, "1"
	for _, f := range s.files {
		srv.Put("/"+f.name, &segdltest.File{Data: f.data, ETag: fmt.Sprintf(`"%x"`, f.sum[:8]), LastModified: time.Unix(1700000000, 0)})
	}
	var mirrors []string
	var msrvs []*segdltest.Server
	for _, rate := range s.mirrors {
		m := segdltest.NewServer()
		defer m.Close()
		m.RatePerConn.Store(rate)
		m.Latency = s.latency
		for _, f := range s.files {
			m.Put("/"+f.name, &segdltest.File{Data: f.data, ETag: fmt.Sprintf(`"%x"`, f.sum[:8]), LastModified: time.Unix(1700000000, 0)})
		}
		mirrors = append(mirrors, m.URL)
		msrvs = append(msrvs, m)
	}
	if s.perHost > 0 {
		srv.MaxInFlight = int64(s.perHost)
		for _, m := range msrvs {
			m.MaxInFlight, m.RefuseRetryAfter = int64(s.perHost), "1"
		}
	}
	dir, err := os.MkdirTemp(*workDir, "bulkdl-bench-")
	if err != nil {
		fail("%v", err)
	}
	if len(s.files) < manyFiles {
		defer os.RemoveAll(dir)
	} else {
		later = append(later, dir)
	}
	ws := &workspace{dir: dir, out: filepath.Join(dir, "out"), base: srv.URL, mirrors: mirrors, s: s}
	os.MkdirAll(ws.out, 0o755)

	var res result
	cmds := t.cmd(ws)
	settle()
	start := time.Now()
	if s.killAt > 0 {
		var total int64
		for _, f := range s.files {
			total += int64(len(f.data))
		}
		r1 := execute(cmds[0], func() bool { return float64(srv.Stats().BytesSent) >= s.killAt*float64(total) })
		res.cpu, res.rss = r1.cpu, r1.rss
	}
	for _, c := range cmds {
		r := execute(c, nil)
		res.cpu += r.cpu
		res.rss = max(res.rss, r.rss)
		if r.err != "" {
			res.note = r.err
		}
	}
	res.wall = time.Since(start)
	st := srv.Stats()
	res.peak, res.sent, res.refused = st.PeakInFlight, st.BytesSent, st.Refused
	for _, m := range msrvs {
		ms := m.Stats()
		res.peak += ms.PeakInFlight
		res.refused += ms.Refused
	}
	res.ok = res.note == ""
	for _, f := range s.files {
		got, err := os.ReadFile(filepath.Join(ws.out, f.name))
		if err != nil || sha256.Sum256(got) != f.sum {
			res.ok = false
			if res.note == "" {
				res.note = "wrong or missing bytes"
			}
			break
		}
	}
	return res
}

// manyFiles: the output of a run with this many files or more is removed
// only when the benchmark ends. ext4 without a journal skips inodes freed
// in the last minute when it allocates new ones, one cache lookup each, so
// a tool that creates thousands of files right after thousands were
// deleted pays for that deletion (several seconds for 5000 files here).
const manyFiles = 1000

// later holds the directories to remove when the benchmark ends.
var later []string

func removeLater() {
	for _, d := range later {
		os.RemoveAll(d)
	}
}

type execResult struct {
	cpu time.Duration
	rss int64
	err string
}

// gnuTime is GNU time, which reports a child's peak RSS truly: Go starts
// children with vfork, and Linux counts the parent's memory (this process
// holds the benchmark data) into a vforked child's maxrss.
var gnuTime, _ = exec.LookPath("/usr/bin/time")

// execute runs argv; if kill is set, it sends SIGKILL once kill reports true.
func execute(argv []string, kill func() bool) execResult {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var rssFile string
	if gnuTime != "" {
		f, err := os.CreateTemp("", "bench-rss-")
		if err == nil {
			rssFile = f.Name()
			f.Close()
			defer os.Remove(rssFile)
			argv = append([]string{gnuTime, "-q", "-f", "%M", "-o", rssFile}, argv...)
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return execResult{err: err.Error()}
	}
	done := make(chan struct{})
	if kill != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(2 * time.Millisecond):
					if kill() {
						killGroup(cmd)
						return
					}
				}
			}
		}()
	}
	err := cmd.Wait()
	close(done)
	var r execResult
	if ps := cmd.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	if rssFile != "" {
		b, _ := os.ReadFile(rssFile)
		fields := strings.Fields(string(b))
		if len(fields) > 0 {
			fmt.Sscan(fields[len(fields)-1], &r.rss)
		}
	}
	if err != nil && kill == nil {
		msg := strings.TrimSpace(strings.TrimPrefix(stderr.String(), "Command exited with non-zero status"))
		if len(msg) > 60 {
			msg = msg[:60] + "…"
		}
		r.err = fmt.Sprintf("exit %v %s", cmd.ProcessState.ExitCode(), msg)
	}
	return r
}
