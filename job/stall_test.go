package job

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
)

// A server that holds back its response headers is cut by the manifest's
// timeout: the run's transport keeps no header timer of its own, so this
// is segdl's stall timer at work through the run's real client stack.
// The server would answer after a minute; the run must not wait for it.
func TestRunCutsAServerThatSendsNoHeaders(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(time.Minute):
			w.Write([]byte("late"))
		}
	}))
	defer srv.Close()
	defer close(release)
	dir := t.TempDir()
	m, err := manifest.Parse(filepath.Join(dir, "m.toml"), []byte(fmt.Sprintf(
		"[settings]\ndest = \"out\"\nretries = 0\ntimeout = \"200ms\"\n[[file]]\nurl = \"%s/a\"\n", srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Files[0]
	if f.Outcome != Failed || !strings.Contains(f.Err, "no data for 200ms waiting for the response") {
		t.Fatalf("outcome %v, error %q; want failed with no data for 200ms waiting for the response", f.Outcome, f.Err)
	}
	if res.Interrupted {
		t.Error("the run was interrupted: the stall timeout did not end the request")
	}
}
