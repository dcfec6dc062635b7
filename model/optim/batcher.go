package optim

import "math/rand/v2"

// Batcher yields fixed-size batches of indices into a list of items, from
// successive shuffled passes; a batch may straddle two passes, so every
// batch is full and every item is seen once per pass.
type Batcher struct {
	items []int
	size  int
	rng   *rand.Rand
	perm  []int
	pos   int
	out   []int
}

// NewBatcher returns batches of size indices drawn from items (copied),
// shuffled with rng. items must not be empty.
func NewBatcher(items []int, size int, rng *rand.Rand) *Batcher {
	return &Batcher{items: append([]int(nil), items...), size: size, rng: rng, out: make([]int, size)}
}

// Range returns the items 0..n-1.
func Range(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// Next returns the next batch; the slice is reused by the following call.
func (b *Batcher) Next() []int {
	return b.Fill(b.out)
}

// Fill writes the next len(dst) indices into dst and returns it.
func (b *Batcher) Fill(dst []int) []int {
	for k := range dst {
		if b.perm == nil || b.pos == len(b.perm) {
			b.perm = b.rng.Perm(len(b.items))
			b.pos = 0
		}
		dst[k] = b.items[b.perm[b.pos]]
		b.pos++
	}
	return dst
}
