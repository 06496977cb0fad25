package segdl_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/bulkdl/bulkdl/segdl"
)

// A Download is driven by whoever holds the connection budget: it hands
// out Tasks through Claim, one per connection, and notify says when there
// may be more to claim. Here one connection at a time, until Done.
func ExampleNew() {
	body := strings.Repeat("0123456789", 10000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f", time.Time{}, strings.NewReader(body))
	}))
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "segdl-example")
	defer os.RemoveAll(dir)
	root, _ := os.OpenRoot(dir)
	defer root.Close()

	sum := sha256.Sum256([]byte(body))
	spec := segdl.Spec{URLs: []string{srv.URL + "/f"}, Path: "data/f.txt", Size: -1, Hash: sha256.New, Sum: sum[:]}
	wake := make(chan struct{}, 1)
	d := segdl.New(root, spec, &segdl.Config{Client: segdl.NewClient(http.DefaultTransport)}, func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	for {
		if t := d.Claim(); t != nil {
			t.Run(context.Background())
			continue
		}
		select {
		case <-d.Done():
		case <-wake:
			continue
		}
		break
	}
	data, _ := os.ReadFile(dir + "/data/f.txt")
	fmt.Println(d.Err(), len(data), d.Progress().Requests)
	// Output:
	// <nil> 100000 1
}

func ExampleParseContentRange() {
	for _, v := range []string{"bytes 0-99/1000", "bytes 100-199/*", "bytes */1000"} {
		first, last, total, err := segdl.ParseContentRange(v)
		fmt.Println(first, last, total, err != nil)
	}
	// Output:
	// 0 99 1000 false
	// 100 199 -1 false
	// 0 0 0 true
}
