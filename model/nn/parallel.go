package nn

import (
	"sync"
	"sync/atomic"
)

// workers is the number of goroutines a kernel splits its work across. It is
// set by Configure and read on every kernel call.
var workers atomic.Int32

func init() {
	workers.Store(int32(DefaultConfig().Threads))
	setBLASThreads(1)
}

// numWorkers returns the configured worker count, at least 1.
func numWorkers() int {
	if w := int(workers.Load()); w > 1 {
		return w
	}
	return 1
}

// parallelFor splits [0, n) into at most numWorkers() contiguous chunks and
// runs body(lo, hi, worker) for each, on the calling goroutine when one chunk
// suffices. minChunk is the smallest chunk worth a goroutine of its own.
func parallelFor(n, minChunk int, body func(lo, hi, worker int)) {
	if n <= 0 {
		return
	}
	w := numWorkers()
	if minChunk < 1 {
		minChunk = 1
	}
	if m := n / minChunk; m < w {
		w = m
	}
	if w <= 1 {
		body(0, n, 0)
		return
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Add(1)
		go func(lo, hi, i int) {
			defer wg.Done()
			body(lo, hi, i)
		}(lo, hi, i)
	}
	body(0, n/w, 0)
	wg.Wait()
}

// parallelDynamic runs body over [0, n) like parallelFor, but its workers
// take chunks of chunk items from a shared counter until none are left, so
// a worker slowed by a busy core does not hold the others up. The split
// varies from run to run, so it is only for kernels whose results do not
// depend on it (no cross-item reductions): reductions use parallelFor,
// whose fixed split keeps results bit-identical between runs.
func parallelDynamic(n, chunk int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunk = max(chunk, 1)
	w := min(numWorkers(), (n+chunk-1)/chunk)
	if w <= 1 {
		body(0, n)
		return
	}
	var next atomic.Int64
	run := func() {
		for {
			lo := int(next.Add(int64(chunk))) - chunk
			if lo >= n {
				return
			}
			body(lo, min(lo+chunk, n))
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	run()
	wg.Wait()
}

// scratch pools hold reusable work buffers (im2col columns, partial
// gradients) so that steady-state training allocates none.
var (
	scratch32 sync.Pool
	scratch64 sync.Pool
)

// getScratch returns a buffer of length n from the pool. Its contents are
// undefined; callers overwrite or clear it.
func getScratch[T Float](n int) []T {
	var zero T
	switch any(zero).(type) {
	case float32:
		if p, ok := scratch32.Get().(*[]float32); ok && cap(*p) >= n {
			return any((*p)[:n]).([]T)
		}
	case float64:
		if p, ok := scratch64.Get().(*[]float64); ok && cap(*p) >= n {
			return any((*p)[:n]).([]T)
		}
	}
	return make([]T, n)
}

// putScratch returns a buffer obtained from getScratch to the pool.
func putScratch[T Float](b []T) {
	switch v := any(b).(type) {
	case []float32:
		scratch32.Put(&v)
	case []float64:
		scratch64.Put(&v)
	}
}

// maxSlots bounds the partial sums slotSum keeps.
const maxSlots = 16

// slotSum computes out = sum over items [0, n) of per-item contributions
// deterministically under dynamic scheduling. The items are cut into at
// most maxSlots fixed, contiguous slots; workers take whole slots from a
// shared counter, and body accumulates slot s's items [lo, hi) in order
// into acc (len(out) elements, zeroed). The slot sums are then added in slot
// order, element ranges split across workers. The result is therefore the
// same on every run, whichever worker ran which slot.
func slotSum[T Float](n int, out []T, body func(lo, hi int, acc []T)) {
	size := len(out)
	if n <= 1 {
		clear(out)
		if n == 1 {
			body(0, 1, out)
		}
		return
	}
	slots := min(n, maxSlots)
	buf := getScratch[T](slots * size)
	defer putScratch(buf)
	parallelDynamic(slots, 1, func(s0, s1 int) {
		for s := s0; s < s1; s++ {
			acc := buf[s*size : (s+1)*size]
			clear(acc)
			body(s*n/slots, (s+1)*n/slots, acc)
		}
	})
	parallelDynamic(size, elemChunk/slots+1, func(lo, hi int) {
		dst := out[lo:hi]
		copy(dst, buf[lo:hi])
		for s := 1; s < slots; s++ {
			src := buf[s*size+lo : s*size+hi]
			for i, v := range src {
				dst[i] += v
			}
		}
	})
}
