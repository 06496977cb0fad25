package segdl

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

func TestDownloadSegmented(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	// Throttled, so that the probe is still streaming when the other
	// connections claim their ranges; unthrottled loopback may finish first.
	srv.RatePerConn.Store(4 << 20)
	data := segdltest.Content(1, 3<<20+12345)
	srv.PutBytes("/f", data)
	r := fetch(t, "", withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data), testConfig(), 8)
	if r.err != nil {
		t.Fatalf("download failed: %v", r.err)
	}
	if sha(r.data) != sha(data) {
		t.Fatalf("bytes on disk differ (len %d, want %d)", len(r.data), len(data))
	}
	if p := srv.Stats().PeakInFlight; p < 2 {
		t.Errorf("peak in flight = %d; want the file split over several connections", p)
	}
	t.Logf("requests %d peak %d", srv.Stats().Requests, srv.Stats().PeakInFlight)
}

// TestConnectionsAreReused downloads small files one after another: a body
// read to its exact length must give its connection back for the next.
func TestConnectionsAreReused(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
	cfg := testConfig()
	for i := range 20 {
		data := segdltest.Content(uint64(i), 4096)
		srv.PutBytes("/f", data)
		r := fetch(t, "", withSum(Spec{URLs: []string{srv.URLOf("/f")}}, data), cfg, 1)
		if r.err != nil || sha(r.data) != sha(data) {
			t.Fatalf("download %d: %v", i, r.err)
		}
	}
	if n := srv.Stats().Connections; n != 1 {
		t.Errorf("20 small downloads used %d connections; want 1", n)
	}
}

func TestConditionalFirstRequest(t *testing.T) {
	cases := []struct {
		name         string
		spec         func(f *segdltest.File) Spec
		wantModified bool
	}{
		{"a matching ETag gets 304", func(f *segdltest.File) Spec { return Spec{IfNoneMatch: f.ETag} }, false},
		{"another ETag downloads", func(f *segdltest.File) Spec { return Spec{IfNoneMatch: `"old"`} }, true},
		{"an unchanged date gets 304", func(f *segdltest.File) Spec {
			return Spec{IfModifiedSince: f.LastModified.UTC().Format(http.TimeFormat)}
		}, false},
		{"an older date downloads", func(f *segdltest.File) Spec {
			return Spec{IfModifiedSince: f.LastModified.Add(-time.Hour).UTC().Format(http.TimeFormat)}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			data := segdltest.Content(9, 200<<10)
			f := srv.PutBytes("/f", data)
			dir := t.TempDir()
			old := []byte("the version on disk")
			os.WriteFile(filepath.Join(dir, "out.bin"), old, 0o644)
			spec := c.spec(f)
			spec.URLs = []string{srv.URLOf("/f")}
			r := fetch(t, dir, spec, testConfig(), 4)
			if r.err != nil {
				t.Fatalf("download: %v", r.err)
			}
			if got := r.d.NotModified(); got == c.wantModified {
				t.Errorf("NotModified() = %v; want %v", got, !c.wantModified)
			}
			want := old
			if c.wantModified {
				want = data
			}
			if sha(r.data) != sha(want) {
				t.Errorf("file at the path is not the expected version")
			}
			if !c.wantModified && srv.Stats().Requests != 1 {
				t.Errorf("%d requests for a 304; want 1", srv.Stats().Requests)
			}
			if c.wantModified {
				if etag, _ := r.d.Validator(); etag != f.ETag {
					t.Errorf("Validator() ETag = %q; want %q", etag, f.ETag)
				}
			}
			assertNoLitter(t, dir)
		})
	}
}
