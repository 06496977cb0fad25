package job

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
)

// A FIFO where the manifest needs a directory fails the file under it and
// nothing else; neither the plan's listing nor the download may wait on
// it for a writer that never comes.
func TestAFIFOWhereADirectoryGoesFailsOnlyItsFiles(t *testing.T) {
	body := []byte(strings.Repeat("x", 5000))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "a", time.Time{}, strings.NewReader(string(body)))
	}))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(filepath.Join(dir, "out", "sub"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	sum := sha256.Sum256(body)
	// Enough files under sub for the plan to list it (listMin), and one
	// beside it.
	var b strings.Builder
	fmt.Fprintf(&b, "[settings]\ndest = \"out\"\nretries = 0\n")
	for i := range listMin {
		fmt.Fprintf(&b, "[[file]]\nurl = \"%s/a\"\npath = \"sub/x%d.bin\"\nchecksum = \"sha256:%x\"\n", srv.URL, i, sum)
	}
	fmt.Fprintf(&b, "[[file]]\nurl = \"%s/a\"\npath = \"y.bin\"\nchecksum = \"sha256:%x\"\n", srv.URL, sum)
	m, err := manifest.Parse(filepath.Join(dir, "m.toml"), []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(ctx, m, Options{})
		if err == nil {
			_, err = DryRun(m, Options{}) // lists the same directories
		}
		done <- ran{res, err}
	}()
	var r ran
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		// Let the blocked open go: a writer on the FIFO, then the test fails.
		if w, err := os.OpenFile(filepath.Join(dir, "out", "sub"), os.O_WRONLY|os.O_APPEND, 0); err == nil {
			defer w.Close()
		}
		t.Fatal("the run hangs on a FIFO at a directory's path")
	}
	if r.res == nil {
		t.Fatalf("Run = %v, no result", r.err)
	}
	for i, f := range r.res.Files[:listMin] {
		if f.Outcome != Failed {
			t.Errorf("%s (under the FIFO): outcome %v; want %v", m.Files[i].Path, f.Outcome, Failed)
		}
	}
	if got := r.res.Files[listMin].Outcome; got != Downloaded {
		t.Errorf("y.bin: outcome %v; want %v", got, Downloaded)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "out", "y.bin")); err != nil || sha256.Sum256(got) != sum {
		t.Errorf("y.bin: %v; want its bytes", err)
	}
}
