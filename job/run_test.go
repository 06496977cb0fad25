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
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
)

// recorder is an Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Observe(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds() []EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []EventKind
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

// A run records what it verified, so that the next one decides Skip
// without reading; a file changed since is hashed again, and one the
// server lacks fails, said by an event, and counts as Bad.
func TestRunRecordsWhatItVerified(t *testing.T) {
	body := []byte(strings.Repeat("x", 5000))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "a", time.Time{}, strings.NewReader(string(body)))
	}))
	defer srv.Close()
	dir := t.TempDir()
	m, err := manifest.Parse(filepath.Join(dir, "m.toml"), []byte(fmt.Sprintf(
		"[settings]\ndest = \"out\"\nretries = 0\n[[file]]\nurl = \"%s/a\"\nchecksum = \"sha256:%x\"\n[[file]]\nurl = \"%s/missing\"\n",
		srv.URL, sha256.Sum256(body), srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	res, err := Run(context.Background(), m, Options{Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	if got := []Outcome{res.Files[0].Outcome, res.Files[1].Outcome}; got[0] != Downloaded || got[1] != Failed {
		t.Fatalf("outcomes = %v; want downloaded, failed", got)
	}
	if res.Bad() != 1 || res.Count(Downloaded) != 1 || res.InShard != 2 {
		t.Errorf("Bad %d, Downloaded %d, InShard %d; want 1, 1, 2", res.Bad(), res.Count(Downloaded), res.InShard)
	}
	if k := rec.kinds(); len(k) != 2 || k[0] != EventPlanned || k[1] != EventFailed {
		t.Errorf("events = %v; want planned, then failed", k)
	}
	plan, err := DryRun(m, Options{})
	if err != nil || plan.Files[0].Action != Skip || plan.Files[1].Action != Fetch {
		t.Fatalf("DryRun after the run = %+v, %v; want skip (recorded as verified), fetch", plan.Files, err)
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "out", "a"), later, later)
	if plan, _ := DryRun(m, Options{}); plan.Files[0].Action != Hash {
		t.Errorf("DryRun of a file touched since = %v; want hash", plan.Files[0].Action)
	}
}
