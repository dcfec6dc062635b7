package eval

import (
	"cmp"
	"math"
	"slices"
)

// orderKey maps a finite float64 to a uint64 with the same order, so that
// scores sort as integers; -0 and +0 map to the same key.
func orderKey(f float64) uint64 {
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

// radixMin is the size below which argsortKeys uses a comparison sort.
const radixMin = 256

// argsortKeys sorts keys ascending and permutes idx alongside, stably. Large
// inputs use a least-significant-digit radix sort with 11-bit digits,
// skipping the passes in which every key has the same digit (scores share
// their sign and exponent bits, so typically about half are skipped).
func argsortKeys(keys []uint64, idx []int32) {
	n := len(keys)
	if n < radixMin {
		type pair struct {
			k uint64
			i int32
		}
		ps := make([]pair, n)
		for j := range ps {
			ps[j] = pair{keys[j], idx[j]}
		}
		slices.SortStableFunc(ps, func(a, b pair) int { return cmp.Compare(a.k, b.k) })
		for j, p := range ps {
			keys[j], idx[j] = p.k, p.i
		}
		return
	}
	const bits, passes = 11, 6
	const mask = 1<<bits - 1
	hist := make([][1 << bits]int, passes)
	for _, k := range keys {
		for p := range passes {
			hist[p][(k>>(p*bits))&mask]++
		}
	}
	src, srcIdx := keys, idx
	dst, dstIdx := make([]uint64, n), make([]int32, n)
	for p := range passes {
		h := &hist[p]
		shift := uint(p * bits)
		if h[(src[0]>>shift)&mask] == n {
			continue
		}
		sum := 0
		for b, c := range h {
			h[b] = sum
			sum += c
		}
		for j, k := range src {
			d := (k >> shift) & mask
			dst[h[d]], dstIdx[h[d]] = k, srcIdx[j]
			h[d]++
		}
		src, dst, srcIdx, dstIdx = dst, src, dstIdx, srcIdx
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
		copy(idx, srcIdx)
	}
}
