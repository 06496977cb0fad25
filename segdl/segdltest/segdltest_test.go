package segdltest

import (
	"io"
	"net/http"
	"testing"
)

// A test reads what the server received from its log; a server that
// outlives tests (NoLog) keeps none, and counts requests all the same.
func TestRequestLog(t *testing.T) {
	for _, noLog := range []bool{false, true} {
		s := NewUnstartedServer()
		s.NoLog = noLog
		s.Start()
		s.PutBytes("/f", []byte("data"))
		for _, path := range []string{"/f", "/missing"} {
			resp, err := http.Get(s.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		s.Close()
		log := s.Requests()
		if got := s.Stats().Requests; got != 2 {
			t.Errorf("NoLog %v: Stats().Requests = %d, want 2", noLog, got)
		}
		switch {
		case noLog && len(log) != 0:
			t.Errorf("NoLog: the log has %d requests, want none", len(log))
		case !noLog && (len(log) != 2 || log[0].Path != "/f" || log[1].Path != "/missing" || log[0].Header.Get("User-Agent") == ""):
			t.Errorf("the log is %+v, want GET /f then GET /missing with their headers", log)
		}
	}
}
