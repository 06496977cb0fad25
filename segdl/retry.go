package segdl

import (
	"fmt"
	"time"
)

// retryBusy runs op until it succeeds, fails with an error that busy does
// not accept, or has waited about total, sleeping 1 ms, 2 ms, 4 ms … (at
// most 500 ms) in between. sleep is time.Sleep but for tests. The error
// after the last attempt says what to do.
func retryBusy(op func() error, busy func(error) bool, total time.Duration, sleep func(time.Duration)) error {
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
