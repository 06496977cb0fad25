package job

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// eachParallel calls fn for every index, on one goroutine per CPU (hashing
// is CPU-bound), and returns when all calls returned or, once ctx is done,
// when the calls under way returned. fn is given ctx and should stop early
// when it is done.
func eachParallel(ctx context.Context, idx []int, fn func(i int)) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(runtime.NumCPU(), len(idx)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				k := int(next.Add(1)) - 1
				if k >= len(idx) {
					return
				}
				fn(idx[k])
			}
		}()
	}
	wg.Wait()
}
