// Package robustio renames files in a way that survives Windows' habit of
// refusing, for a moment, to replace a file that another program holds
// open (a virus scanner, the search indexer, a viewer). Elsewhere it is a
// plain rename. It follows cmd/go/internal/robustio.
package robustio

import (
	"fmt"
	"os"
	"time"
)

// Rename moves from to to under root. On Windows it retries for about 2 s
// while another program holds either file open without sharing deletion,
// then fails saying so; from and to are left as they were.
func Rename(root *os.Root, from, to string) error {
	return rename(root, from, to)
}

// retry runs op until it succeeds, fails with an error that busy does not
// accept, or has waited about total, sleeping 1 ms, 2 ms, 4 ms … (at most
// 500 ms) in between. sleep is time.Sleep but for tests. The error after
// the last attempt says what to do.
func retry(op func() error, busy func(error) bool, total time.Duration, sleep func(time.Duration)) error {
	var waited time.Duration
	delay := time.Millisecond
	for {
		err := op()
		if err == nil || !busy(err) {
			return err
		}
		if waited >= total {
			return fmt.Errorf("%w (another program kept the file open for %v, such as a virus scanner, the search indexer or a viewer: close it and run again)", err, waited)
		}
		d := min(delay, total-waited, 500*time.Millisecond)
		sleep(d)
		waited += d
		delay *= 2
	}
}
