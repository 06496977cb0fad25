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
