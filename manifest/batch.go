package manifest

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// batchDecoder decodes the batches of a manifest ahead of their
// validation, on up to maxDecoders goroutines (GOMAXPROCS if fewer). Decoding is a pure function
// of a batch's text, and the batches are handed out in document order, so
// errors, and which one comes first, are as if every batch were decoded
// just before it is validated. At most aheadPerWorker batches per
// goroutine are held decoded before they are asked for, so that memory
// stays that of a few batches, not of the manifest.
type batchDecoder struct {
	batches   []fileBatch
	reference bool                // decode with the TOML decoder alone, in get (tests)
	results   []chan decodedBatch // each written once, by the goroutine that took the batch
	ahead     chan struct{}       // a token per batch taken and not yet asked for
	stop      chan struct{}
	next      atomic.Int64 // the next batch to take
	wg        sync.WaitGroup
}

// decodedBatch is what decoding one batch gave.
type decodedBatch struct {
	top      map[string]any
	err      error
	panicked any // what decoding panicked with, for get to panic with again
}

const aheadPerWorker = 2

// maxDecoders bounds the goroutines decoding ahead, and so the batches
// held decoded (maxDecoders*aheadPerWorker, a few MB each at batchSize).
// Validation takes the batches on one goroutine; a few decoders keep up
// with it, and more would hold more memory on a machine with many cores
// without going faster.
const maxDecoders = 4

// decodeBatchFn is decodeBatch; tests replace it to make decoding panic.
var decodeBatchFn = decodeBatch

// decodeAhead starts decoding batches. The caller asks for every batch in
// order with get, or for fewer, and must call close, which returns once
// every goroutine has. reference decodes every batch with the TOML
// decoder, one after another, in get: loading as before the fast path,
// which tests compare with.
func decodeAhead(batches []fileBatch, reference bool) *batchDecoder {
	d := &batchDecoder{batches: batches, reference: reference}
	workers := min(runtime.GOMAXPROCS(0), maxDecoders, len(batches))
	if workers <= 1 || reference {
		return d
	}
	d.results = make([]chan decodedBatch, len(batches))
	for i := range d.results {
		d.results[i] = make(chan decodedBatch, 1)
	}
	d.ahead = make(chan struct{}, workers*aheadPerWorker)
	d.stop = make(chan struct{})
	for range workers {
		d.wg.Go(d.work)
	}
	return d
}

// work decodes batches until there are none left or close is called.
func (d *batchDecoder) work() {
	for {
		// Batches are taken in order, so the batch get waits for has been
		// taken, or ahead has room for it.
		select {
		case d.ahead <- struct{}{}:
		case <-d.stop:
			return
		}
		select {
		case <-d.stop:
			return
		default:
		}
		i := int(d.next.Add(1) - 1)
		if i >= len(d.batches) {
			return
		}
		d.results[i] <- decodeCarrying(d.batches[i].text)
	}
}

// decodeCarrying decodes a batch on a worker, where a panic would end
// the process whatever the caller recovers: it is carried to get instead.
func decodeCarrying(text []byte) (r decodedBatch) {
	defer func() {
		if p := recover(); p != nil {
			r = decodedBatch{panicked: p}
		}
	}()
	r.top, r.err = decodeBatchFn(text, false)
	return r
}

// get returns the decoding of the i-th batch; i counts up from 0. If
// decoding it panicked, get panics with the same value, on the caller's
// goroutine.
func (d *batchDecoder) get(i int) (map[string]any, error) {
	if d.results == nil {
		return decodeBatchFn(d.batches[i].text, d.reference)
	}
	r := <-d.results[i]
	d.results[i] = nil
	<-d.ahead
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.top, r.err
}

// close stops the decoding and waits for its goroutines to return.
func (d *batchDecoder) close() {
	if d.stop != nil {
		close(d.stop)
		d.wg.Wait()
	}
}

// goJoin runs f on a goroutine of its own and returns the wait for it,
// which panics, on the caller's goroutine, with what f panicked with: a
// panic on a goroutine of ours ends the process, whatever the caller of
// Parse recovers.
func goJoin(f func()) (wait func()) {
	done := make(chan struct{})
	var panicked any
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		f()
	}()
	return func() {
		<-done
		if panicked != nil {
			panic(panicked)
		}
	}
}
