package segdl

import (
	"context"
	"io/fs"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bulkdl/bulkdl/segdl/segdltest"
)

// A scheduler holds its own lock while it asks every running download
// Claim and Want. Disk work under Download.mu would make one slow
// directory stall the whole run. Each case blocks one file operation and
// checks that, meanwhile, the download still answers at once.
func TestDiskWorkNeverBlocksClaimOrWant(t *testing.T) {
	const size = 1 << 20
	cases := []struct {
		name  string
		fault func(*http.Request, int64) segdltest.Fault
		block func(o *fileOps, hold func())
	}{
		{"opening the temporary file", nil, func(o *fileOps, hold func()) {
			open := o.open
			o.open = func(root *os.Root, name string, flag int, perm fs.FileMode) (*os.File, error) {
				hold()
				return open(root, name, flag, perm)
			}
		}},
		{"preallocating it", nil, func(o *fileOps, hold func()) {
			allocate := o.allocate
			o.allocate = func(f *os.File, n int64) error { hold(); return allocate(f, n) }
		}},
		{"emptying it for a restart", ranged(segdltest.Fault{Kind: segdltest.IgnoreRange}), func(o *fileOps, hold func()) {
			truncate := o.truncate
			o.truncate = func(f *os.File, n int64) error { hold(); return truncate(f, n) }
		}},
		{"closing it after a failure", always(segdltest.Fault{Kind: segdltest.Status, Code: 404}), func(o *fileOps, hold func()) {
			closeFile := o.close
			o.close = func(f *os.File) error { hold(); return closeFile(f) }
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := segdltest.NewServer()
			defer srv.Close()
			data := segdltest.Content(3, size)
			srv.PutBytes("/f", data)
			srv.Fault = c.fault
			srv.RatePerConn.Store(1 << 20) // slow enough to be split
			entered := make(chan struct{})
			release := make(chan struct{})
			var once sync.Once
			ops := withOSDefaults(&fileOps{})
			c.block(ops, func() {
				first := false
				once.Do(func() { first = true })
				if first {
					close(entered)
					<-release
				}
			})
			root, err := os.OpenRoot(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			cfg := testConfig()
			wake := make(chan struct{}, 1)
			d := New(root, Spec{URLs: []string{srv.URLOf("/f")}, Path: "f", Size: -1}, cfg, func() { poke(wake) })
			d.ops = ops
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			driven := make(chan struct{})
			go func() {
				defer close(driven)
				drive(ctx, d, wake, 4)
			}()
			select {
			case <-entered:
			case <-driven:
				t.Fatal("the download ended without the operation")
			case <-ctx.Done():
				t.Fatal("the operation was never reached")
			}
			answered := make(chan struct{})
			go func() {
				d.Want()
				if task := d.Claim(); task != nil {
					// Hand it back as a scheduler would: run it.
					go task.Run(ctx)
				}
				d.Progress()
				d.Err()
				close(answered)
			}()
			select {
			case <-answered:
			case <-time.After(5 * time.Second):
				t.Errorf("Claim/Want/Progress waited for the disk")
			}
			close(release)
			<-driven
		})
	}
}
