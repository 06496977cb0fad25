package robustio

import (
	"errors"
	"testing"
	"time"
)

var errBusy = errors.New("busy")

// TestRetry: a busy error is retried until it clears or about total
// has been waited; any other error and success end at once.
func TestRetry(t *testing.T) {
	errOther := errors.New("other")
	cases := []struct {
		name      string
		errs      []error // what op returns, in turn; then nil
		wantCalls int
		wantErr   error
		maxWait   time.Duration
	}{
		{"success needs no retry", nil, 1, nil, 0},
		{"a busy file is retried until it is free", []error{errBusy, errBusy, errBusy}, 4, nil, 7 * time.Millisecond},
		{"another error is not retried", []error{errOther}, 1, errOther, 0},
		{"a file busy for good fails after the timeout", repeat(errBusy, 1000), 13, errBusy, 2 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			op := func() error {
				calls++
				if calls <= len(c.errs) {
					return c.errs[calls-1]
				}
				return nil
			}
			var waited time.Duration
			sleep := func(d time.Duration) {
				if d <= 0 {
					t.Fatalf("sleep(%v)", d)
				}
				waited += d
			}
			err := retry(op, func(err error) bool { return errors.Is(err, errBusy) }, 2*time.Second, sleep)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v; want %v", err, c.wantErr)
			}
			if calls != c.wantCalls {
				t.Errorf("op ran %d times; want %d", calls, c.wantCalls)
			}
			if waited != c.maxWait {
				t.Errorf("waited %v; want %v", waited, c.maxWait)
			}
		})
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}
