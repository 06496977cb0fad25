package segdl

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
)

// A caller's own httptrace hooks run once per request, however many
// requests a task makes: the Task's reused trace must not collect them
// again on every retry.
func TestCallersTraceRunsOncePerRequest(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) <= 4 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("the file"))
	}))
	defer srv.Close()
	var got atomic.Int64
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { got.Add(1) },
	})
	root := openRoot(t, t.TempDir())
	wake := make(chan struct{}, 1)
	d := New(root, Spec{URLs: []string{srv.URL + "/f"}, Path: "out.bin", Size: -1}, testConfig(), func() { poke(wake) })
	drive(ctx, d, wake, 1)
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if n, want := got.Load(), served.Load(); n != want {
		t.Errorf("the caller's GotConn ran %d times for %d requests", n, want)
	}
}
