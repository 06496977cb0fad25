package manifest

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// decodedBatch is what decoding one batch gave.
type decodedBatch struct {
	top map[string]any
	err error
}

// forEachDecoded decodes the batches and calls fn with each one's result
// in their order, until fn returns false. Decoding is a pure function of
// a batch's text, so it runs ahead on up to GOMAXPROCS goroutines while fn
// validates in order: errors, and which one comes first, are as if every
// batch were decoded just before fn sees it. At most aheadPerWorker
// batches per goroutine are held decoded before fn has seen them, so
// memory stays that of a few batches, not of the manifest. Every
// goroutine has returned when forEachDecoded does. decoderOnly decodes
// every batch with the TOML decoder, one after another (for tests).
func forEachDecoded(batches []fileBatch, decoderOnly bool, fn func(b fileBatch, top map[string]any, err error) bool) {
	workers := min(runtime.GOMAXPROCS(0), len(batches))
	if workers <= 1 || decoderOnly {
		for _, b := range batches {
			top, err := decodeBatch(b.text, decoderOnly)
			if !fn(b, top, err) {
				return
			}
		}
		return
	}
	const aheadPerWorker = 2
	var (
		results = make([]chan decodedBatch, len(batches)) // each written once, by the goroutine that took the batch
		ahead   = make(chan struct{}, workers*aheadPerWorker)
		stop    = make(chan struct{})
		next    atomic.Int64 // the next batch to take
		wg      sync.WaitGroup
	)
	for i := range results {
		results[i] = make(chan decodedBatch, 1)
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for range workers {
		wg.Go(func() {
			for {
				// A token of ahead for every batch taken, returned when fn
				// has seen it: batches are taken in order, so the batch fn
				// waits for has been taken, or ahead has room for it.
				select {
				case ahead <- struct{}{}:
				case <-stop:
					return
				}
				select {
				case <-stop:
					return
				default:
				}
				i := int(next.Add(1) - 1)
				if i >= len(batches) {
					return
				}
				top, err := decodeBatch(batches[i].text, false)
				results[i] <- decodedBatch{top, err}
			}
		})
	}
	for i, b := range batches {
		r := <-results[i]
		results[i] = nil
		<-ahead
		if !fn(b, r.top, r.err) {
			return
		}
	}
}
