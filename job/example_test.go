package job_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/state"
)

// Run a manifest against a loopback server, then run it again: the second
// run skips the file without a request, because the state log recorded it
// as verified and it has not changed since.
func ExampleRun() {
	body := []byte(strings.Repeat("bulkdl ", 1000))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "a.bin", time.Time{}, strings.NewReader(string(body)))
	}))
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "bulkdl-example")
	defer os.RemoveAll(dir)

	m, err := manifest.Parse(filepath.Join(dir, "m.toml"), []byte(fmt.Sprintf(`
[settings]
dest = "out"
[[file]]
url = "%s/a.bin"
checksum = "sha256:%x"
`, srv.URL, sha256.Sum256(body))))
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		res, err := job.Run(context.Background(), m, job.Options{})
		if err != nil {
			fmt.Println(err)
			return
		}
		f := res.Files[0]
		fmt.Println(f.Outcome, f.Size, f.Attempts)
	}
	// Output:
	// downloaded 7000 1
	// skipped 7000 0
}

// Decide is the whole rerun policy, and reads nothing: what is on disk and
// what the state log recorded are its arguments.
func ExampleDecide() {
	sum, _ := manifest.ParseChecksum("sha256:" + strings.Repeat("ab", 32))
	f := &manifest.File{URL: "https://example.com/a", Path: "a", Size: 100, Checksum: sum}
	disk := job.OnDisk{Exists: true, Size: 100, ModTime: 1}
	rec := state.Record{Path: "a", Size: 100, ModTime: 1, Checksum: sum.String()}

	fmt.Println(job.Decide(f, job.OnDisk{}, state.Record{}, false, job.Policy{}))
	fmt.Println(job.Decide(f, disk, rec, true, job.Policy{}))
	fmt.Println(job.Decide(f, disk, rec, true, job.Policy{Verify: true}))
	fmt.Println(job.Decide(f, disk, state.Record{}, false, job.Policy{}))
	// Output:
	// fetch
	// skip
	// hash
	// hash
}

// Shards split a manifest with no coordinator: every path is in exactly
// one shard of N, the same on every machine and in every version.
func ExampleShard() {
	s, err := job.ParseShard("1/4")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range []string{"a", "b", "c", "f1.bin"} {
		fmt.Println(p, s.Has(p))
	}
	fmt.Println(s.Name())
	// Output:
	// a false
	// b true
	// c false
	// f1.bin false
	// shard-1-of-4
}
