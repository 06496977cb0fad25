package segdl

import (
	"testing"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

func TestDownloadSegmented(t *testing.T) {
	srv := segdltest.NewServer()
	defer srv.Close()
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
